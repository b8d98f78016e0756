// Per-sample kernel draws of RealESRGANDataset (Real-ESRGAN Sec. 3.2): kernel1, kernel2
// and the final sinc kernel, each with its own size k from {7, 9, ..., 21}.
//
// Draw order per blur kernel (one Stream): k; u < sinc_prob selects a sinc kernel with
// omega ~ U(pi/3, pi) when k < 13, else U(pi/5, pi) (small kernels cannot hold a low
// cut-off); otherwise the type by kernel_prob, sigma_x ~ U(blur_sigma), and for the
// anisotropic types sigma_y ~ U(blur_sigma), theta ~ U(-pi, pi); for generalized and
// plateau types u ~ U(0, 1) then beta ~ U(lo, 1) if u < 0.5 else U(1, hi).
// Final sinc: u < final_sinc_prob selects k and omega ~ U(pi/3, pi), else the pulse.
#pragma once
#include <nlohmann/json.hpp>

#include "data/degrade/blur_kernels.h"
#include "data/degrade/options.h"
#include "data/degrade/random_stream.h"

namespace sr::data::degrade {

struct SampledKernel {
  KernelType type = KernelType::iso;
  bool pulse = false;  // the identity (final sinc not drawn)
  int size = 21;
  double sigma_x = 0, sigma_y = 0, theta = 0, beta = 1, omega = 0;
  Kernel21 weights{};
};

SampledKernel sample_blur_kernel(const KernelOptions& o, Stream& rng);
SampledKernel sample_final_sinc(double final_sinc_prob, Stream& rng);

// The drawn parameters (not the weights) for --dump-params.
nlohmann::json kernel_params_json(const SampledKernel& k);

}  // namespace sr::data::degrade
