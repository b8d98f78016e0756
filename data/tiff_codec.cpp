// TIFF decoding and encoding through libtiff, reading from memory and writing to memory or a
// file. libtiff reports errors through handlers, here per file (TIFFOpenOptions, libtiff
// >= 4.5), so concurrent decodes keep their own messages; no longjmp. Before any pixel
// buffer is allocated the size is checked against max_pixels, and libtiff's own allocations
// are capped (TIFFOpenOptionsSetMaxSingleMemAlloc), so a hostile strip size cannot make it
// allocate gigabytes either.
#if SRENGINE_WITH_TIFF  // else data/codec_unavailable.cpp
#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include "data/codec_internal.h"
#include "data/image_io.h"
#include "data/raw_pixels.h"
#include "engine/error.h"

namespace sr::data {

namespace {

// ---- Messages and memory I/O for libtiff ------------------------------------------------

struct TiffMessages {
  std::string error;  // the first error libtiff reported
};

int on_tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* m = static_cast<TiffMessages*>(user);
  if (m && m->error.empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    m->error = (module && *module ? std::string(module) + ": " : std::string()) + buf;
  }
  return 1;  // handled: nothing is printed
}

int on_tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // unknown tags and the like

struct MemIn {
  const uint8_t* data;
  uint64_t size, pos;
};

tmsize_t in_read(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<MemIn*>(h);
  if (n <= 0 || m->pos >= m->size) return 0;
  const uint64_t k = std::min<uint64_t>((uint64_t)n, m->size - m->pos);
  std::memcpy(buf, m->data + m->pos, k);
  m->pos += k;
  return (tmsize_t)k;
}
tmsize_t in_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t in_seek(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<MemIn*>(h);
  const uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size : 0;
  if (off > UINT64_MAX - base) return (toff_t)-1;
  m->pos = base + off;
  return m->pos;
}
toff_t in_size(thandle_t h) { return static_cast<MemIn*>(h)->size; }

struct MemOut {
  std::vector<uint8_t>* buf;
  uint64_t pos;
};

tmsize_t out_read(thandle_t h, void* dst, tmsize_t n) {
  auto* m = static_cast<MemOut*>(h);
  if (n <= 0 || m->pos >= m->buf->size()) return 0;
  const uint64_t k = std::min<uint64_t>((uint64_t)n, m->buf->size() - m->pos);
  std::memcpy(dst, m->buf->data() + m->pos, k);
  m->pos += k;
  return (tmsize_t)k;
}
tmsize_t out_write(thandle_t h, void* src, tmsize_t n) {
  auto* m = static_cast<MemOut*>(h);
  if (n < 0) return -1;
  if (m->pos + n > m->buf->size()) m->buf->resize(m->pos + n);
  std::memcpy(m->buf->data() + m->pos, src, (size_t)n);
  m->pos += n;
  return n;
}
toff_t out_seek(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<MemOut*>(h);
  const uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->buf->size() : 0;
  m->pos = base + off;
  return m->pos;
}
toff_t out_size(thandle_t h) { return static_cast<MemOut*>(h)->buf->size(); }

int mem_close(thandle_t) { return 0; }
int mem_map(thandle_t, void**, toff_t*) { return 0; }
void mem_unmap(thandle_t, void*, toff_t) {}

TIFFOpenOptions* make_options(TiffMessages* messages, int64_t max_alloc) {
  TIFFOpenOptions* o = TIFFOpenOptionsAlloc();
  SR_CHECK(o, "libtiff could not allocate its options");
  TIFFOpenOptionsSetErrorHandlerExtR(o, on_tiff_error, messages);
  TIFFOpenOptionsSetWarningHandlerExtR(o, on_tiff_warning, nullptr);
  if (max_alloc > 0) TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)max_alloc);
  return o;
}

// ---- Reading ----------------------------------------------------------------------------

struct TiffReader {
  MemIn in{};
  TiffMessages messages;
  TIFF* tif = nullptr;
  std::string name;
  ~TiffReader() {
    if (tif) TIFFClose(tif);
  }
  [[noreturn]] void error(const std::string& what) const {
    fail(name, ": cannot decode TIFF: ", what, messages.error.empty() ? "" : " (" + messages.error + ")");
  }
};

