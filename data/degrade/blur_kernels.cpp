// Blur kernel generators (see blur_kernels.h for the grid and the formulas).
#include "data/degrade/blur_kernels.h"

#include <cmath>
#include <numbers>

#include "engine/error.h"

namespace sr::data::degrade {

namespace {

constexpr const char* kNames[] = {"iso", "aniso", "generalized_iso", "generalized_aniso",
                                  "plateau_iso", "plateau_aniso", "sinc"};

void check_size(int k, const char* what) {
  SR_CHECK(k >= 1 && k % 2 == 1 && k <= kKernelSide, what, ": kernel size must be odd and 1..", kKernelSide,
           ", got ", k);
}

void normalise_sum(std::vector<double>& k) {
  double s = 0;
  for (double v : k) s += v;
  for (double& v : k) v /= s;
}

}  // namespace

KernelType parse_kernel_type(const std::string& name, const std::string& key) {
  for (int i = 0; i < 7; ++i)
    if (name == kNames[i]) return (KernelType)i;
  fail("degrade: '", key, "' has unknown kernel type '", name,
       "' (expected iso, aniso, generalized_iso, generalized_aniso, plateau_iso, plateau_aniso or sinc)");
}

const char* kernel_type_name(KernelType t) { return kNames[(int)t]; }

bool is_isotropic(KernelType t) {
  return t == KernelType::iso || t == KernelType::generalized_iso || t == KernelType::plateau_iso ||
         t == KernelType::sinc;
}

std::vector<double> gaussian_family_kernel(KernelType t, int k, double sigma_x, double sigma_y, double theta,
                                           double beta) {
  check_size(k, "gaussian_family_kernel");
  SR_CHECK(t != KernelType::sinc, "gaussian_family_kernel: sinc is made by sinc_kernel");
  SR_CHECK(sigma_x > 0 && (is_isotropic(t) || sigma_y > 0), "gaussian_family_kernel: sigmas must be positive, got ",
           sigma_x, ", ", sigma_y);
  if (is_isotropic(t)) {
    sigma_y = sigma_x;
    theta = 0;
  }
  const double ct = std::cos(theta), st = std::sin(theta);
  const double c = (k - 1) / 2.0;
  std::vector<double> out((size_t)k * k);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      const double x = j - c, y = i - c;
      // Coordinates in the kernel's own axes (R^T p): Q = a^2/sx^2 + b^2/sy^2.
      const double a = ct * x + st * y, b = -st * x + ct * y;
      const double q = a * a / (sigma_x * sigma_x) + b * b / (sigma_y * sigma_y);
      double v;
      switch (t) {
        case KernelType::iso:
        case KernelType::aniso: v = std::exp(-0.5 * q); break;
        case KernelType::generalized_iso:
        case KernelType::generalized_aniso: v = std::exp(-0.5 * std::pow(q, beta)); break;
        default: v = 1.0 / (1.0 + std::pow(q, beta)); break;  // plateau
      }
      out[(size_t)i * k + j] = v;
    }
  normalise_sum(out);
  return out;
}

std::vector<double> sinc_kernel(int k, double omega, bool normalise) {
  check_size(k, "sinc_kernel");
  SR_CHECK(omega > 0 && omega <= std::numbers::pi, "sinc_kernel: cut-off must be in (0, pi], got ", omega);
  const double c = (k - 1) / 2.0;
  std::vector<double> out((size_t)k * k);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) {
      const double r = std::hypot(i - c, j - c);
      out[(size_t)i * k + j] = r == 0 ? omega * omega / (4 * std::numbers::pi)
                                      : omega * std::cyl_bessel_j(1.0, omega * r) / (2 * std::numbers::pi * r);
    }
  if (normalise) normalise_sum(out);
  return out;
}

Kernel21 pad_kernel(const std::vector<double>& kernel, int k) {
  check_size(k, "pad_kernel");
  SR_CHECK(kernel.size() == (size_t)k * k, "pad_kernel: ", kernel.size(), " values for a ", k, "x", k, " kernel");
  Kernel21 out{};
  const int off = (kKernelSide - k) / 2;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) out[(size_t)(i + off) * kKernelSide + (j + off)] = (float)kernel[(size_t)i * k + j];
  return out;
}

Kernel21 pulse_kernel() {
  Kernel21 out{};
  out[(kKernelSide / 2) * kKernelSide + kKernelSide / 2] = 1.0f;
  return out;
}

}  // namespace sr::data::degrade
