// The 8-way flip/rotate ensemble (see tta.h).
#include "infer/tta.h"

#include "engine/error.h"

namespace sr::infer {

namespace {

void check_image(const Tensor& x, const char* what) {
  SR_CHECK(x.defined() && x.dim() == 4 && x.size(0) == 1 && !x.is_cuda() && x.dtype() == DType::f32, what,
           ": expected a float32 CPU tensor (1, C, H, W), got ", x.defined() ? x.str() : std::string("undefined"));
}

// out[c][y][x] = in[c][fy(y)][fx(x)], optionally transposed: one pass, no intermediate copies.
Tensor remap(const Tensor& in, bool flip_w, bool flip_h, bool transpose) {
  const Tensor x = in.contiguous();
  const int64_t C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t OH = transpose ? W : H, OW = transpose ? H : W;
  Tensor out = Tensor::empty({1, C, OH, OW});
  const float* s = x.data<float>();
  float* d = out.data<float>();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        // (oy, ox) of the output is (sy, sx) of the flipped input.
        int64_t sy = transpose ? ox : oy, sx = transpose ? oy : ox;
        if (flip_h) sy = H - 1 - sy;
        if (flip_w) sx = W - 1 - sx;
        d[(c * OH + oy) * OW + ox] = s[(c * H + sy) * W + sx];
      }
  return out;
}

}  // namespace

Tensor dihedral_transform(const Tensor& x, int k) {
  check_image(x, "dihedral_transform");
  SR_CHECK(k >= 0 && k < kDihedralTransforms, "dihedral_transform: k must be 0..7, got ", k);
  return remap(x, k & 1, k & 2, k & 4);
}

Tensor dihedral_inverse(const Tensor& y, int k) {
  check_image(y, "dihedral_inverse");
  SR_CHECK(k >= 0 && k < kDihedralTransforms, "dihedral_inverse: k must be 0..7, got ", k);
  if (!(k & 4)) return remap(y, k & 1, k & 2, false);  // flips are their own inverses
  // Undo the transpose first, then the flips.
  return remap(remap(y, false, false, true), k & 1, k & 2, false);
}

Tensor tta_apply(const Tensor& x, const std::function<Tensor(const Tensor&)>& fn) {
  check_image(x, "tta");
  Tensor sum;
  for (int k = 0; k < kDihedralTransforms; ++k) {
    const Tensor y = dihedral_inverse(fn(dihedral_transform(x, k)).contiguous(), k);
    if (!sum.defined()) {
      sum = y.clone();
      continue;
    }
    SR_CHECK(y.shape() == sum.shape(), "tta: transform ", k, " gave ", y.shape().str(), ", transform 0 gave ",
             sum.shape().str());
    float* s = sum.data<float>();
    const float* p = y.data<float>();
    for (int64_t i = 0; i < sum.numel(); ++i) s[i] += p[i];
  }
  float* s = sum.data<float>();
  for (int64_t i = 0; i < sum.numel(); ++i) s[i] /= kDihedralTransforms;
  return sum;
}

}  // namespace sr::infer