// What srengine reads from the first directory.
struct TiffHeader {
  uint32_t width = 0, height = 0;
  uint16_t spp = 1, bps = 1, photometric = PHOTOMETRIC_MINISBLACK, planar = PLANARCONFIG_CONTIG;
  uint16_t sample_format = SAMPLEFORMAT_UINT, orientation = ORIENTATION_TOPLEFT;
  bool tiled = false, alpha = false, associated_alpha = false, gray = false;
  // 8/16-bit gray(+alpha) or RGB(+alpha), interleaved strips, top-left: read by scanlines
  // at its own depth. Anything else goes through libtiff's RGBA reader (8-bit).
  bool direct() const {
    const bool layout = planar == PLANARCONFIG_CONTIG && !tiled && orientation == ORIENTATION_TOPLEFT;
    const bool samples = sample_format == SAMPLEFORMAT_UINT && (bps == 8 || bps == 16);
    const bool kind = (photometric == PHOTOMETRIC_MINISBLACK && spp == 1 + (int)alpha) ||
                      (photometric == PHOTOMETRIC_RGB && spp == 3 + (int)alpha);
    return layout && samples && kind;
  }
  int channels() const { return (gray ? 1 : 3) + (alpha ? 1 : 0); }
};

void open_reader(TiffReader& r, const uint8_t* data, size_t size, const std::string& name, int64_t max_alloc) {
  r.in = {data, size, 0};
  r.name = name;
  TIFFOpenOptions* o = make_options(&r.messages, max_alloc);
  r.tif = TIFFClientOpenExt(name.c_str(), "rm", &r.in, in_read, in_write, in_seek, mem_close, in_size, mem_map,
                            mem_unmap, o);
  TIFFOpenOptionsFree(o);
  if (!r.tif) r.error("not a readable TIFF header");
}

TiffHeader read_header(TiffReader& r) {
  TIFF* t = r.tif;
  TiffHeader h;
  if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &h.width) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h.height))
    r.error("no image size");
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &h.spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &h.bps);
  TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &h.planar);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &h.sample_format);
  TIFFGetFieldDefaulted(t, TIFFTAG_ORIENTATION, &h.orientation);
  if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &h.photometric))
    h.photometric = h.spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  uint16_t extra_count = 0;
  uint16_t* extra = nullptr;
  TIFFGetFieldDefaulted(t, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
  if (extra_count >= 1 && extra) {
    h.alpha = extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA;
    h.associated_alpha = extra[0] == EXTRASAMPLE_ASSOCALPHA;
  }
  h.tiled = TIFFIsTiled(t);
  h.gray = h.photometric == PHOTOMETRIC_MINISBLACK || h.photometric == PHOTOMETRIC_MINISWHITE;
  SR_CHECK(h.sample_format != SAMPLEFORMAT_IEEEFP, r.name, ": floating-point TIFF samples are not supported (",
           h.bps, "-bit float; convert to 16-bit integers)");
  return h;
}

// Scanlines at the file's own depth, as rows raw_to_image reads (16-bit made big-endian).
std::vector<uint8_t> read_direct(TiffReader& r, const TiffHeader& h, size_t& rowbytes) {
  const size_t bytes = h.bps / 8;
  rowbytes = (size_t)h.width * h.spp * bytes;
  if ((size_t)TIFFScanlineSize64(r.tif) != rowbytes) r.error("unexpected scanline size");
  std::vector<uint8_t> pixels(rowbytes * h.height);
  for (uint32_t y = 0; y < h.height; ++y) {
    uint8_t* row = pixels.data() + (size_t)y * rowbytes;
    if (TIFFReadScanline(r.tif, row, y, 0) < 0) r.error("corrupt or truncated data at row " + std::to_string(y));
    if (bytes == 2)
      for (size_t i = 0; i < rowbytes; i += 2) {
        uint16_t v;
        std::memcpy(&v, row + i, 2);  // host order, as libtiff returns it
        row[i] = (uint8_t)(v >> 8);
        row[i + 1] = (uint8_t)(v & 0xff);
      }
  }
  return pixels;
}

