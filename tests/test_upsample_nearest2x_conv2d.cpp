// upsample_nearest2x_conv2d on the CPU: the phase kernels (kernels/cpu/upsample_nearest2x_conv2d.cpp)
// against the composed reference (upsample_nearest(x, 2), then conv2d's im2col kernels in float64)
// on fresh random inputs, odd sizes, padding 0..2 and rectangular filters (phases whose
// sub-filter is narrower than their padding); float32 against the float64 reference; the op
// against the composition of the two ops, forward and backward. The checker is shown to reject
// a fold that divides with C++'s truncating `/` instead of the floor (it reads row 0 where the
// top border's padding is).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"
#include "support/gradcheck.h"

using sr::Conv2dShape;

namespace {

struct Case {
  int64_t N, C, H, W, K, R, S;  // x is (N, C, H, W): the convolution runs at 2H x 2W
  int pad;
};

std::string describe(const Case& c) {
  std::ostringstream o;
  o << "N" << c.N << " C" << c.C << " " << c.H << "x" << c.W << " (x2) -> K" << c.K << " filter " << c.R << "x"
    << c.S << " pad " << c.pad;
  return o.str();
}

template <typename T>
std::vector<T> random_values(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& x : v) x = (T)d(rng);
  return v;
}

// Largest |got - ref| over (1 + max |ref|): 0 for an exact match.
template <typename T>
double scaled_error(const std::vector<T>& got, const std::vector<double>& ref) {
  double scale = 1, worst = 0;
  for (double r : ref) scale = std::max(scale, std::fabs(r));
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs((double)got[i] - ref[i]));
  return std::isnan(worst) ? INFINITY : worst / scale;
}

// The three directions of one case: the phase kernels in T against the float64 reference.
struct Errors {
  double y, dx, dw, db;
};

template <typename T>
Errors run_case(const Case& c, std::mt19937_64& rng) {
  const Conv2dShape s = sr::cpu::make_upsample_nearest2x_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.pad);
  const int64_t nx = c.N * c.C * c.H * c.W, ny = s.N * s.K * s.P * s.Q, nw = c.K * c.C * c.R * c.S;
  const auto xd = random_values<double>(rng, nx), wd = random_values<double>(rng, nw),
             bd = random_values<double>(rng, c.K), dyd = random_values<double>(rng, ny),
             dw0 = random_values<double>(rng, nw), db0 = random_values<double>(rng, c.K);
  std::vector<double> ry(ny), rdx(nx), rdw = dw0, rdb = db0;
  sr::cpu::upsample_nearest2x_conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), ry.data());
  sr::cpu::upsample_nearest2x_conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), rdx.data());
  sr::cpu::upsample_nearest2x_conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), rdw.data(),
                                                                       rdb.data());
  auto cast = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  const auto x = cast(xd), w = cast(wd), b = cast(bd), dy = cast(dyd);
  std::vector<T> y(ny, (T)NAN), dx(nx, (T)NAN), dw = cast(dw0), db = cast(db0);  // poisoned outputs
  sr::cpu::upsample_nearest2x_conv2d_forward<T>(s, x.data(), w.data(), b.data(), y.data());
  sr::cpu::upsample_nearest2x_conv2d_backward_data<T>(s, dy.data(), w.data(), dx.data());
  sr::cpu::upsample_nearest2x_conv2d_backward_weight<T>(s, x.data(), dy.data(), dw.data(), db.data());
  return {scaled_error(y, ry), scaled_error(dx, rdx), scaled_error(dw, rdw), scaled_error(db, rdb)};
}

const std::vector<Case>& fixed_cases() {
  static const std::vector<Case> cases = {
      {1, 3, 5, 7, 4, 3, 3, 1},    // RRDBNet's conv_up, odd sizes
      {2, 11, 3, 4, 13, 3, 3, 0},  // no padding, C not a multiple of 8
      {1, 2, 4, 3, 3, 2, 3, 1},    // rectangular filter
      {2, 3, 3, 3, 2, 5, 5, 2},    // 5x5, padding 2
      {1, 4, 1, 1, 3, 1, 1, 0},    // a single pixel, pointwise
      {5, 2, 2, 3, 2, 3, 3, 1},    // more images than threads
  };
  return cases;
}

}  // namespace

