// The random convolution cases of the CPU reduced-precision conv suites
// (tests/test_conv_bf16.cpp, tests/test_conv_precision.cpp): a shape with an optional
// channel view of x, its random draw, and the budget check of a result against a float64
// value with a per-element bound (the worst element reported).
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sr::test {

inline std::vector<float> random_floats(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

struct CpuConvCase {
  int64_t N, C, H, W, K, R, S;
  int stride, pad;
  int64_t extra = 0;  // x is a view of C channels inside C + extra (starting at channel 1)
};

inline std::string describe(const CpuConvCase& c) {
  std::ostringstream o;
  o << "N" << c.N << " C" << c.C << " " << c.H << "x" << c.W << " -> K" << c.K << " " << c.R << "x" << c.S
    << " stride " << c.stride << " pad " << c.pad << " extra " << c.extra;
  return o.str();
}

// The ranges a suite draws from: channels 1..max_channels, square filters of 1, 3, ...,
// 2 * filter_sizes - 1 taps, images up to max_h x max_w (at least the filter).
struct CpuConvLimits {
  int64_t max_channels, filter_sizes, max_h, max_w;
};

inline CpuConvCase random_case(std::mt19937_64& rng, const CpuConvLimits& lim) {
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  CpuConvCase c;
  c.N = pick(1, 3);
  c.C = pick(1, lim.max_channels);
  c.K = pick(1, lim.max_channels);
  c.R = pick(1, lim.filter_sizes) * 2 - 1;
  c.S = c.R;
  c.stride = (int)pick(1, 2);
  c.pad = (int)pick(0, (c.R - 1) / 2);
  c.H = pick(c.R, lim.max_h);
  c.W = pick(c.S, lim.max_w);
  c.extra = pick(0, 1) * 2;
  return c;
}

// The largest |got - want| / bound over the elements (> 1: outside the budget; NaN or inf
// counts as infinite), with the worst element described in `report`. bound[i] > 0.
inline double worst_ratio(const std::vector<float>& got, const std::vector<double>& want,
                          const std::vector<double>& bound, std::string* report) {
  double worst = 0;
  size_t wi = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double r = std::isfinite(got[i]) ? std::fabs(got[i] - want[i]) / bound[i]
                                           : std::numeric_limits<double>::infinity();
    if (r > worst) worst = r, wi = i;
  }
  if (report) {
    std::ostringstream o;
    o << "worst element " << wi << ": got " << got[wi] << " want " << want[wi] << " bound " << bound[wi]
      << " (ratio " << worst << ")";
    *report = o.str();
  }
  return worst;
}

inline void expect_within(const char* what, const std::vector<float>& got, const std::vector<double>& want,
                          const std::vector<double>& bound) {
  REQUIRE(got.size() == want.size());
  std::string report;
  const double r = worst_ratio(got, want, bound, &report);
  INFO(what << ": " << report);
  CHECK(r <= 1.0);
}

}  // namespace sr::test