// libtiff's RGBA reader: every photometric, depth, tiling and planar layout it knows, as
// 8-bit; alpha comes back premultiplied and is divided out again.
std::vector<uint8_t> read_rgba(TiffReader& r, const TiffHeader& h, size_t& rowbytes) {
  char why[1024] = {0};
  if (!TIFFRGBAImageOK(r.tif, why)) r.error(why);
  std::vector<uint32_t> raster((size_t)h.width * h.height);
  if (!TIFFReadRGBAImageOriented(r.tif, h.width, h.height, raster.data(), ORIENTATION_TOPLEFT, 1))
    r.error("corrupt or truncated image data");
  const int c = h.channels();
  rowbytes = (size_t)h.width * c;
  std::vector<uint8_t> pixels(rowbytes * h.height);
  for (size_t i = 0; i < raster.size(); ++i) {
    const uint32_t p = raster[i];
    const int a = (int)TIFFGetA(p);
    auto unpremultiply = [&](int v) {
      return !h.alpha || a == 255 ? v : a == 0 ? 0 : std::min(255, (v * 255 + a / 2) / a);
    };
    uint8_t* o = pixels.data() + i * c;
    if (h.gray) {
      o[0] = (uint8_t)unpremultiply((int)TIFFGetR(p));
    } else {
      o[0] = (uint8_t)unpremultiply((int)TIFFGetR(p));
      o[1] = (uint8_t)unpremultiply((int)TIFFGetG(p));
      o[2] = (uint8_t)unpremultiply((int)TIFFGetB(p));
    }
    if (h.alpha) o[c - 1] = (uint8_t)a;
  }
  return pixels;
}

// libtiff's largest single allocation: a whole-image strip of max_pixels 16-bit RGBA pixels.
int64_t max_alloc_for(int64_t max_pixels) { return std::max<int64_t>(64 << 20, max_pixels * 8 + (1 << 20)); }

}  // namespace

ImageInfo probe_tiff(const uint8_t* data, size_t size, const std::string& name) {
  TiffReader r;
  open_reader(r, data, size, name, max_alloc_for(kDefaultMaxPixels));
  const TiffHeader h = read_header(r);
  return {ImageFormat::tiff, (int)std::min<uint32_t>(h.width, INT32_MAX), (int)std::min<uint32_t>(h.height, INT32_MAX),
          h.channels(), h.direct() ? h.bps : 8};
}

Image decode_tiff(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  TiffReader r;
  open_reader(r, data, size, name, max_alloc_for(opt.max_pixels));
  const TiffHeader h = read_header(r);
  check_pixel_limit(name, h.width, h.height, opt.max_pixels);
  if (!opt.region.empty()) check_region(opt.region, (int)h.width, (int)h.height, name);
  size_t rowbytes = 0;
  const bool direct = h.direct();
  const std::vector<uint8_t> pixels = direct ? read_direct(r, h, rowbytes) : read_rgba(r, h, rowbytes);
  Image img = raw_to_image(pixels.data(), rowbytes, (int)h.width, (int)h.height, h.channels(), direct ? h.bps : 8,
                           opt.region);
  if (direct && h.associated_alpha) {  // premultiplied samples: divide the alpha out
    const int c = img.channels;
    for (size_t i = 0; i < img.pixels.size(); i += c) {
      const float a = img.pixels[i + c - 1];
      for (int k = 0; k + 1 < c; ++k) img.pixels[i + k] = a > 0 ? std::min(1.0f, img.pixels[i + k] / a) : 0.0f;
    }
  }
  return img;
}

// ---- Writing ----------------------------------------------------------------------------

struct TiffRowWriter::State {
  TiffMessages messages;
  MemOut mem{};
  TIFF* tif = nullptr;
  std::string name;
  int width = 0, height = 0, channels = 0, bit_depth = 0, rows = 0;
  std::vector<uint8_t> scratch;  // libtiff's predictor may work in place: rows are copied first
  [[noreturn]] void error(const std::string& what) const {
    fail(name, ": cannot encode TIFF: ", what, messages.error.empty() ? "" : " (" + messages.error + ")");
  }
};

TiffRowWriter::TiffRowWriter(const std::string& path, int width, int height, int channels, int bit_depth,
                             const std::string& name)
    : s_(std::make_unique<State>()) {
  s_->name = name;
  // Past ~4 GB of pixels the classic format's 32-bit offsets run out: BigTIFF.
  const double bytes = (double)width * height * channels * (bit_depth / 8);
  TIFFOpenOptions* o = make_options(&s_->messages, 0);
  s_->tif = TIFFOpenExt(path.c_str(), bytes > 3.5e9 ? "w8" : "w", o);
  TIFFOpenOptionsFree(o);
  if (!s_->tif) s_->error("cannot create '" + path + "'");
  start_or_close(width, height, channels, bit_depth);
}

