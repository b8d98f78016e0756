// degrade/: the blur kernels of Real-ESRGAN's degradation model against the properties and
// golden values of the spec (/work/shared/reference/realesrgan-degradations.md §13 K1-K7).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <numbers>

#include "data/degrade/blur_kernels.h"
#include "data/degrade/kernel_sampling.h"

using namespace sr::data::degrade;
using Catch::Detail::Approx;

namespace {

constexpr double kPi = std::numbers::pi;
constexpr int S = kKernelSide;

double sum(const Kernel21& k) {
  double s = 0;
  for (float v : k) s += v;
  return s;
}

// Row `row` of a k x k kernel, first half plus centre.
void require_row(const std::vector<double>& k, int size, int row, std::vector<double> expected) {
  for (size_t j = 0; j < expected.size(); ++j) {
    INFO("column " << j);
    REQUIRE(k[(size_t)row * size + j] == Approx(expected[j]).margin(2e-6));
    REQUIRE(k[(size_t)row * size + (size - 1 - j)] == Approx(expected[j]).margin(2e-6));  // mirrored
  }
}

// |H(nu)| along the horizontal axis of the 2-D DFT of a 21 x 21 kernel.
double response(const Kernel21& k, double nu) {
  double re = 0, im = 0;
  for (int i = 0; i < S; ++i)
    for (int j = 0; j < S; ++j) {
      re += k[i * S + j] * std::cos(nu * (j - 10));
      im -= k[i * S + j] * std::sin(nu * (j - 10));
    }
  return std::hypot(re, im);
}

}  // namespace

TEST_CASE("degrade/kernels_sum_to_one_with_centred_support") {
  // K1: every sampled kernel sums to 1, is 21 x 21 and zero outside its centred k x k.
  KernelOptions opt;
  opt.sinc_prob = 0.3;
  Stream rng(7, 1);
  for (int n = 0; n < 400; ++n) {
    const SampledKernel k = n % 3 == 2 ? sample_final_sinc(0.8, rng) : sample_blur_kernel(opt, rng);
    INFO("draw " << n << " type " << kernel_type_name(k.type) << " size " << k.size);
    REQUIRE(sum(k.weights) == Approx(1.0).margin(2e-6));
    if (k.pulse) continue;
    REQUIRE((k.size >= 7 && k.size <= 21 && k.size % 2 == 1));
    const int off = (S - k.size) / 2;
    for (int i = 0; i < S; ++i)
      for (int j = 0; j < S; ++j) {
        const bool inside = i >= off && i < S - off && j >= off && j < S - off;
        if (!inside) REQUIRE(k.weights[i * S + j] == 0.0f);
      }
  }
  // Float64 before the cast: |sum - 1| < 1e-6 for every type.
  for (KernelType t : {KernelType::iso, KernelType::aniso, KernelType::generalized_aniso, KernelType::plateau_aniso}) {
    double s = 0;
    for (double v : gaussian_family_kernel(t, 15, 2.3, 0.7, 0.4, 1.7)) s += v;
    REQUIRE(std::fabs(s - 1) < 1e-12);
  }
}

TEST_CASE("degrade/kernel_symmetries") {
  // K2: isotropic types and sinc are invariant under transpose and both flips; anisotropic
  // ones are point-symmetric but (for theta off the axes) not transpose-symmetric.
  auto check = [](const std::vector<double>& k, int n, bool iso) {
    bool transpose_equal = true;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const double v = k[i * n + j];
        REQUIRE(v == Approx(k[(n - 1 - i) * n + (n - 1 - j)]).margin(1e-15));  // point symmetry
        if (iso) {
          REQUIRE(v == Approx(k[j * n + i]).margin(1e-15));
          REQUIRE(v == Approx(k[i * n + (n - 1 - j)]).margin(1e-15));
          REQUIRE(v == Approx(k[(n - 1 - i) * n + j]).margin(1e-15));
        }
        transpose_equal = transpose_equal && std::fabs(v - k[j * n + i]) < 1e-9;
      }
    if (!iso) REQUIRE_FALSE(transpose_equal);
  };
  for (KernelType t : {KernelType::iso, KernelType::generalized_iso, KernelType::plateau_iso})
    check(gaussian_family_kernel(t, 13, 1.7, 0, 0, 0.8), 13, true);
  check(sinc_kernel(17, 1.1), 17, true);
  for (KernelType t : {KernelType::aniso, KernelType::generalized_aniso, KernelType::plateau_aniso})
    check(gaussian_family_kernel(t, 13, 2.5, 0.6, 0.3, 1.4), 13, false);
}

