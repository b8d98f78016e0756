// The parity suites' one comparison (cuda/ and simt/: tests/test_cuda_parity.cpp,
// tests/test_simt_*.cpp): tolerances by precision, fresh random inputs, and compare(),
// which reports the worst element and its share of the budget.
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace sr::parity {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// |got - ref| <= abs * max|ref| + rel * |ref|, element by element.
struct Tol {
  double abs, rel;
  const char* name;
};
constexpr Tol kExact{0, 0, "exact"};
constexpr Tol kFp32{1e-5, 1e-5, "fp32"};
constexpr Tol kTf32{2e-3, 2e-3, "tf32"};
constexpr Tol kBf16{1.5e-2, 1e-2, "bf16"};
// fp16 keeps 11 significant bits, as tf32 (its exponent range is not reached by the inputs).
constexpr Tol kFp16{2e-3, 2e-3, "fp16"};
constexpr Tol kFp64Sum{1e-12, 1e-12, "fp64 sum"};

inline std::vector<float> random_floats(std::mt19937_64& rng, int64_t n) {
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// The elements at which two results differ bit for bit (-1 when their lengths differ): a
// failure reports a count, not two whole vectors.
template <class T>
int64_t count_differing(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return -1;
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return n;
}

// bf16 round to nearest even of a finite float, written from the format (not the kernels' code).
inline uint16_t bf16_rne(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// The share of its budget one element uses: 0 when equal, > 1 when out of tolerance,
// infinite when got is not finite (poison, overflow) unless ref is the same non-finite value
// (a reference that is NaN or infinite on purpose: NaN propagation, max of -inf padding).
inline double budget_share(double got, double ref, double maxref, Tol tol) {
  if (!std::isfinite(ref)) return (std::isnan(ref) ? std::isnan(got) : got == ref) ? 0.0 : INFINITY;
  if (!std::isfinite(got)) return INFINITY;
  const double err = std::fabs(got - ref);
  const double budget = tol.abs * maxref + tol.rel * std::fabs(ref);
  if (budget > 0) return err / budget;
  return err > 0 ? INFINITY : 0.0;
}

// got (from `device`) vs the CPU reference, element by element; prints the worst element
// and returns whether all are within tol.
template <class T>
bool compare(const std::string& what, const std::vector<T>& got_in, const std::vector<double>& ref, Tol tol,
             const std::string& device = "simt") {
  const std::vector<double> got(got_in.begin(), got_in.end());
  REQUIRE(got.size() == ref.size());
  double maxref = 0;
  for (double r : ref)
    if (std::isfinite(r)) maxref = std::max(maxref, std::fabs(r));
  double worst = -1;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double share = budget_share(got[i], ref[i], maxref, tol);
    if (share > worst) {
      worst = share;
      at = i;
    }
  }
  if (got.empty()) return true;
  INFO(what << " [" << tol.name << "]: worst element " << at << " of " << got.size() << ": " << device << " "
            << got[at] << ", cpu " << ref[at] << ", " << worst * 100 << "% of its budget (max |ref| " << maxref
            << ")");
  CHECK(worst <= 1.0);
  return worst <= 1.0;
}

}  // namespace sr::parity