TiffRowWriter::TiffRowWriter(std::vector<uint8_t>* memory, int width, int height, int channels, int bit_depth,
                             const std::string& name)
    : s_(std::make_unique<State>()) {
  s_->name = name;
  memory->clear();
  s_->mem = {memory, 0};
  const double bytes = (double)width * height * channels * (bit_depth / 8);
  TIFFOpenOptions* o = make_options(&s_->messages, 0);
  s_->tif = TIFFClientOpenExt(name.c_str(), bytes > 3.5e9 ? "w8" : "w", &s_->mem, out_read, out_write, out_seek,
                              mem_close, out_size, mem_map, mem_unmap, o);
  TIFFOpenOptionsFree(o);
  if (!s_->tif) s_->error("libtiff could not start a file");
  start_or_close(width, height, channels, bit_depth);
}

// A constructor that throws runs no destructor: close the file here.
void TiffRowWriter::start_or_close(int width, int height, int channels, int bit_depth) {
  try {
    start(width, height, channels, bit_depth);
  } catch (...) {
    TIFFClose(s_->tif);
    s_->tif = nullptr;
    throw;
  }
}

void TiffRowWriter::start(int width, int height, int channels, int bit_depth) {
  State& s = *s_;
  SR_CHECK(width > 0 && height > 0, s.name, ": image size must be positive, got ", width, "x", height);
  SR_CHECK(channels >= 1 && channels <= 4, s.name, ": channels must be 1..4, got ", channels);
  SR_CHECK(bit_depth == 8 || bit_depth == 16, s.name, ": TIFF bit depth must be 8 or 16, got ", bit_depth);
  s.width = width;
  s.height = height;
  s.channels = channels;
  s.bit_depth = bit_depth;
  TIFF* t = s.tif;
  const uint16_t alpha[1] = {EXTRASAMPLE_UNASSALPHA};
  bool ok = TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)width) &&
            TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)height) &&
            TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)channels) &&
            TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)bit_depth) &&
            TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT) &&
            TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) &&
            TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, channels <= 2 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB) &&
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE) &&
            TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  if (ok && channels % 2 == 0) ok = TIFFSetField(t, TIFFTAG_EXTRASAMPLES, (uint16_t)1, alpha);
  if (ok) ok = TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
  if (!ok) s.error("cannot set the header fields");
  s.scratch.resize((size_t)width * channels * (bit_depth / 8));
}

TiffRowWriter::~TiffRowWriter() {
  if (s_ && s_->tif) TIFFClose(s_->tif);
}

void TiffRowWriter::write_row(const void* samples) {
  State& s = *s_;
  SR_CHECK(s.tif && s.rows < s.height, s.name, ": a row after the image's ", s.height, " rows");
  std::memcpy(s.scratch.data(), samples, s.scratch.size());
  if (TIFFWriteScanline(s.tif, s.scratch.data(), (uint32_t)s.rows, 0) < 0)
    s.error("cannot write row " + std::to_string(s.rows));
  ++s.rows;
}

void TiffRowWriter::finish() {
  State& s = *s_;
  SR_CHECK(s.tif && s.rows == s.height, s.name, ": finish() after ", s.rows, " of ", s.height, " rows");
  const bool flushed = TIFFFlush(s.tif) == 1;
  TIFFClose(s.tif);
  s.tif = nullptr;
  if (!flushed || !s.messages.error.empty()) s.error("cannot complete the file");
}

std::vector<uint8_t> encode_tiff(const Image& img, const std::string& name, int bit_depth) {
  const int depth = bit_depth > 0 ? bit_depth : img.bit_depth;
  SR_CHECK(depth == 8 || depth == 16, name, ": TIFF bit depth must be 8 or 16, got ", depth);
  std::vector<uint8_t> out;
  TiffRowWriter w(&out, img.width, img.height, img.channels, depth, name);
  const size_t n = (size_t)img.width * img.channels;
  if (depth == 8) {
    const std::vector<uint8_t> q = quantize_image_u8(img, name);
    for (int y = 0; y < img.height; ++y) w.write_row(q.data() + y * n);
  } else {
    const std::vector<uint16_t> q = quantize_image_u16(img, name);
    for (int y = 0; y < img.height; ++y) w.write_row(q.data() + y * n);
  }
  w.finish();
  return out;
}

}  // namespace sr::data

#endif  // SRENGINE_WITH_TIFF