TEST_CASE("degrade/kernel_golden_values") {
  // K3: k = 7, sx = 2, sy = 0.5, theta = 0.
  const auto a = gaussian_family_kernel(KernelType::aniso, 7, 2, 0.5, 0, 1);
  require_row(a, 7, 3, {0.055185, 0.103100, 0.150009, 0.169983});
  const double column[4] = {0, 0.000057, 0.023005, 0.169983};
  for (int i = 0; i < 4; ++i) REQUIRE(a[i * 7 + 3] == Approx(column[i]).margin(2e-6));
  // theta = pi/4: the sx axis runs top-left to bottom-right.
  const auto d = gaussian_family_kernel(KernelType::aniso, 7, 2, 0.5, kPi / 4, 1);
  REQUIRE(d[1 * 7 + 1] > 10 * d[1 * 7 + 5]);
  REQUIRE(d[5 * 7 + 5] == Approx(d[1 * 7 + 1]));
  // K4: centre rows at k = 7, sigma = 1.
  require_row(gaussian_family_kernel(KernelType::iso, 7, 1, 0, 0, 1), 7, 3, {0.001769, 0.021551, 0.096585, 0.159241});
  require_row(gaussian_family_kernel(KernelType::generalized_iso, 7, 1, 0, 0, 0.5), 7, 3,
              {0.015082, 0.024866, 0.040997, 0.067593});
  require_row(gaussian_family_kernel(KernelType::plateau_iso, 7, 1, 0, 0, 1), 7, 3,
              {0.011337, 0.022675, 0.056687, 0.113374});
  require_row(sinc_kernel(7, kPi / 3), 7, 3, {0.011530, 0.034569, 0.055302, 0.063635});
}

TEST_CASE("degrade/kernel_level_set") {
  // K5: at Q = 1 (offset (sigma, 0), integer sigma) K / K_centre is e^-1/2 for the Gaussian
  // and generalized shapes (any beta) and 1/2 for the plateau (any beta).
  for (double beta : {0.5, 1.0, 2.7}) {
    INFO("beta " << beta);
    for (int sigma : {1, 2, 3}) {
      const int k = 13, c = 6;
      const auto g = gaussian_family_kernel(KernelType::generalized_iso, k, sigma, 0, 0, beta);
      REQUIRE(g[c * k + c + sigma] / g[c * k + c] == Approx(std::exp(-0.5)));
      const auto p = gaussian_family_kernel(KernelType::plateau_iso, k, sigma, 0, 0, beta);
      REQUIRE(p[c * k + c + sigma] / p[c * k + c] == Approx(0.5));
    }
  }
}

TEST_CASE("degrade/sinc_raw_sums_and_cutoff") {
  // K6: truncation sums, and the normalised k = 21, omega = pi/3 response.
  auto raw = [](int k, double w) {
    double s = 0;
    for (double v : sinc_kernel(k, w, false)) s += v;
    return s;
  };
  REQUIRE(raw(21, kPi / 5) == Approx(0.7818).margin(1e-4));
  REQUIRE(raw(13, kPi / 3) == Approx(0.7992).margin(1e-4));
  REQUIRE(raw(7, kPi / 3) == Approx(1.3714).margin(1e-4));
  REQUIRE(raw(21, kPi) == Approx(0.9953).margin(1e-4));
  const Kernel21 k = pad_kernel(sinc_kernel(21, kPi / 3), 21);
  const double w = kPi / 3;
  REQUIRE(response(k, 0) == Approx(1).margin(1e-6));
  // The spec gives |H(omega)| ~ 0.49 (read off a sampled DFT); the continuous response is 0.513.
  REQUIRE(response(k, w) == Approx(0.50).margin(0.03));
  REQUIRE(response(k, 1.5 * w) == Approx(0.04).margin(0.02));
  // omega = pi is close to an all-pass filter.
  const Kernel21 all = pad_kernel(sinc_kernel(21, kPi), 21);
  REQUIRE(response(all, 0.5 * kPi) == Approx(1).margin(0.05));
}

TEST_CASE("degrade/kernel_sampler_frequencies") {
  // K7 and §2.5: sizes uniform, types by kernel_prob, sinc cut-offs, beta branches.
  const KernelOptions opt;  // the official values
  Stream rng(11, 3);
  const int n = 20000;
  std::map<int, int> sizes;
  std::map<KernelType, int> types;
  int plateau = 0, plateau_beta1 = 0, generalized = 0, generalized_below1 = 0;
  for (int i = 0; i < n; ++i) {
    const SampledKernel k = sample_blur_kernel(opt, rng);
    ++sizes[k.size];
    ++types[k.type];
    if (k.type == KernelType::sinc) REQUIRE(k.omega >= (k.size < 13 ? kPi / 3 : kPi / 5));
    if (k.type == KernelType::plateau_iso || k.type == KernelType::plateau_aniso) {
      ++plateau;
      plateau_beta1 += k.beta == 1.0;
    }
    if (k.type == KernelType::generalized_iso || k.type == KernelType::generalized_aniso) {
      ++generalized;
      generalized_below1 += k.beta < 1.0;
    }
  }
  REQUIRE(sizes.size() == 8);
  for (auto [size, count] : sizes) REQUIRE((double)count / n == Approx(1.0 / 8).margin(0.012));
  const std::map<KernelType, double> expect{{KernelType::sinc, 0.10},         {KernelType::iso, 0.405},
                                            {KernelType::aniso, 0.225},       {KernelType::generalized_iso, 0.108},
                                            {KernelType::generalized_aniso, 0.027}, {KernelType::plateau_iso, 0.108},
                                            {KernelType::plateau_aniso, 0.027}};
  for (auto [t, p] : expect) {
    INFO(kernel_type_name(t));
    REQUIRE((double)types[t] / n == Approx(p).margin(0.012));
  }
  REQUIRE((double)plateau_beta1 / plateau == Approx(0.5).margin(0.05));
  REQUIRE((double)generalized_below1 / generalized == Approx(0.5).margin(0.05));
  int pulses = 0;
  for (int i = 0; i < 5000; ++i) pulses += sample_final_sinc(0.8, rng).pulse;
  REQUIRE(pulses / 5000.0 == Approx(0.2).margin(0.02));
}
