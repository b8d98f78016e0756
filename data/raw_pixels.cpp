// Integer-to-float conversion of decoded rows (see raw_pixels.h).
#include "data/raw_pixels.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "engine/error.h"

namespace sr::data {

namespace {

// numpy's uint8.astype(float32) / 255, precomputed.
struct U8Table {
  float v[256];
  U8Table() {
    for (int i = 0; i < 256; ++i) v[i] = (float)i / 255.0f;
  }
};
const U8Table kU8;

}  // namespace

void check_region(const Region& r, int width, int height, const std::string& name) {
  SR_CHECK(r.top >= 0 && r.left >= 0 && r.height > 0 && r.width > 0 && r.top + r.height <= height &&
               r.left + r.width <= width,
           name, ": region ", r.width, "x", r.height, " at (x=", r.left, ", y=", r.top, ") is outside the ", width,
           "x", height, " image");
}

Image raw_to_image(const unsigned char* pixels, size_t rowbytes, int width, int height, int channels, int bit_depth,
                   const Region& region) {
  const Region r = region.empty() ? Region{0, 0, height, width} : region;
  Image img;
  img.width = r.width;
  img.height = r.height;
  img.channels = channels;
  img.bit_depth = bit_depth == 16 ? 16 : 8;
  img.pixels.resize((size_t)r.width * r.height * channels);
  const size_t n = (size_t)r.width * channels;
  for (int y = 0; y < r.height; ++y) {
    float* out = img.pixels.data() + y * n;
    if (bit_depth == 16) {
      const unsigned char* row = pixels + (size_t)(r.top + y) * rowbytes + (size_t)r.left * channels * 2;
      for (size_t i = 0; i < n; ++i) out[i] = (float)((row[2 * i] << 8) | row[2 * i + 1]) / 65535.0f;
    } else {
      const unsigned char* row = pixels + (size_t)(r.top + y) * rowbytes + (size_t)r.left * channels;
      for (size_t i = 0; i < n; ++i) out[i] = kU8.v[row[i]];
    }
  }
  return img;
}

void check_pixel_limit(const std::string& name, int64_t width, int64_t height, int64_t limit) {
  SR_CHECK(width > 0 && height > 0, name, ": image size ", width, "x", height, " is not positive");
  // Headers may claim up to 2^32 - 1 per side, so width * height can overflow int64: compare by division.
  if (width <= limit / height) return;
  const std::string pixels =
      width <= INT64_MAX / height ? std::to_string(width * height) : std::string("more than 2^63");
  fail(name, ": image is ", width, "x", height, " = ", pixels, " pixels, over the limit of ", limit,
       " (refused before decoding; a decompression bomb or a huge file: raise max_pixels if it is genuine)");
}

namespace {

void check_finite_sample(const Image& img, size_t i, const std::string& name) {
  const size_t px = i / img.channels;
  fail(name, ": cannot encode a non-finite sample (", img.pixels[i], ") at x=", px % img.width, " y=", px / img.width,
       " channel ", i % img.channels);
}

}  // namespace

std::vector<uint8_t> quantize_image_u8(const Image& img, const std::string& name) {
  std::vector<uint8_t> out(img.pixels.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(img.pixels[i])) check_finite_sample(img, i, name);
    out[i] = quantize_u8(img.pixels[i]);
  }
  return out;
}

std::vector<uint16_t> quantize_image_u16(const Image& img, const std::string& name) {
  std::vector<uint16_t> out(img.pixels.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(img.pixels[i])) check_finite_sample(img, i, name);
    out[i] = quantize_u16(img.pixels[i]);
  }
  return out;
}

}  // namespace sr::data
