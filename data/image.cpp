// Image helpers: construction, quantisation and channel conversions. Plain C++ with
// no engine dependency, so the decoders (and their fuzz target) stand alone; the
// tensor conversions live in image_tensor.cpp.
#include "data/image.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace sr::data {

Image::Image(int w, int h, int c, int depth) : width(w), height(h), channels(c), bit_depth(depth) {
  SR_CHECK(w > 0 && h > 0, "Image: size must be positive, got ", w, "x", h);
  SR_CHECK(c >= 1 && c <= 4, "Image: channels must be 1..4, got ", c);
  SR_CHECK(depth == 8 || depth == 16, "Image: bit depth must be 8 or 16, got ", depth);
  pixels.assign((size_t)w * h * c, 0.0f);
}

std::string Image::size_str() const { return std::to_string(width) + "x" + std::to_string(height); }

// std::nearbyint rounds half to even under the default rounding mode, like np.round.
uint8_t quantize_u8(float v) {
  const float c = std::min(std::max(v, 0.0f), 1.0f);
  return (uint8_t)std::nearbyint(c * 255.0f);
}

uint16_t quantize_u16(float v) {
  const float c = std::min(std::max(v, 0.0f), 1.0f);
  return (uint16_t)std::nearbyint(c * 65535.0f);
}

Image convert_channels(const Image& img, int channels) {
  SR_CHECK(channels >= 1 && channels <= 4, "convert_channels: channels must be 1..4, got ", channels);
  if (img.channels == channels) return img;
  Image out(img.width, img.height, channels, img.bit_depth);
  const bool in_alpha = img.has_alpha(), out_alpha = out.has_alpha();
  const int64_t n = img.pixel_count();
  for (int64_t i = 0; i < n; ++i) {
    const float* p = img.pixels.data() + i * img.channels;
    float* q = out.pixels.data() + i * channels;
    if (img.color_channels() == out.color_channels()) {
      for (int k = 0; k < out.color_channels(); ++k) q[k] = p[k];
    } else if (out.color_channels() == 3) {
      q[0] = q[1] = q[2] = p[0];
    } else {
      q[0] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
    if (out_alpha) q[channels - 1] = in_alpha ? p[img.channels - 1] : 1.0f;
  }
  return out;
}

}  // namespace sr::data
