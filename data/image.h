// Image: a decoded picture as interleaved float samples in [0, 1] (HWC), plus the
// conversions between it and the engine's RGB float tensors (1, 3, H, W) used for
// training and inference. Alpha never enters a network: it travels separately.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace sr::data {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  int bit_depth = 8;  // 8 or 16: precision of the source file, and of the file written
  std::vector<float> pixels;  // height * width * channels samples, row-major, interleaved

  Image() = default;
  Image(int width, int height, int channels, int bit_depth = 8);

  bool empty() const { return pixels.empty(); }
  bool has_alpha() const { return channels == 2 || channels == 4; }
  int color_channels() const { return channels <= 2 ? 1 : 3; }
  int64_t pixel_count() const { return (int64_t)width * height; }
  float& at(int y, int x, int c) { return pixels[((size_t)y * width + x) * channels + c]; }
  float at(int y, int x, int c) const { return pixels[((size_t)y * width + x) * channels + c]; }
  std::string size_str() const;  // "480x320" (width x height)
};

// Sample quantisation used by every encoder and by the metrics: clamp to [0, 1], scale
// by 255 (65535) in float32 and round half to even, as numpy's round in BasicSR's
// tensor2img. NaN is not quantisable: callers check finiteness first.
uint8_t quantize_u8(float v);
uint16_t quantize_u16(float v);

// RGB planes as a float32 CPU tensor (1, 3, H, W): gray is replicated, alpha dropped.
Tensor image_to_tensor(const Image& img);
// A one-channel image's plane as (1, 1, H, W) float32 (a `color: y` dataset's Y images).
Tensor gray_to_tensor(const Image& img);
// The alpha plane as (1, 1, H, W), or an undefined Tensor when the image has none.
Tensor alpha_to_tensor(const Image& img);
// Builds an RGB (or RGBA when `alpha` is given) image from a (1, 3, H, W) or (3, H, W)
// tensor on any device, or a gray (gray + alpha) one from a (1, 1, H, W) or (1, H, W)
// tensor; values are kept as they are (encoders clamp and round).
Image tensor_to_image(const Tensor& rgb, const Tensor& alpha = Tensor(), int bit_depth = 8);

// Channel conversions: 1/2 -> 3/4 replicates gray; 3/4 -> 1/2 uses BT.601 luma
// (0.299 R + 0.587 G + 0.114 B); alpha is added as 1 or dropped as needed.
Image convert_channels(const Image& img, int channels);

}  // namespace sr::data
