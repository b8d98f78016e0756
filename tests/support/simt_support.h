// Helpers of the simt/ tests: device buffers of the SIMT interpreter (guarded and
// NaN-poisoned, kernels/simt/device.h), random inputs, and the parity suite's comparison
// (worst element, its budget share; non-finite values always fail).
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/simt/device.h"

namespace sr::simt_test {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Tol {
  double abs, rel;
  const char* name;
};
constexpr Tol kExact{0, 0, "exact"};
constexpr Tol kFp32{1e-5, 1e-5, "fp32"};
constexpr Tol kTf32{2e-3, 2e-3, "tf32"};
constexpr Tol kBf16{1.5e-2, 1e-2, "bf16"};
constexpr Tol kFp64Sum{1e-12, 1e-12, "fp64 sum"};

// n elements of T in the interpreter's device memory (poisoned unless given values).
template <class T>
struct DevT {
  T* p = nullptr;
  int64_t n = 0;
  explicit DevT(int64_t count) : p(static_cast<T*>(::simt::device_alloc(count * sizeof(T)))), n(count) {}
  explicit DevT(const std::vector<T>& v) : DevT((int64_t)v.size()) {
    if (!v.empty()) std::memcpy(p, v.data(), v.size() * sizeof(T));
  }
  ~DevT() { ::simt::device_free(p); }
  DevT(const DevT&) = delete;
  DevT& operator=(const DevT&) = delete;
  std::vector<T> get() const { return std::vector<T>(p, p + n); }
};
using Dev = DevT<float>;

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

// got vs ref elementwise within |err| <= abs * max|ref| + rel * |ref|; prints the worst.
template <class T>
bool compare(const std::string& what, const std::vector<T>& got_in, const std::vector<double>& ref, Tol tol) {
  const std::vector<double> got(got_in.begin(), got_in.end());
  REQUIRE(got.size() == ref.size());
  double maxref = 0;
  for (double r : ref) maxref = std::max(maxref, std::fabs(r));
  double worst = -1;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - ref[i]);
    const double budget = tol.abs * maxref + tol.rel * std::fabs(ref[i]);
    double ratio;
    if (std::isnan(ref[i]))
      ratio = std::isnan(got[i]) ? 0.0 : INFINITY;
    else if (!std::isfinite(got[i]))
      ratio = INFINITY;
    else if (budget > 0)
      ratio = err / budget;
    else
      ratio = err > 0 ? INFINITY : 0.0;
    if (ratio > worst) {
      worst = ratio;
      at = i;
    }
  }
  if (got.empty()) return true;
  INFO(what << " [" << tol.name << "]: worst element " << at << " of " << got.size() << ": simt " << got[at]
            << ", cpu " << ref[at] << ", " << worst * 100 << "% of its budget (max |ref| " << maxref << ")");
  CHECK(worst <= 1.0);
  return worst <= 1.0;
}

}  // namespace sr::simt_test
