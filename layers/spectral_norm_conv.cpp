// SpectralNormConv2d (see spectral_norm_conv.h).
#include "layers/spectral_norm_conv.h"

#include <cmath>

#include "engine/ops.h"
#include "engine/random.h"
#include "layers/conv2d.h"

namespace sr {

namespace {
// x / max(|x|, eps), torch.nn.functional.normalize on a vector.
void normalize_(Tensor& x, double eps) {
  std::vector<double> v = x.to_vector();
  double n = 0;
  for (double e : v) n += e * e;
  n = std::max(std::sqrt(n), eps);
  for (double& e : v) e /= n;
  x.copy_(Tensor::from_vector(v, x.shape(), x.dtype()));
}
}  // namespace

SpectralNormConv2d::SpectralNormConv2d(int64_t in_ch, int64_t out_ch, int kernel, int stride_, int padding_,
                                       bool with_bias, int power_iterations_, double eps_,
                                       const LayerOptions& options_)
    : stride(stride_), padding(padding_), power_iterations(power_iterations_), eps(eps_), options(options_) {
  SR_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0, "SpectralNormConv2d: invalid sizes in ", in_ch,
           " out ", out_ch, " kernel ", kernel);
  Tensor w = Tensor::empty({out_ch, in_ch, kernel, kernel});
  Tensor b = with_bias ? Tensor::empty({out_ch}) : Tensor();
  default_init_(w, b);
  // torch registers spectral norm after the conv exists: bias keeps its slot, the weight
  // becomes weight_orig, then the u and v buffers follow.
  if (with_bias) bias = register_parameter("bias", b);
  weight_orig = register_parameter("weight_orig", w);
  Tensor u = Tensor::empty({out_ch}), v = Tensor::empty({in_ch * kernel * kernel});
  normal_(u, 0.0, 1.0);
  normal_(v, 0.0, 1.0);
  normalize_(u, eps);
  normalize_(v, eps);
  weight_u = register_buffer("weight_u", u);
  weight_v = register_buffer("weight_v", v);
}

Tensor SpectralNormConv2d::normalized_weight() {
  return spectral_norm(weight_orig, weight_u, weight_v, is_training(), power_iterations, eps);
}

Tensor SpectralNormConv2d::forward(const Tensor& x) {
  return conv2d(x, normalized_weight(), bias, stride, padding, options.kernels);
}

Tensor SpectralNormConv2d::forward_leaky_relu(const Tensor& x, double slope) {
  return bias_leaky_relu(conv2d(x, normalized_weight(), Tensor(), stride, padding, options.kernels), bias, slope);
}

}  // namespace sr
