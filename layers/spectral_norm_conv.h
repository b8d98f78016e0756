// A Conv2d wrapped in spectral normalisation exactly as torch.nn.utils.spectral_norm
// leaves it: parameter `weight_orig` (and `bias`), buffers `weight_u` (out) and
// `weight_v` (in*k*k), both drawn from N(0, 1) and L2-normalised at construction.
// Each forward computes weight = weight_orig / sigma with sigma = u . (W v); in training
// mode one power iteration first updates u and v in place (every forward, also when the
// weights are frozen), in eval mode the stored u, v are used as they are.
#pragma once
#include "layers/layer_options.h"
#include "layers/module.h"

namespace sr {

class SpectralNormConv2d : public Module {
 public:
  SpectralNormConv2d(int64_t in_ch, int64_t out_ch, int kernel, int stride = 1, int padding = 0,
                     bool bias = true, int power_iterations = 1, double eps = 1e-12,
                     const LayerOptions& options = {});
  std::string type_name() const override { return "SpectralNormConv2d"; }
  Tensor forward(const Tensor& x) override;
  // leaky_relu(conv(x) + bias, slope) with the fused epilogue.
  Tensor forward_leaky_relu(const Tensor& x, double slope);
  // The normalised weight W / sigma (runs the power iteration in training mode).
  Tensor normalized_weight();

  Tensor bias;         // (out) or undefined
  Tensor weight_orig;  // (out, in, k, k)
  Tensor weight_u;     // (out)
  Tensor weight_v;     // (in * k * k)
  int stride, padding, power_iterations;
  double eps;
  LayerOptions options;  // the kernel variants its ops run
};

}  // namespace sr
