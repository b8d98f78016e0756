// Row-by-row PNG (libpng), JPEG (libjpeg-turbo), TIFF (libtiff) and BMP encoding into a
// temporary file (see image_row_writer.h); WebP, whose encoder takes whole images, keeps the
// quantised 8-bit rows and encodes them at finish(). libpng and libjpeg report errors by
// longjmp; every function below that calls them owns its own setjmp point and holds only
// plain C data, so a jump never skips a C++ destructor. The C++ methods turn the recorded
// message into an sr::Error.
#include <png.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <jpeglib.h>  // after <cstdio>: it uses size_t and FILE without including them

#include "data/codec_internal.h"
#include "data/image_row_writer.h"
#include "engine/atomic_file.h"
#include "engine/error.h"

namespace sr::data {

struct ImageRowWriter::Backend {
  enum class Kind { png, jpeg, webp, tiff, bmp } kind = Kind::png;
  bool jpeg = false;
  std::FILE* file = nullptr;
  char message[JMSG_LENGTH_MAX + 256] = {0};
  // PNG
  png_structp png = nullptr;
  png_infop info = nullptr;
  // JPEG (err first: libjpeg hands back a jpeg_error_mgr*, cast to the whole struct)
  struct JpegErr {
    jpeg_error_mgr mgr;
    jmp_buf jump;
    char* message;
  } err{};
  jpeg_compress_struct cinfo{};
  bool jpeg_created = false;
  std::vector<unsigned char> packed;  // one row batch, quantised
  // WebP: every row, 8-bit RGB(A) (gray expanded), encoded at finish()
  std::vector<uint8_t> webp_rows;
  int webp_quality = kWebpLossless;
  // TIFF: libtiff owns the file
  std::unique_ptr<TiffRowWriter> tiff;
  // BMP: rows are written bottom-up at their offsets
  BmpLayout bmp;
  std::vector<uint8_t> bmp_row;
};

namespace {

using Backend = ImageRowWriter::Backend;

void on_png_error(png_structp png, png_const_charp msg) {
  Backend* b = (Backend*)png_get_error_ptr(png);
  std::snprintf(b->message, sizeof b->message, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}
void on_png_warning(png_structp, png_const_charp) {}

void on_jpeg_error(j_common_ptr cinfo) {
  auto* err = (Backend::JpegErr*)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// ---- setjmp owners: plain C data only --------------------------------------------------

bool png_start(Backend* b, unsigned width, unsigned height, int color_type, int depth, int level) {
  b->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, b, on_png_error, on_png_warning);
  if (!b->png) return std::snprintf(b->message, sizeof b->message, "libpng could not allocate a writer"), false;
  b->info = png_create_info_struct(b->png);
  if (!b->info) return std::snprintf(b->message, sizeof b->message, "libpng could not allocate a writer"), false;
  if (setjmp(png_jmpbuf(b->png))) return false;
  png_init_io(b->png, b->file);
  png_set_compression_level(b->png, level);
  png_set_IHDR(b->png, b->info, width, height, depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(b->png, b->info);
  return true;
}

bool png_rows(Backend* b, const unsigned char* packed, int rows, size_t rowbytes) {
  if (setjmp(png_jmpbuf(b->png))) return false;
  for (int y = 0; y < rows; ++y) png_write_row(b->png, (png_const_bytep)(packed + (size_t)y * rowbytes));
  return true;
}

bool png_end(Backend* b) {
  if (setjmp(png_jmpbuf(b->png))) return false;
  png_write_end(b->png, b->info);
  return true;
}

bool jpeg_start(Backend* b, unsigned width, unsigned height, int channels, int quality) {
  b->cinfo.err = jpeg_std_error(&b->err.mgr);
  b->err.mgr.error_exit = on_jpeg_error;
  b->err.message = b->message;
  if (setjmp(b->err.jump)) return false;
  jpeg_create_compress(&b->cinfo);
  b->jpeg_created = true;
  jpeg_stdio_dest(&b->cinfo, b->file);
  b->cinfo.image_width = width;
  b->cinfo.image_height = height;
  b->cinfo.input_components = channels;
  b->cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&b->cinfo);
  jpeg_set_quality(&b->cinfo, quality, TRUE);
  jpeg_start_compress(&b->cinfo, TRUE);
  return true;
}

bool jpeg_rows(Backend* b, const unsigned char* packed, int rows, size_t rowbytes) {
  if (setjmp(b->err.jump)) return false;
  for (int y = 0; y < rows; ++y) {
    JSAMPROW row = (JSAMPROW)(packed + (size_t)y * rowbytes);
    jpeg_write_scanlines(&b->cinfo, &row, 1);
  }
  return true;
}

bool jpeg_end(Backend* b) {
  if (setjmp(b->err.jump)) return false;
  jpeg_finish_compress(&b->cinfo);
  return true;
}

// Frees the encoder and closes the file (the destructor, and a constructor that fails
// after opening the file, which must not leave the file open or the .part behind).
void close_backend(Backend* b) {
  if (b->png) png_destroy_write_struct(&b->png, b->info ? &b->info : nullptr);
  b->png = nullptr;
  b->info = nullptr;
  if (b->jpeg_created) jpeg_destroy_compress(&b->cinfo);
  b->jpeg_created = false;
  if (b->file) std::fclose(b->file);
  b->file = nullptr;
}

// libpng says "Write Error" and libjpeg "write error --- out of disk space?" when fwrite
// fails; the system's reason (No space left on device, File too large, ...) is in errno.
std::string io_reason(std::FILE* f) {
  const int err = errno;
  return f && std::ferror(f) && err ? std::string(" (") + std::strerror(err) + ")" : std::string();
}

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = (char)std::tolower((unsigned char)c);
  return ext;
}

}  // namespace

ImageRowWriter::ImageRowWriter(const std::string& path, int width, int height, int channels, int bit_depth,
                               const EncodeOptions& opt)
    : path_(path), target_(resolve_write_target(path)), tmp_path_(target_ + ".part"), width_(width), height_(height),
      channels_(channels), bit_depth_(bit_depth), backend_(std::make_unique<Backend>()) {
  using Kind = Backend::Kind;
  const std::string ext = lower_extension(path);
  Backend* b = backend_.get();
  if (ext == ".png") b->kind = Kind::png;
  else if (ext == ".jpg" || ext == ".jpeg") b->kind = Kind::jpeg;
  else if (ext == ".webp") b->kind = Kind::webp, check_image_format_built(ImageFormat::webp, path);
  else if (ext == ".tif" || ext == ".tiff") b->kind = Kind::tiff, check_image_format_built(ImageFormat::tiff, path);
  else if (ext == ".bmp") b->kind = Kind::bmp;
  else fail(path, ": cannot write '", ext, "' images (use ", image_extensions_text(), ")");
  b->jpeg = b->kind == Kind::jpeg;
  SR_CHECK(width > 0 && height > 0, path, ": image size must be positive, got ", width, "x", height);
  SR_CHECK(channels >= 1 && channels <= 4, path, ": channels must be 1..4, got ", channels);
  switch (b->kind) {
    case Kind::jpeg:
      SR_CHECK(channels == 1 || channels == 3, path, ": JPEG cannot store alpha (", channels,
               " channels); write PNG instead");
      SR_CHECK(bit_depth == 8, path, ": JPEG is 8-bit only, got bit depth ", bit_depth);
      SR_CHECK(opt.jpeg_quality >= 1 && opt.jpeg_quality <= 100, path, ": JPEG quality must be 1..100, got ",
               opt.jpeg_quality);
      break;
    case Kind::png:
      SR_CHECK(bit_depth == 8 || bit_depth == 16, path, ": PNG bit depth must be 8 or 16, got ", bit_depth);
      SR_CHECK(opt.compression >= 0 && opt.compression <= 9, path, ": PNG compression must be 0..9, got ",
               opt.compression);
      break;
    case Kind::tiff:
      SR_CHECK(bit_depth == 8 || bit_depth == 16, path, ": TIFF bit depth must be 8 or 16, got ", bit_depth);
      break;
    case Kind::webp:
      SR_CHECK(bit_depth == 8, path, ": WebP is 8-bit only, got bit depth ", bit_depth);
      SR_CHECK(width <= 16383 && height <= 16383, path, ": WebP images are at most 16383x16383, got ", width, "x",
               height, " (write PNG or TIFF instead)");
      SR_CHECK(opt.webp_quality >= 1, path, ": WebP quality must be 1..100 (lossy) or above 100 (lossless), got ",
               opt.webp_quality);
      b->webp_quality = opt.webp_quality;
      b->webp_rows.reserve((size_t)width * height * (channels <= 2 ? channels + 2 : channels));
      break;
    case Kind::bmp:
      SR_CHECK(bit_depth == 8, path, ": BMP is 8-bit here, got bit depth ", bit_depth);
      b->bmp = bmp_layout(width, height, channels, path);
      b->bmp_row.resize(b->bmp.row_stride);
      break;
  }
  if (b->kind == Kind::tiff) {  // libtiff opens (and closes) the file itself
    b->tiff = std::make_unique<TiffRowWriter>(tmp_path_, width, height, channels, bit_depth, path);
    return;
  }
  b->file = std::fopen(tmp_path_.c_str(), "wb");
  SR_CHECK(b->file, "cannot write '", tmp_path_, "': ", std::strerror(errno));
  static const int kColorType[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                    PNG_COLOR_TYPE_RGB_ALPHA};
  bool ok = true;
  if (b->kind == Kind::jpeg) ok = jpeg_start(b, width, height, channels, opt.jpeg_quality);
  else if (b->kind == Kind::png) ok = png_start(b, width, height, kColorType[channels], bit_depth, opt.compression);
  else if (b->kind == Kind::bmp) {
    ok = std::fwrite(b->bmp.header.data(), 1, b->bmp.header.size(), b->file) == b->bmp.header.size();
    if (!ok) std::snprintf(b->message, sizeof b->message, "cannot write the header: %s", std::strerror(errno));
  }
  if (!ok) {  // e.g. JPEG's 65500-pixel side limit: no open file, no .part left behind
    const std::string why = b->message;
    close_backend(b);
    std::remove(tmp_path_.c_str());
    fail(path, ": cannot start encoding: ", why);
  }
}

ImageRowWriter::~ImageRowWriter() {
  backend_->tiff.reset();  // closes its file
  close_backend(backend_.get());
  if (!finished_) std::remove(tmp_path_.c_str());
}

void ImageRowWriter::write_rows(const float* samples, int rows) {
  using Kind = Backend::Kind;
  SR_CHECK(!finished_ && rows_written_ + rows <= height_, path_, ": ", rows, " more rows after ", rows_written_,
           " exceed the image height ", height_);
  Backend* b = backend_.get();
  const size_t per_row = (size_t)width_ * channels_, bytes = bit_depth_ / 8;
  b->packed.resize(per_row * bytes * rows);
  for (size_t i = 0; i < per_row * rows; ++i) {
    const float v = samples[i];
    if (!std::isfinite(v)) {
      const size_t px = i / channels_;
      fail(path_, ": cannot encode a non-finite sample (", v, ") at x=", px % width_, " y=",
           rows_written_ + px / width_, " channel ", i % channels_);
    }
    if (bytes == 1) {
      b->packed[i] = quantize_u8(v);
    } else if (b->kind == Kind::tiff) {
      const uint16_t q = quantize_u16(v);  // libtiff takes host byte order
      std::memcpy(&b->packed[2 * i], &q, 2);
    } else {
      const uint16_t q = quantize_u16(v);
      b->packed[2 * i] = (unsigned char)(q >> 8);  // PNG stores 16-bit samples big-endian
      b->packed[2 * i + 1] = (unsigned char)(q & 0xff);
    }
  }
  const size_t rowbytes = per_row * bytes;
  bool ok = true;
  switch (b->kind) {
    case Kind::jpeg: ok = jpeg_rows(b, b->packed.data(), rows, rowbytes); break;
    case Kind::png: ok = png_rows(b, b->packed.data(), rows, rowbytes); break;
    case Kind::tiff:
      for (int y = 0; y < rows; ++y) b->tiff->write_row(b->packed.data() + (size_t)y * rowbytes);
      break;
    case Kind::webp:
      if (channels_ >= 3) {
        b->webp_rows.insert(b->webp_rows.end(), b->packed.begin(), b->packed.end());
      } else {  // WebP has no gray: expand to RGB(A)
        for (size_t p = 0; p < per_row * rows; p += channels_) {
          b->webp_rows.insert(b->webp_rows.end(), 3, b->packed[p]);
          if (channels_ == 2) b->webp_rows.push_back(b->packed[p + 1]);
        }
      }
      break;
    case Kind::bmp:
      for (int y = 0; y < rows && ok; ++y) {
        b->bmp.pack_row(b->packed.data() + (size_t)y * rowbytes, b->bmp_row.data());
        ok = std::fseek(b->file, (long)b->bmp.row_offset(rows_written_ + y), SEEK_SET) == 0 &&
             std::fwrite(b->bmp_row.data(), 1, b->bmp_row.size(), b->file) == b->bmp_row.size();
        if (!ok) std::snprintf(b->message, sizeof b->message, "fwrite failed");
      }
      break;
  }
  if (!ok) fail(path_, ": cannot encode: ", b->message, io_reason(b->file));
  rows_written_ += rows;
}

void ImageRowWriter::finish() {
  using Kind = Backend::Kind;
  SR_CHECK(rows_written_ == height_, path_, ": finish() after ", rows_written_, " of ", height_, " rows");
  Backend* b = backend_.get();
  if (b->kind == Kind::tiff) {
    b->tiff->finish();
    b->tiff.reset();
  } else {
    bool ok = true;
    if (b->kind == Kind::jpeg) ok = jpeg_end(b);
    else if (b->kind == Kind::png) ok = png_end(b);
    else if (b->kind == Kind::webp) {
      const std::vector<uint8_t> bytes =
          encode_webp_rows(b->webp_rows.data(), width_, height_, channels_ <= 2 ? channels_ + 2 : channels_,
                           b->webp_quality, path_);
      ok = std::fwrite(bytes.data(), 1, bytes.size(), b->file) == bytes.size();
      if (!ok) std::snprintf(b->message, sizeof b->message, "fwrite failed");
      std::vector<uint8_t>().swap(b->webp_rows);
    }
    if (!ok) fail(path_, ": cannot finish encoding: ", b->message, io_reason(b->file));
    const bool flushed = std::fflush(b->file) == 0 && !std::ferror(b->file);
    const bool closed = std::fclose(b->file) == 0;
    b->file = nullptr;
    SR_CHECK(flushed && closed, "cannot write '", tmp_path_, "': ", std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp_path_, target_, ec);
  SR_CHECK(!ec, "cannot rename '", tmp_path_, "' to '", target_, "': ", ec.message());
  finished_ = true;
}

}  // namespace sr::data
