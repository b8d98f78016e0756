// Kernel parameter sampling (see kernel_sampling.h).
#include "data/degrade/kernel_sampling.h"

#include <numbers>

namespace sr::data::degrade {

namespace {

constexpr double kPi = std::numbers::pi;

int draw_size(Stream& rng) { return 2 * rng.randint(3, 10) + 1; }  // {7, 9, ..., 21}, uniform

double draw_beta(const Range& r, Stream& rng) {
  // Half of the draws below 1 (heavier tails / rounder plateau), half above. With
  // betap_range [1, 2] the low branch is U(1, 1): beta is exactly 1 half of the time.
  return rng.uniform01() < 0.5 ? rng.uniform(r[0], 1.0) : rng.uniform(1.0, r[1]);
}

}  // namespace

SampledKernel sample_blur_kernel(const KernelOptions& o, Stream& rng) {
  SampledKernel s;
  s.size = draw_size(rng);
  if (rng.uniform01() < o.sinc_prob) {
    s.type = KernelType::sinc;
    s.omega = s.size < 13 ? rng.uniform(kPi / 3, kPi) : rng.uniform(kPi / 5, kPi);
    s.weights = pad_kernel(sinc_kernel(s.size, s.omega), s.size);
    return s;
  }
  s.type = o.kernel_list[rng.weighted_choice(o.kernel_prob)];
  s.sigma_x = rng.uniform(o.blur_sigma[0], o.blur_sigma[1]);
  s.sigma_y = s.sigma_x;
  if (!is_isotropic(s.type)) {
    s.sigma_y = rng.uniform(o.blur_sigma[0], o.blur_sigma[1]);
    s.theta = rng.uniform(-kPi, kPi);
  }
  if (s.type == KernelType::generalized_iso || s.type == KernelType::generalized_aniso)
    s.beta = draw_beta(o.betag_range, rng);
  else if (s.type == KernelType::plateau_iso || s.type == KernelType::plateau_aniso)
    s.beta = draw_beta(o.betap_range, rng);
  s.weights = pad_kernel(gaussian_family_kernel(s.type, s.size, s.sigma_x, s.sigma_y, s.theta, s.beta), s.size);
  return s;
}

SampledKernel sample_final_sinc(double final_sinc_prob, Stream& rng) {
  SampledKernel s;
  s.type = KernelType::sinc;
  if (rng.uniform01() < final_sinc_prob) {
    s.size = draw_size(rng);
    s.omega = rng.uniform(kPi / 3, kPi);
    s.weights = pad_kernel(sinc_kernel(s.size, s.omega), s.size);
  } else {
    s.pulse = true;
    s.size = 1;
    s.weights = pulse_kernel();
  }
  return s;
}

nlohmann::json kernel_params_json(const SampledKernel& k) {
  nlohmann::json j;
  if (k.pulse) return {{"type", "pulse"}};
  j["type"] = kernel_type_name(k.type);
  j["size"] = k.size;
  if (k.type == KernelType::sinc) {
    j["omega"] = k.omega;
    return j;
  }
  j["sigma_x"] = k.sigma_x;
  if (!is_isotropic(k.type)) {
    j["sigma_y"] = k.sigma_y;
    j["theta"] = k.theta;
  }
  if (k.type != KernelType::iso && k.type != KernelType::aniso) j["beta"] = k.beta;
  return j;
}

}  // namespace sr::data::degrade
