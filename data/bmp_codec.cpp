// BMP decoding and encoding, by hand: the format is a fixed header and raw rows. Every
// header field is checked against the file's size before it is used (offsets, row stride
// times height, palette length) and the pixel count against max_pixels before anything is
// allocated, so a hostile file is an error naming it, never an out-of-bounds read.
#include <bit>
#include <cstring>
#include <vector>

#include "data/codec_internal.h"
#include "data/image_io.h"
#include "data/raw_pixels.h"
#include "engine/error.h"

namespace sr::data {

namespace {

uint32_t u16(const uint8_t* p) { return p[0] | p[1] << 8; }
uint32_t u32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
void put16(uint8_t* p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
void put32(uint8_t* p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

enum : uint32_t {
  kBiRgb = 0,
  kBiRle8 = 1,
  kBiRle4 = 2,
  kBiBitfields = 3,
  kBiJpeg = 4,
  kBiPng = 5,
  kBiAlphaBitfields = 6
};

// One channel of a bit-field pixel: value = (pixel & mask) >> shift, scaled to 0..255.
struct Field {
  uint32_t mask = 0;
  int shift = 0;
  uint32_t max = 0;  // the largest value (2^bits - 1)
  uint8_t get(uint32_t px) const {
    if (!mask) return 0;
    const uint64_t v = (px & mask) >> shift;
    return (uint8_t)((v * 255 + max / 2) / max);
  }
};

struct BmpHeader {
  int64_t width = 0, height = 0;  // height > 0 after the top-down flag is taken out
  bool top_down = false;
  int bpp = 0;
  uint32_t compression = kBiRgb;
  uint64_t data_offset = 0, stride = 0;
  std::vector<uint8_t> palette;  // B, G, R per entry
  Field r, g, b, a;
  bool gray = false;  // a palette of grays only
  int channels() const { return (gray ? 1 : 3) + (a.mask ? 1 : 0); }
};

Field make_field(uint32_t mask, const std::string& name) {
  Field f;
  if (!mask) return f;
  f.mask = mask;
  f.shift = std::countr_zero(mask);
  const uint32_t v = mask >> f.shift;
  SR_CHECK((v & (v + 1)) == 0, name, ": cannot decode BMP: bit field mask 0x", std::hex, mask,
           " is not one contiguous run of bits");
  f.max = v;
  return f;
}

BmpHeader parse_header(const uint8_t* d, size_t size, const std::string& name) {
  auto need = [&](uint64_t end, const char* what) {
    SR_CHECK(end <= size, name, ": cannot decode BMP: file is truncated (", what, " needs ", end,
             " bytes, the file has ", size, ")");
  };
  need(18, "the header");
  SR_CHECK(d[0] == 'B' && d[1] == 'M', name, ": cannot decode BMP: no 'BM' signature");
  BmpHeader h;
  h.data_offset = u32(d + 10);
  const uint32_t dib = u32(d + 14);
  uint64_t palette_at = 14 + (uint64_t)dib;
  int entry = 4;
  uint32_t colors = 0;
  if (dib == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries
    need(26, "the header");
    h.width = u16(d + 18);
    h.height = u16(d + 20);
    h.bpp = (int)u16(d + 24);
    entry = 3;
  } else {
    SR_CHECK(dib == 40 || dib == 52 || dib == 56 || dib == 108 || dib == 124, name,
             ": cannot decode BMP: unknown header size ", dib);
    need(14 + (uint64_t)dib, "the header");
    h.width = (int32_t)u32(d + 18);
    const int32_t hh = (int32_t)u32(d + 22);
    SR_CHECK(hh != INT32_MIN, name, ": cannot decode BMP: height ", hh);
    h.top_down = hh < 0;
    h.height = hh < 0 ? -(int64_t)hh : hh;
    h.bpp = (int)u16(d + 28);
    h.compression = u32(d + 30);
    colors = u32(d + 46);
    SR_CHECK(h.compression != kBiRle8 && h.compression != kBiRle4, name,
             ": RLE-compressed BMP is not supported (save it uncompressed)");
    SR_CHECK(h.compression != kBiJpeg && h.compression != kBiPng, name,
             ": BMP with an embedded JPEG or PNG is not supported (save it uncompressed)");
    SR_CHECK(h.compression == kBiRgb || h.compression == kBiBitfields || h.compression == kBiAlphaBitfields, name,
             ": cannot decode BMP: unknown compression ", h.compression);
    if (h.compression != kBiRgb) {
      // The masks follow a 40-byte header, or are its V2+ fields: at offset 54 either way.
      const bool with_alpha = dib >= 56 || h.compression == kBiAlphaBitfields;
      need(with_alpha ? 70 : 66, "the bit field masks");
      h.r = make_field(u32(d + 54), name);
      h.g = make_field(u32(d + 58), name);
      h.b = make_field(u32(d + 62), name);
      if (with_alpha) h.a = make_field(u32(d + 66), name);
      if (dib == 40) palette_at += with_alpha ? 16 : 12;
    }
  }
  const bool indexed = h.bpp == 1 || h.bpp == 4 || h.bpp == 8;
  SR_CHECK(indexed || h.bpp == 16 || h.bpp == 24 || h.bpp == 32, name, ": cannot decode BMP: ", h.bpp,
           " bits per pixel (1, 4, 8, 16, 24 or 32 are read)");
  SR_CHECK(h.compression == kBiRgb || h.bpp == 16 || h.bpp == 32, name, ": cannot decode BMP: bit fields with ", h.bpp,
           " bits per pixel");
  SR_CHECK(h.width > 0 && h.height > 0, name, ": cannot decode BMP: image size ", h.width, "x", h.height);
  if (h.compression == kBiRgb && h.bpp == 16) h.r = make_field(0x7c00, name), h.g = make_field(0x03e0, name),
                                              h.b = make_field(0x001f, name);
  if (h.compression == kBiRgb && h.bpp == 32) h.r = make_field(0xff0000, name), h.g = make_field(0xff00, name),
                                              h.b = make_field(0xff, name);  // the 4th byte is unused, not alpha
  if (indexed) {
    const uint32_t most = 1u << h.bpp;
    const uint32_t n = colors == 0 || colors > most ? most : colors;
    need(palette_at + (uint64_t)n * entry, "the palette");
    h.gray = true;
    for (uint32_t i = 0; i < n; ++i) {
      const uint8_t* e = d + palette_at + (uint64_t)i * entry;
      h.palette.insert(h.palette.end(), e, e + 3);
      h.gray = h.gray && e[0] == e[1] && e[1] == e[2];
    }
  }
  h.stride = ((uint64_t)h.width * h.bpp + 31) / 32 * 4;
  return h;
}

}  // namespace

ImageInfo probe_bmp(const uint8_t* data, size_t size, const std::string& name) {
  const BmpHeader h = parse_header(data, size, name);
  return {ImageFormat::bmp, (int)std::min<int64_t>(h.width, INT32_MAX), (int)std::min<int64_t>(h.height, INT32_MAX),
          h.channels(), 8};
}

Image decode_bmp(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  const BmpHeader h = parse_header(data, size, name);
  check_pixel_limit(name, h.width, h.height, opt.max_pixels);
  if (!opt.region.empty()) check_region(opt.region, (int)h.width, (int)h.height, name);
  // Rows: stride * height bytes from data_offset, all inside the file (no overflow: the
  // division keeps the product implicit).
  SR_CHECK(h.data_offset <= size && h.stride <= (size - h.data_offset) / (uint64_t)h.height, name,
           ": cannot decode BMP: file is truncated (", h.height, " rows of ", h.stride, " bytes from offset ",
           h.data_offset, " need more than its ", size, " bytes)");
  const int c = h.channels(), W = (int)h.width, H = (int)h.height;
  const size_t rowbytes = (size_t)W * c;
  std::vector<uint8_t> pixels(rowbytes * H);
  const size_t n_palette = h.palette.size() / 3;
  for (int y = 0; y < H; ++y) {
    const uint8_t* row = data + h.data_offset + (uint64_t)(h.top_down ? y : H - 1 - y) * h.stride;
    uint8_t* out = pixels.data() + (size_t)y * rowbytes;
    for (int x = 0; x < W; ++x, out += c) {
      if (h.bpp <= 8) {
        const int per_byte = 8 / h.bpp, shift = 8 - h.bpp * (1 + x % per_byte);
        const size_t index = (row[x / per_byte] >> shift) & ((1u << h.bpp) - 1);
        SR_CHECK(index < n_palette, name, ": cannot decode BMP: palette index ", index, " at x=", x, " y=", y,
                 " but the palette has ", n_palette, " colours");
        const uint8_t* e = h.palette.data() + index * 3;  // B, G, R
        if (h.gray) {
          out[0] = e[0];
        } else {
          out[0] = e[2], out[1] = e[1], out[2] = e[0];
        }
      } else if (h.bpp == 24) {
        const uint8_t* p = row + (size_t)x * 3;
        out[0] = p[2], out[1] = p[1], out[2] = p[0];
      } else {
        const uint32_t px = h.bpp == 16 ? u16(row + (size_t)x * 2) : u32(row + (size_t)x * 4);
        out[0] = h.r.get(px), out[1] = h.g.get(px), out[2] = h.b.get(px);
        if (h.a.mask) out[3] = h.a.get(px);
      }
    }
  }
  return raw_to_image(pixels.data(), rowbytes, W, H, c, 8, opt.region);
}

// ---- Writing ----------------------------------------------------------------------------

BmpLayout bmp_layout(int width, int height, int channels, const std::string& name) {
  SR_CHECK(width > 0 && height > 0, name, ": image size must be positive, got ", width, "x", height);
  SR_CHECK(channels >= 1 && channels <= 4, name, ": channels must be 1..4, got ", channels);
  BmpLayout l;
  l.width = width;
  l.height = height;
  l.channels = channels;
  l.bits = channels == 1 ? 8 : channels == 3 ? 24 : 32;
  const bool v4 = l.bits == 32;
  const uint32_t dib = v4 ? 108 : 40, palette = channels == 1 ? 256 * 4 : 0;
  l.row_stride = ((size_t)width * l.bits + 31) / 32 * 4;
  l.data_offset = 14 + dib + palette;
  const uint64_t file_size = l.data_offset + (uint64_t)l.row_stride * height;
  SR_CHECK(file_size < (1ull << 32), name, ": a ", width, "x", height, " BMP would exceed 4 GB (write PNG or TIFF)");
  l.file_size = file_size;
  l.header.assign(l.data_offset, 0);
  uint8_t* h = l.header.data();
  h[0] = 'B', h[1] = 'M';
  put32(h + 2, (uint32_t)file_size);
  put32(h + 10, (uint32_t)l.data_offset);
  put32(h + 14, dib);
  put32(h + 18, (uint32_t)width);
  put32(h + 22, (uint32_t)height);  // positive: bottom-up, the form every reader knows
  put16(h + 26, 1);
  put16(h + 28, (uint32_t)l.bits);
  put32(h + 30, v4 ? kBiBitfields : kBiRgb);
  put32(h + 34, (uint32_t)(l.row_stride * height));
  put32(h + 38, 2835);  // 72 dpi
  put32(h + 42, 2835);
  if (channels == 1) {
    put32(h + 46, 256);
    for (int i = 0; i < 256; ++i) h[54 + 4 * i] = h[55 + 4 * i] = h[56 + 4 * i] = (uint8_t)i;
  }
  if (v4) {
    put32(h + 54, 0x00ff0000);  // R
    put32(h + 58, 0x0000ff00);  // G
    put32(h + 62, 0x000000ff);  // B
    put32(h + 66, 0xff000000);  // A
    put32(h + 70, 0x73524742);  // LCS_sRGB
  }
  return l;
}

void BmpLayout::pack_row(const uint8_t* s, uint8_t* out) const {
  std::memset(out, 0, row_stride);
  for (int x = 0; x < width; ++x, s += channels) {
    switch (channels) {
      case 1: out[x] = s[0]; break;
      case 2: out[4 * x] = out[4 * x + 1] = out[4 * x + 2] = s[0], out[4 * x + 3] = s[1]; break;
      case 3: out[3 * x] = s[2], out[3 * x + 1] = s[1], out[3 * x + 2] = s[0]; break;
      default: out[4 * x] = s[2], out[4 * x + 1] = s[1], out[4 * x + 2] = s[0], out[4 * x + 3] = s[3]; break;
    }
  }
}

std::vector<uint8_t> encode_bmp(const Image& img, const std::string& name) {
  const BmpLayout l = bmp_layout(img.width, img.height, img.channels, name);
  const std::vector<uint8_t> q = quantize_image_u8(img, name);
  std::vector<uint8_t> out(l.file_size);
  std::copy(l.header.begin(), l.header.end(), out.begin());
  for (int y = 0; y < img.height; ++y)
    l.pack_row(q.data() + (size_t)y * img.width * img.channels, out.data() + l.row_offset(y));
  return out;
}

}  // namespace sr::data
