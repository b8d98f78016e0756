// The conversions between interleaved images and the planar float32 tensors
// (1, 3, H, W) the networks consume (or (1, 1, H, W) for a `color: y` dataset's Y images);
// alpha travels as its own (1, 1, H, W) tensor.
#include "data/image.h"

#include <algorithm>

#include "engine/error.h"

namespace sr::data {

Tensor image_to_tensor(const Image& img) {
  SR_CHECK(!img.empty(), "image_to_tensor: empty image");
  const int64_t h = img.height, w = img.width, plane = h * w;
  Tensor t = Tensor::empty({1, 3, h, w});
  float* out = t.data<float>();
  const int c = img.channels;
  const float* in = img.pixels.data();
  for (int64_t i = 0; i < plane; ++i) {
    const float* px = in + i * c;
    if (c <= 2) {
      out[i] = out[plane + i] = out[2 * plane + i] = px[0];
    } else {
      out[i] = px[0];
      out[plane + i] = px[1];
      out[2 * plane + i] = px[2];
    }
  }
  return t;
}

Tensor gray_to_tensor(const Image& img) {
  SR_CHECK(!img.empty(), "gray_to_tensor: empty image");
  SR_CHECK(img.channels == 1, "gray_to_tensor: expected a one-channel image, got ", img.channels, " channels");
  Tensor t = Tensor::empty({1, 1, img.height, img.width});
  std::copy(img.pixels.begin(), img.pixels.end(), t.data<float>());
  return t;
}

Tensor alpha_to_tensor(const Image& img) {
  if (!img.has_alpha()) return Tensor();
  const int64_t plane = (int64_t)img.height * img.width;
  Tensor t = Tensor::empty({1, 1, img.height, img.width});
  float* out = t.data<float>();
  const int c = img.channels;
  for (int64_t i = 0; i < plane; ++i) out[i] = img.pixels[i * c + (c - 1)];
  return t;
}

namespace {

// A contiguous float32 host copy of t viewed as (C, H, W).
Tensor host_planes(const Tensor& t, int64_t channels, const char* what) {
  SR_CHECK(t.defined(), "tensor_to_image: ", what, " tensor is undefined");
  const bool ok = (t.dim() == 4 && t.size(0) == 1 && t.size(1) == channels) ||
                  (t.dim() == 3 && t.size(0) == channels);
  SR_CHECK(ok, "tensor_to_image: ", what, " must be (1, ", channels, ", H, W) or (", channels,
           ", H, W), got ", t.str());
  Tensor h = t.to(Device::cpu()).to(DType::f32).contiguous();
  return h.reshape({channels, h.size(h.dim() - 2), h.size(h.dim() - 1)});
}

}  // namespace

Image tensor_to_image(const Tensor& rgb, const Tensor& alpha, int bit_depth) {
  // Three planes make RGB; one plane (a network trained on a `color: y` dataset) a gray image,
  // as BasicSR's tensor2img squeezes a one-channel result.
  SR_CHECK(rgb.defined(), "tensor_to_image: rgb tensor is undefined");
  const int64_t planes = rgb.dim() == 4 ? rgb.size(1) : rgb.dim() == 3 ? rgb.size(0) : 0;
  const Tensor c = host_planes(rgb, planes == 1 ? 1 : 3, "rgb");
  const bool gray = planes == 1;
  const int h = (int)c.size(1), w = (int)c.size(2);
  Tensor a;
  if (alpha.defined()) {
    a = host_planes(alpha, 1, "alpha");
    SR_CHECK(a.size(1) == h && a.size(2) == w, "tensor_to_image: alpha is ", a.size(2), "x",
             a.size(1), " but the image is ", w, "x", h);
  }
  const int colour = gray ? 1 : 3;
  Image img(w, h, colour + (a.defined() ? 1 : 0), bit_depth);
  const float* src = c.data<float>();
  const float* src_a = a.defined() ? a.data<float>() : nullptr;
  const int64_t plane = (int64_t)h * w;
  for (int64_t i = 0; i < plane; ++i) {
    float* px = img.pixels.data() + i * img.channels;
    for (int k = 0; k < colour; ++k) px[k] = src[k * plane + i];
    if (src_a) px[colour] = src_a[i];
  }
  return img;
}

}  // namespace sr::data
