// PNG decoding and encoding through libpng. libpng reports errors by longjmp; the
// functions that own a setjmp point (png_read_run, png_write_run) hold only plain C
// data, so the jump never skips a C++ destructor. Their callers turn the recorded
// message into an sr::Error naming the file.
#include <png.h>

#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "data/image_io.h"
#include "data/raw_pixels.h"
#include "engine/error.h"

namespace sr::data {
namespace {

// ---- Plain-C state shared with libpng's callbacks -----------------------------------------

struct PngState {
  const unsigned char* data;  // reading: the whole file
  size_t size;
  size_t pos;
  unsigned char* out;  // writing: malloc'd, grown by the write callback
  size_t out_size;
  size_t out_cap;
  char message[256];
};

void on_png_error(png_structp png, png_const_charp msg) {
  PngState* st = (PngState*)png_get_error_ptr(png);
  std::snprintf(st->message, sizeof st->message, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}  // ancillary-chunk complaints are not fatal

void on_png_read(png_structp png, png_bytep dst, size_t n) {
  PngState* st = (PngState*)png_get_io_ptr(png);
  if (n > st->size - st->pos) png_error(png, "file is truncated (unexpected end of data)");
  std::memcpy(dst, st->data + st->pos, n);
  st->pos += n;
}

void on_png_write(png_structp png, png_bytep src, size_t n) {
  PngState* st = (PngState*)png_get_io_ptr(png);
  if (st->out_size + n > st->out_cap) {
    size_t cap = st->out_cap ? st->out_cap : 65536;
    while (cap < st->out_size + n) cap *= 2;
    unsigned char* grown = (unsigned char*)std::realloc(st->out, cap);
    if (!grown) png_error(png, "out of memory while encoding");
    st->out = grown;
    st->out_cap = cap;
  }
  std::memcpy(st->out + st->out_size, src, n);
  st->out_size += n;
}

void on_png_flush(png_structp) {}

struct PngRaw {
  unsigned width, height;
  int channels, bit_depth;  // after expansion: 1..4 channels, 8 or 16 bits
  size_t rowbytes;
  unsigned rows;            // rows decoded (all, or the first row_limit of a non-interlaced file)
  unsigned char* pixels;    // malloc'd rowbytes * rows, or null for a header probe
};

enum PngStatus { kPngOk = 0, kPngError = 1, kPngTooLarge = 2 };

// Decodes (or, with header_only, only inspects) the PNG in st; row_limit > 0 stops a
// non-interlaced file after that many rows. Returns a PngStatus; on kPngError
// st->message says why. Plain C data only: see the file comment.
int png_read_run(PngState* st, long long max_pixels, int header_only, unsigned row_limit, PngRaw* out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, on_png_error, on_png_warning);
  if (!png) {
    std::snprintf(st->message, sizeof st->message, "libpng could not allocate a reader");
    return kPngError;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(st->message, sizeof st->message, "libpng could not allocate a reader");
    return kPngError;
  }
  unsigned char* volatile pixels = nullptr;
  png_bytep* volatile rows = nullptr;
  if (setjmp(png_jmpbuf(png))) {
    std::free(pixels);
    std::free(rows);
    png_destroy_read_struct(&png, &info, nullptr);
    return kPngError;
  }
  png_set_read_fn(png, st, on_png_read);
  // Our own pixel limit below replaces libpng's fixed 1e6 x 1e6 one.
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);

  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  const int color_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  const int trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  // What the transforms below make of it, from IHDR alone: png_read_update_info allocates
  // (and zeroes) two row buffers of the full width, 1.5 GB for a 69-byte file that claims
  // 500000000x1, so neither a header probe nor a refused image may reach it.
  out->channels = color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                  : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4
                  : color_type == PNG_COLOR_TYPE_GRAY      ? 1 + trns
                                                           : 3 + trns;  // RGB, palette
  out->bit_depth = depth == 16 ? 16 : 8;
  out->pixels = nullptr;
  const long long count = (long long)out->width * (long long)out->height;
  if (header_only || count > max_pixels) {
    png_destroy_read_struct(&png, &info, nullptr);
    return count > max_pixels && !header_only ? kPngTooLarge : kPngOk;
  }
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (trns) png_set_tRNS_to_alpha(png);
  const int interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->channels = png_get_channels(png, info);
  out->bit_depth = png_get_bit_depth(png, info);
  out->rowbytes = png_get_rowbytes(png, info);

