// Planes: a planar float image (C, H, W) in [0, 1], the layout every degradation step of
// the Real-ESRGAN pipeline works on (RGB, like the GPU side of the original; see
// docs/DEGRADATIONS.md). Conversions to and from the interleaved data::Image.
#pragma once
#include <vector>

#include "data/image.h"

namespace sr::data::degrade {

struct Planes {
  int channels = 0, height = 0, width = 0;
  std::vector<float> v;  // channels * height * width, plane after plane

  Planes() = default;
  Planes(int channels, int height, int width, float fill = 0.0f)
      : channels(channels), height(height), width(width), v((size_t)channels * height * width, fill) {}
  size_t plane_size() const { return (size_t)height * width; }
  float* plane(int c) { return v.data() + c * plane_size(); }
  const float* plane(int c) const { return v.data() + c * plane_size(); }
  float& at(int c, int y, int x) { return v[c * plane_size() + (size_t)y * width + x]; }
  float at(int c, int y, int x) const { return v[c * plane_size() + (size_t)y * width + x]; }
};

// RGB planes of an image: gray replicated, alpha dropped.
Planes planes_from_image(const Image& img);
// An 8-bit RGB image holding the planes' values as they are (encoders clamp and round).
Image image_from_planes(const Planes& p);
// In place: every value into [0, 1].
void clamp01(Planes& p);
// In place: clamp(round(255 x), 0, 255) / 255 with round half to even (PyTorch's round),
// the pipeline's last step.
void quantize_u8(Planes& p);

}  // namespace sr::data::degrade
