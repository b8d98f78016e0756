// Conv2d and Linear (see conv2d.h).
#include "layers/conv2d.h"

#include <cmath>

#include "engine/ops.h"
#include "engine/random.h"

namespace sr {

void default_init_(Tensor& weight, Tensor& bias) {
  // kaiming_uniform with a = sqrt(5): gain sqrt(2/(1+5)), bound gain*sqrt(3/fan_in) = 1/sqrt(fan_in).
  kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt((double)compute_fan(weight, FanMode::fan_in));
    uniform_(bias, -bound, bound);
  }
}

Conv2d::Conv2d(int64_t in_ch, int64_t out_ch, int kernel, int stride_, int padding_, bool with_bias,
               const LayerOptions& options_)
    : stride(stride_), padding(padding_), options(options_) {
  SR_CHECK(in_ch > 0 && out_ch > 0 && kernel > 0, "Conv2d: invalid sizes in ", in_ch, " out ", out_ch,
           " kernel ", kernel);
  Tensor w = Tensor::empty({out_ch, in_ch, kernel, kernel});
  Tensor b = with_bias ? Tensor::empty({out_ch}) : Tensor();
  default_init_(w, b);
  weight = register_parameter("weight", w);
  if (with_bias) bias = register_parameter("bias", b);
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, stride, padding, options.kernels, precision);
}

Tensor Conv2d::forward_leaky_relu(const Tensor& x, double slope) {
  return bias_leaky_relu(conv2d(x, weight, Tensor(), stride, padding, options.kernels, precision), bias, slope);
}

Tensor Conv2d::forward_upsample_nearest2x_leaky_relu(const Tensor& x, double slope) {
  SR_CHECK(stride == 1, "Conv2d: forward_upsample_nearest2x_leaky_relu needs stride 1, the layer has stride ", stride);
  return bias_leaky_relu(upsample_nearest2x_conv2d(x, weight, Tensor(), padding, options.kernels, precision), bias,
                         slope);
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, const LayerOptions& options_)
    : options(options_) {
  SR_CHECK(in_features > 0 && out_features > 0, "Linear: invalid sizes in ", in_features, " out ",
           out_features);
  Tensor w = Tensor::empty({out_features, in_features});
  Tensor b = with_bias ? Tensor::empty({out_features}) : Tensor();
  default_init_(w, b);
  weight = register_parameter("weight", w);
  if (with_bias) bias = register_parameter("bias", b);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias, options.kernels); }

}  // namespace sr