  // Adam7 spreads every row over seven passes: an interlaced file is read whole.
  out->rows = interlaced || row_limit == 0 || row_limit > out->height ? out->height : row_limit;
  pixels = (unsigned char*)std::malloc(out->rowbytes * out->rows);
  rows = (png_bytep*)std::malloc(sizeof(png_bytep) * out->rows);
  if (!pixels || !rows) png_error(png, "out of memory for the pixels");
  for (unsigned y = 0; y < out->rows; ++y) rows[y] = pixels + (size_t)y * out->rowbytes;
  if (out->rows == out->height) {
    png_read_image(png, rows);
    png_read_end(png, nullptr);  // also checks the trailing chunks and the final CRCs
  } else {
    for (unsigned y = 0; y < out->rows; ++y) png_read_row(png, rows[y], nullptr);
  }
  png_destroy_read_struct(&png, &info, nullptr);
  std::free(rows);
  out->pixels = pixels;
  return kPngOk;
}

// Encodes rows already packed as PNG expects (big-endian 16-bit samples). The output
// is st->out (malloc'd, st->out_size bytes). Plain C data only.
int png_write_run(PngState* st, const unsigned char* packed, unsigned width, unsigned height,
                  int color_type, int bit_depth, size_t rowbytes, int level) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st, on_png_error, on_png_warning);
  if (!png) {
    std::snprintf(st->message, sizeof st->message, "libpng could not allocate a writer");
    return kPngError;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(st->message, sizeof st->message, "libpng could not allocate a writer");
    return kPngError;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return kPngError;
  }
  png_set_write_fn(png, st, on_png_write, on_png_flush);
  png_set_compression_level(png, level);
  png_set_IHDR(png, info, width, height, bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (unsigned y = 0; y < height; ++y) png_write_row(png, (png_const_bytep)(packed + (size_t)y * rowbytes));
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return kPngOk;
}

std::string too_large_message(const std::string& name, unsigned w, unsigned h, int64_t limit) {
  return str_cat(name, ": image is ", w, "x", h, " = ", (long long)w * h,
                 " pixels, over the limit of ", limit,
                 " (refused before decoding; a decompression bomb or a huge file: raise max_pixels"
                 " if it is genuine)");
}

}  // namespace

Image decode_png(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  unsigned row_limit = 0;
  if (!opt.region.empty()) {
    const ImageInfo info = probe_png(data, size, name);
    check_region(opt.region, info.width, info.height, name);
    row_limit = (unsigned)(opt.region.top + opt.region.height);
  }
  PngState st{data, size, 0, nullptr, 0, 0, {0}};
  PngRaw raw{};
  const int status = png_read_run(&st, opt.max_pixels, 0, row_limit, &raw);
  if (status == kPngTooLarge) fail(too_large_message(name, raw.width, raw.height, opt.max_pixels));
  if (status != kPngOk) fail(name, ": cannot decode PNG: ", st.message);
  try {
    Image img = raw_to_image(raw.pixels, raw.rowbytes, (int)raw.width, (int)raw.height, raw.channels, raw.bit_depth,
                             opt.region);
    std::free(raw.pixels);
    return img;
  } catch (...) {
    std::free(raw.pixels);
    throw;
  }
}

ImageInfo probe_png(const uint8_t* data, size_t size, const std::string& name) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  PngState st{data, size, 0, nullptr, 0, 0, {0}};
  PngRaw raw{};
  if (png_read_run(&st, 0, 1, 0, &raw) != kPngOk) fail(name, ": cannot read PNG header: ", st.message);
  ImageInfo info;
  info.format = ImageFormat::png;
  info.width = (int)raw.width;
  info.height = (int)raw.height;
  info.channels = raw.channels;
  info.bit_depth = raw.bit_depth == 16 ? 16 : 8;
  return info;
}

std::vector<uint8_t> encode_png(const Image& img, const std::string& name, int bit_depth, int compression) {
  const int depth = bit_depth > 0 ? bit_depth : img.bit_depth;
  SR_CHECK(depth == 8 || depth == 16, name, ": PNG bit depth must be 8 or 16, got ", depth);
  SR_CHECK(compression >= 0 && compression <= 9, name, ": PNG compression must be 0..9, got ", compression);
  SR_CHECK(img.width > 0 && img.height > 0 && img.channels >= 1 && img.channels <= 4 &&
               img.pixels.size() == (size_t)img.width * img.height * img.channels,
           name, ": cannot encode an invalid image (", img.width, "x", img.height, ", ", img.channels,
           " channels, ", img.pixels.size(), " samples)");
  static const int kColorType[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                    PNG_COLOR_TYPE_RGB_ALPHA};
  const size_t samples = img.pixels.size();
  const size_t bytes_per_sample = depth / 8;
  const size_t rowbytes = (size_t)img.width * img.channels * bytes_per_sample;
  std::vector<unsigned char> packed(samples * bytes_per_sample);
  for (size_t i = 0; i < samples; ++i) {
    const float v = img.pixels[i];
    if (!std::isfinite(v)) {
      const size_t px = i / img.channels;
      fail(name, ": cannot encode a non-finite sample (", v, ") at x=", px % img.width,
           " y=", px / img.width, " channel ", i % img.channels);
    }
    if (depth == 8) {
      packed[i] = quantize_u8(v);
    } else {
      const uint16_t q = quantize_u16(v);
      packed[2 * i] = (unsigned char)(q >> 8);
      packed[2 * i + 1] = (unsigned char)(q & 0xff);
    }
  }
  PngState st{nullptr, 0, 0, nullptr, 0, 0, {0}};
  const int status = png_write_run(&st, packed.data(), img.width, img.height, kColorType[img.channels],
                                   depth, rowbytes, compression);
  if (status != kPngOk) {
    std::free(st.out);
    fail(name, ": cannot encode PNG: ", st.message);
  }
  std::vector<uint8_t> bytes(st.out, st.out + st.out_size);
  std::free(st.out);
  return bytes;
}

}  // namespace sr::data
