// Explicit reflect padding (see padding.h).
#include "infer/padding.h"

#include "engine/error.h"

namespace sr::infer {

Tensor reflect_pad(const Tensor& x, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  SR_CHECK(x.defined() && x.dim() == 4 && x.device().is_cpu() && x.dtype() == DType::f32,
           "reflect_pad: expected a float32 CPU tensor (N, C, H, W), got ", x.defined() ? x.str() : "undefined");
  SR_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0, "reflect_pad: pads must be >= 0, got ", top, ", ",
           bottom, ", ", left, ", ", right);
  const Tensor c = x.contiguous();
  const int64_t planes = c.size(0) * c.size(1), H = c.size(2), W = c.size(3);
  const int64_t oh = H + top + bottom, ow = W + left + right;
  Tensor out = Tensor::empty({c.size(0), c.size(1), oh, ow});
  const float* src = c.data<float>();
  float* dst = out.data<float>();
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < oh; ++y) {
      const float* row = src + (p * H + reflect_index(y - top, H)) * W;
      float* o = dst + (p * oh + y) * ow;
      for (int64_t x2 = 0; x2 < ow; ++x2) o[x2] = row[reflect_index(x2 - left, W)];
    }
  return out;
}

Tensor pad_to_multiple(const Tensor& x, int64_t multiple) {
  SR_CHECK(multiple >= 1, "pad_to_multiple: multiple must be >= 1, got ", multiple);
  const int64_t H = x.size(2), W = x.size(3);
  return reflect_pad(x, 0, round_up(H, multiple) - H, 0, round_up(W, multiple) - W);
}

}  // namespace sr::infer
