// JPEG decoding and encoding through libjpeg-turbo. libjpeg reports errors (and, here,
// warnings: a truncated or corrupt stream only warns by default) through a callback
// that longjmps back to the function owning the jpeg struct; those functions hold only
// plain C data, so no C++ destructor is skipped. Callers throw sr::Error with the file.
#include <cmath>
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>  // after <cstdio>: it uses size_t and FILE without including them

#include "data/image_io.h"
#include "data/raw_pixels.h"
#include "engine/error.h"

namespace sr::data {
namespace {

// A progressive file may repeat scans almost without end; a real one has at most tens.
constexpr int kMaxScans = 1000;

struct JpegErr {
  jpeg_error_mgr mgr;  // first member: libjpeg hands back a jpeg_error_mgr*
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
};

void on_jpeg_error(j_common_ptr cinfo) {
  JpegErr* err = (JpegErr*)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (level -1) mean corrupt data: refuse the file. Trace messages are ignored.
void on_jpeg_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  JpegErr* err = (JpegErr*)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_jpeg_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  if (d->input_scan_number > kMaxScans) {
    JpegErr* err = (JpegErr*)cinfo->err;
    std::snprintf(err->message, sizeof err->message, "more than %d scans (a scan bomb?)", kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

struct JpegRaw {
  unsigned width, height;
  int channels;            // 1 or 3
  unsigned rows;           // rows decoded
  unsigned char* pixels;   // malloc'd width * rows * channels, or null for a probe
};

enum JpegStatus { kJpegOk = 0, kJpegError = 1, kJpegTooLarge = 2 };

// Decodes (or with header_only inspects) a JPEG; row_limit > 0 stops after that many
// rows. Plain C data only: see the file comment.
int jpeg_read_run(const unsigned char* data, size_t size, long long max_pixels, int header_only, unsigned row_limit,
                  JpegRaw* out, JpegErr* err) {
  jpeg_decompress_struct cinfo;
  jpeg_progress_mgr progress;
  unsigned char* volatile pixels = nullptr;
  unsigned char* volatile cmyk_row = nullptr;  // a CMYK image's row before conversion
  std::memset(&cinfo, 0, sizeof cinfo);  // so jpeg_destroy is safe whenever we jump
  cinfo.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = on_jpeg_error;
  err->mgr.emit_message = on_jpeg_message;
  if (setjmp(err->jump)) {
    std::free(pixels);
    std::free(cmyk_row);
    jpeg_destroy_decompress(&cinfo);
    return kJpegError;
  }
  jpeg_create_decompress(&cinfo);
  progress.progress_monitor = on_jpeg_progress;
  cinfo.progress = &progress;
  jpeg_mem_src(&cinfo, data, (unsigned long)size);
  jpeg_read_header(&cinfo, TRUE);
  out->width = cinfo.image_width;
  out->height = cinfo.image_height;
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
    cinfo.out_color_space = JCS_GRAYSCALE;
    out->channels = 1;
  } else if (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB) {
    cinfo.out_color_space = JCS_RGB;
    out->channels = 3;
  } else if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    cinfo.out_color_space = JCS_CMYK;  // libjpeg turns YCCK into CMYK; RGB is made below
    out->channels = 3;
  } else {
    std::snprintf(err->message, sizeof err->message, "unsupported JPEG colour space %d",
                  (int)cinfo.jpeg_color_space);
    jpeg_destroy_decompress(&cinfo);
    return kJpegError;
  }
  out->pixels = nullptr;
  const long long count = (long long)out->width * (long long)out->height;
  if (header_only || count > max_pixels) {
    jpeg_destroy_decompress(&cinfo);
    return count > max_pixels && !header_only ? kJpegTooLarge : kJpegOk;
  }
  jpeg_start_decompress(&cinfo);
  const size_t stride = (size_t)cinfo.output_width * cinfo.output_components;
  out->rows = row_limit == 0 || row_limit > cinfo.output_height ? cinfo.output_height : row_limit;
  pixels = (unsigned char*)std::malloc((size_t)cinfo.output_width * (size_t)out->channels * out->rows);
  if (!pixels) {
    std::snprintf(err->message, sizeof err->message, "out of memory for the pixels");
    std::longjmp(err->jump, 1);
  }
  const bool cmyk = cinfo.out_color_space == JCS_CMYK;
  if (cmyk) {
    cmyk_row = (unsigned char*)std::malloc(stride);
    if (!cmyk_row) {
      std::snprintf(err->message, sizeof err->message, "out of memory for a row");
      std::longjmp(err->jump, 1);
    }
  }
  const size_t out_stride = (size_t)cinfo.output_width * (size_t)out->channels;
  while (cinfo.output_scanline < out->rows) {
    unsigned char* dst = pixels + (size_t)cinfo.output_scanline * out_stride;
    JSAMPROW row = cmyk ? cmyk_row : dst;
    jpeg_read_scanlines(&cinfo, &row, 1);
    // CMYK as OpenCV (so Real-ESRGAN's cv2.imread) turns it into RGB, on the stored values
    // (Adobe's inverted CMYK, what Photoshop writes): R = K - (255 - C) K / 256, G from M,
    // B from Y, with the integer shift.
    for (unsigned x = 0; cmyk && x < cinfo.output_width; ++x) {
      const int k = cmyk_row[4 * x + 3];
      for (int c = 0; c < 3; ++c) dst[3 * x + c] = (unsigned char)(k - (((255 - cmyk_row[4 * x + c]) * k) >> 8));
    }
  }
  std::free(cmyk_row);
  cmyk_row = nullptr;
  if (out->rows == cinfo.output_height) jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  out->pixels = pixels;
  return kJpegOk;
}

// Encodes 8-bit interleaved gray or RGB rows; the result is malloc'd by libjpeg.
int jpeg_write_run(const unsigned char* pixels, unsigned width, unsigned height, int channels,
                   int quality, unsigned char** out, unsigned long* out_size, JpegErr* err) {
  jpeg_compress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err->mgr);
  err->mgr.error_exit = on_jpeg_error;
  err->mgr.emit_message = on_jpeg_message;
  if (setjmp(err->jump)) {
    jpeg_destroy_compress(&cinfo);
    return kJpegError;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, out, out_size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const size_t stride = (size_t)width * channels;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return kJpegOk;
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  unsigned row_limit = 0;
  if (!opt.region.empty()) {
    const ImageInfo info = probe_jpeg(data, size, name);
    check_region(opt.region, info.width, info.height, name);
    row_limit = (unsigned)(opt.region.top + opt.region.height);
  }
  JpegErr err{};
  JpegRaw raw{};
  const int status = jpeg_read_run(data, size, opt.max_pixels, 0, row_limit, &raw, &err);
  if (status == kJpegTooLarge)
    fail(name, ": image is ", raw.width, "x", raw.height, " = ", (long long)raw.width * raw.height,
         " pixels, over the limit of ", opt.max_pixels,
         " (refused before decoding; a decompression bomb or a huge file: raise max_pixels if it is genuine)");
  if (status != kJpegOk) fail(name, ": cannot decode JPEG: ", err.message);
  try {
    Image img = raw_to_image(raw.pixels, (size_t)raw.width * raw.channels, (int)raw.width, (int)raw.height,
                             raw.channels, 8, opt.region);
    std::free(raw.pixels);
    return img;
  } catch (...) {
    std::free(raw.pixels);
    throw;
  }
}

ImageInfo probe_jpeg(const uint8_t* data, size_t size, const std::string& name) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  JpegErr err{};
  JpegRaw raw{};
  if (jpeg_read_run(data, size, 0, 1, 0, &raw, &err) != kJpegOk)
    fail(name, ": cannot read JPEG header: ", err.message);
  ImageInfo info;
  info.format = ImageFormat::jpeg;
  info.width = (int)raw.width;
  info.height = (int)raw.height;
  info.channels = raw.channels;
  info.bit_depth = 8;
  return info;
}

std::vector<uint8_t> encode_jpeg(const Image& img, const std::string& name, int quality) {
  SR_CHECK(quality >= 1 && quality <= 100, name, ": JPEG quality must be 1..100, got ", quality);
  SR_CHECK(!img.has_alpha(), name, ": JPEG cannot store alpha (image has ", img.channels,
           " channels); write PNG or drop the alpha channel");
  SR_CHECK(img.width > 0 && img.height > 0 && img.pixels.size() == (size_t)img.width * img.height * img.channels,
           name, ": cannot encode an invalid image (", img.width, "x", img.height, ")");
  std::vector<unsigned char> packed(img.pixels.size());
  for (size_t i = 0; i < packed.size(); ++i) {
    const float v = img.pixels[i];
    SR_CHECK(std::isfinite(v), name, ": cannot encode a non-finite sample (", v, ") at index ", i);
    packed[i] = quantize_u8(v);
  }
  JpegErr err{};
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  const int status = jpeg_write_run(packed.data(), img.width, img.height, img.channels, quality, &out,
                                    &out_size, &err);
  if (status != kJpegOk) {
    std::free(out);
    fail(name, ": cannot encode JPEG: ", err.message);
  }
  std::vector<uint8_t> bytes(out, out + out_size);
  std::free(out);
  return bytes;
}

}  // namespace sr::data