TEST_CASE("upsample_nearest2x_conv2d/cpu_kernel_matches_reference") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::vector<Case> cases = fixed_cases();
  for (int trial = 0; trial < 6; ++trial) {  // random shapes
    Case c{};
    c.N = 1 + rng() % 2;
    c.C = 1 + rng() % 9;
    c.K = 1 + rng() % 9;
    c.R = 1 + rng() % 5;
    c.S = 1 + rng() % 5;
    c.pad = (int)(rng() % std::min(c.R, c.S));
    c.H = (c.R + 1) / 2 + rng() % 6;
    c.W = (c.S + 1) / 2 + rng() % 6;
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    INFO(describe(c));
    const Errors e64 = run_case<double>(c, rng);
    CHECK(e64.y < 1e-12);
    CHECK(e64.dx < 1e-12);
    CHECK(e64.dw < 1e-12);
    CHECK(e64.db < 1e-12);
    const Errors e32 = run_case<float>(c, rng);
    CHECK(e32.y < 1e-5);
    CHECK(e32.dx < 1e-5);
    CHECK(e32.dw < 1e-5);
    CHECK(e32.db < 1e-5);
  }
}

// The same comparison rejects a planted fold bug: the gather divides with `/` (truncation)
// instead of the floor shift, so the upsampled row -1 (padding) reads x's row 0.
TEST_CASE("upsample_nearest2x_conv2d/checker_catches_truncating_fold") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const Case c{1, 2, 3, 4, 3, 3, 3, 1};
  const Conv2dShape s = sr::cpu::make_upsample_nearest2x_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.pad);
  const auto x = random_values<double>(rng, c.N * c.C * c.H * c.W), w = random_values<double>(rng, c.K * c.C * 9);
  std::vector<double> ref(s.N * s.K * s.P * s.Q), planted(ref.size(), 0.0);
  sr::cpu::upsample_nearest2x_conv2d_forward_reference<double>(s, x.data(), w.data(), nullptr, ref.data());
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q)
        for (int64_t ch = 0; ch < s.C; ++ch)
          for (int64_t r = 0; r < 3; ++r)
            for (int64_t t = 0; t < 3; ++t) {
              const int64_t u = p + r - c.pad, v = q + t - c.pad;
              const int64_t h = u / 2, ww = v / 2;  // the bug: truncation, -1 / 2 == 0
              if (h < 0 || h >= c.H || ww < 0 || ww >= c.W) continue;
              planted[(k * s.P + p) * s.Q + q] += x[(ch * c.H + h) * c.W + ww] * w[((k * c.C + ch) * 3 + r) * 3 + t];
            }
  CHECK(scaled_error(planted, ref) > 1e-3);
}

// The op against the composition of upsample_nearest(x, 2) and conv2d, float32, forward and all
// three gradients (the float64 gradient check is gradcheck/upsample_nearest2x_conv2d).
TEST_CASE("upsample_nearest2x_conv2d/op_matches_composition") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  using sr::Tensor;
  for (int pad : {0, 1}) {
    INFO("padding " << pad);
    const Tensor x0 = sr::test::random_tensor(rng, {2, 5, 3, 5}).to(sr::DType::f32).detach(),
                 w0 = sr::test::random_tensor(rng, {6, 5, 3, 3}).to(sr::DType::f32).detach(),
                 b0 = sr::test::random_tensor(rng, {6}).to(sr::DType::f32).detach();
    const Tensor g = sr::test::random_tensor(rng, {2, 6, 4 + 2 * pad, 8 + 2 * pad}).to(sr::DType::f32).detach();
    auto run = [&](bool folded) {
      Tensor x = x0.clone(), w = w0.clone(), b = b0.clone();
      for (Tensor* t : {&x, &w, &b}) t->set_requires_grad(true);
      Tensor y = folded ? sr::upsample_nearest2x_conv2d(x, w, b, pad) : sr::conv2d(sr::upsample_nearest(x, 2), w, b, 1, pad);
      sr::sum(sr::mul(y, g)).backward();
      return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
    };
    const auto got = run(true), ref = run(false);
    REQUIRE(got[0].shape() == ref[0].shape());
    const char* names[] = {"forward", "dx", "dw", "db"};
    for (int i = 0; i < 4; ++i) sr::test::expect_close_scaled(names[i], got[i], ref[i], 1e-5);
  }
}
