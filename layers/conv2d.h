// Conv2d and Linear with PyTorch's parameter names and default initialisation:
// kaiming_uniform(a = sqrt(5)) on the weight, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// and the bias from the same bound.
#pragma once
#include "kernels/common/precision.h"
#include "layers/layer_options.h"
#include "layers/module.h"

namespace sr {

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_ch, int64_t out_ch, int kernel, int stride = 1, int padding = 0, bool bias = true,
         const LayerOptions& options = {});
  std::string type_name() const override { return "Conv2d"; }
  Tensor forward(const Tensor& x) override;
  // leaky_relu(conv(x) + bias, slope): the bias add and activation run as one fused
  // epilogue (bias_leaky_relu) instead of two passes.
  Tensor forward_leaky_relu(const Tensor& x, double slope);
  // leaky_relu(conv(upsample_nearest(x, 2)) + bias, slope), the upsampling folded into the
  // convolution (the op upsample_nearest2x_conv2d); stride 1 only.
  Tensor forward_upsample_nearest2x_leaky_relu(const Tensor& x, double slope);

  Tensor weight;  // (out, in, k, k)
  Tensor bias;    // (out) or undefined
  int stride, padding;
  LayerOptions options;  // the kernel variants its ops run
  Precision precision = Precision::device_default;  // of the convolution (set_precision, layers/precision.h)
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, const LayerOptions& options = {});
  std::string type_name() const override { return "Linear"; }
  Tensor forward(const Tensor& x) override;  // x (N, in) -> (N, out)

  Tensor weight;  // (out, in)
  Tensor bias;    // (out) or undefined
  LayerOptions options;  // the kernel variants its ops run
};

// PyTorch's reset_parameters for Conv2d / Linear (also used to re-initialise).
void default_init_(Tensor& weight, Tensor& bias);

}  // namespace sr
