// The float32 CPU convolution kernels (implicit GEMM, conv2d_implicit.cpp) against the
// float64 im2col reference (conv2d.cpp, itself gradient-checked) on awkward shapes: odd
// sizes, partial SIMD vectors, channel counts that are not tile multiples, stride 2,
// rectangular filters, channel-range views, accumulation into dw/dbias, null outputs,
// empty batches; and bit-identical results for any thread count.
#include <catch2/catch.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "support/cpu_conv_cases.h"
#include "support/gradcheck.h"

using sr::Conv2dShape;

using Case = sr::test::CpuConvCase;
using sr::test::describe;
using sr::test::random_floats;
using sr::test::to_double;

namespace {

// |got - want| <= atol + rtol*|want| with atol growing with the reduction length n: float32
// sums of n products of values in [-1, 1].
void expect_close(const std::vector<float>& got, const std::vector<double>& want, int64_t n,
                  const char* what) {
  REQUIRE(got.size() == want.size());
  int64_t worst = -1;
  const double ratio =
      sr::test::tolerance_ratio(to_double(got), want, 1e-6 + 1e-7 * (double)n, 1e-5, &worst);
  INFO(what << ": worst element " << worst << " got " << (worst >= 0 ? got[worst] : 0.f) << " want "
            << (worst >= 0 ? want[worst] : 0.0) << " (ratio " << ratio << ")");
  CHECK(ratio <= 1.0);
}

void check_case(const Case& c, std::mt19937_64& rng) {
  INFO(describe(c));
  Conv2dShape s = sr::make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
  const int64_t HW = c.H * c.W, PQ = s.P * s.Q, CRS = c.C * c.R * c.S;
  s.x_batch_stride = (c.C + c.extra) * HW;
  s.y_batch_stride = c.K * PQ;
  const int64_t x_off = c.extra ? HW : 0;  // the view starts at channel 1

  const auto xbuf = random_floats(rng, c.N * s.x_batch_stride);
  const auto w = random_floats(rng, c.K * CRS);
  const auto bias = random_floats(rng, c.K);
  const auto dy = random_floats(rng, c.N * c.K * PQ);
  const auto dw0 = random_floats(rng, c.K * CRS);
  const auto db0 = random_floats(rng, c.K);
  const auto xd = to_double(xbuf), wd = to_double(w), bd = to_double(bias), dyd = to_double(dy);

  // forward
  std::vector<float> y(c.N * c.K * PQ);
  sr::cpu::conv2d_forward<float>(s, xbuf.data() + x_off, w.data(), bias.data(), y.data());
  std::vector<double> y_ref(y.size());
  sr::cpu::conv2d_forward_im2col<double>(s, xd.data() + x_off, wd.data(), bd.data(), y_ref.data());
  expect_close(y, y_ref, CRS, "forward");

  // backward-data (dx is contiguous, overwritten: start from garbage)
  Conv2dShape sd = s;
  sd.x_batch_stride = c.C * HW;
  std::vector<float> dx(c.N * c.C * HW, 1e30f);
  sr::cpu::conv2d_backward_data<float>(sd, dy.data(), w.data(), dx.data());
  std::vector<double> dx_ref(dx.size());
  sr::cpu::conv2d_backward_data_im2col<double>(sd, dyd.data(), wd.data(), dx_ref.data());
  expect_close(dx, dx_ref, c.K * c.R * c.S, "backward-data");

  // backward-weight: accumulates into dw and dbias
  std::vector<float> dw = dw0, db = db0;
  sr::cpu::conv2d_backward_weight<float>(s, xbuf.data() + x_off, dy.data(), dw.data(), db.data());
  std::vector<double> dw_ref = to_double(dw0), db_ref = to_double(db0);
  sr::cpu::conv2d_backward_weight_im2col<double>(s, xd.data() + x_off, dyd.data(), dw_ref.data(),
                                                 db_ref.data());
  expect_close(dw, dw_ref, c.N * PQ, "backward-weight dw");
  expect_close(db, db_ref, c.N * PQ, "backward-weight dbias");

  // only one of dw / dbias requested
  std::vector<float> dw2 = dw0, db2 = db0;
  sr::cpu::conv2d_backward_weight<float>(s, xbuf.data() + x_off, dy.data(), dw2.data(), nullptr);
  sr::cpu::conv2d_backward_weight<float>(s, xbuf.data() + x_off, dy.data(), nullptr, db2.data());
  expect_close(dw2, dw_ref, c.N * PQ, "backward-weight dw alone");
  expect_close(db2, db_ref, c.N * PQ, "backward-weight dbias alone");
}

}  // namespace

TEST_CASE("conv_cpu/implicit_matches_reference_fixed_shapes") {
  std::mt19937_64 rng(12345);
  const std::vector<Case> cases = {
      {2, 19, 9, 37, 13, 3, 3, 1, 1},     // odd sizes, a partial vector per row
      {1, 3, 32, 32, 64, 3, 3, 1, 1},     // conv_first
      {2, 64, 16, 16, 3, 3, 3, 1, 1},     // conv_last: few output channels
      {3, 40, 8, 20, 67, 3, 3, 1, 1},     // K not a tile multiple, taps > one chunk
      {2, 5, 12, 18, 7, 4, 4, 2, 1},      // UNet down-sampling conv
      {1, 4, 13, 11, 6, 4, 4, 2, 1},      // ... with odd input sizes
      {2, 6, 9, 10, 5, 3, 3, 2, 1},       // 3x3 stride 2
      {1, 8, 5, 7, 9, 1, 1, 1, 0},        // pointwise
      {2, 3, 9, 9, 4, 1, 1, 2, 0},        // pointwise stride 2
      {1, 3, 11, 14, 5, 5, 5, 1, 2},      // 5x5
      {1, 2, 15, 17, 3, 7, 7, 2, 3},      // 7x7 stride 2
      {2, 3, 10, 12, 4, 3, 5, 1, 1},      // rectangular filter
      {2, 3, 8, 9, 5, 3, 3, 1, 0},        // no padding
      {2, 3, 7, 33, 6, 3, 3, 1, 2},       // padding 2 with a 3x3 filter
      {3, 3, 6, 6, 4, 3, 3, 1, 1, 4},     // channel-range view of a wider tensor
      {1, 1, 1, 1, 1, 1, 1, 1, 0},        // a single pixel
      {5, 2, 4, 4, 2, 2, 2, 2, 0},        // more images than threads, 2x2 stride 2
      {2, 7, 6, 9, 40, 3, 3, 1, 1},       // backward-weight with channels in the lanes, K % 16 != 0
      {1, 256, 4, 4, 64, 4, 4, 2, 1},     // many channels, few pixels (threads split channels)
      {0, 3, 5, 5, 16, 3, 3, 1, 1},       // an empty batch
      {1, 64, 3, 421, 24, 3, 3, 1, 1},    // rows wider than a pixel block: several tap chunks
      {1, 16, 4, 450, 8, 4, 4, 2, 1},     // ... with stride 2
  };
  for (const Case& c : cases) check_case(c, rng);
}

TEST_CASE("conv_cpu/implicit_matches_reference_random_shapes") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 12; ++trial) {
    Case c{};
    c.N = 1 + rng() % 3;
    c.C = 1 + rng() % 12;
    c.K = 1 + rng() % 20;
    c.R = 1 + rng() % 5;
    c.S = 1 + rng() % 5;
    c.stride = 1 + (int)(rng() % 2);
    c.pad = (int)(rng() % std::min(c.R, c.S));
    c.H = c.R + rng() % 20;
    c.W = c.S + rng() % 40;
    c.extra = rng() % 2;
    check_case(c, rng);
  }
}

TEST_CASE("conv_cpu/results_do_not_depend_on_thread_count") {
  // Each output element is summed by one thread in a fixed order: 1 thread and all threads
  // must agree bit for bit, in every direction and both thread-split modes.
  std::mt19937_64 rng(99);
  const Case cases[] = {{3, 24, 11, 20, 40, 3, 3, 1, 1}, {1, 96, 6, 6, 80, 4, 4, 2, 1}, {2, 3, 9, 9, 64, 3, 3, 1, 1}};
  for (const Case& c : cases) {
    INFO(describe(c));
    const Conv2dShape s = sr::make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
    const auto x = random_floats(rng, c.N * c.C * c.H * c.W), w = random_floats(rng, c.K * c.C * c.R * c.S);
    const auto b = random_floats(rng, c.K), dy = random_floats(rng, c.N * c.K * s.P * s.Q);
    auto run = [&](int threads) {
      const int saved = omp_get_max_threads();
      omp_set_num_threads(threads);
      std::vector<float> y(dy.size()), dx(x.size()), dw(w.size(), 0.f), db(c.K, 0.f);
      sr::cpu::conv2d_forward<float>(s, x.data(), w.data(), b.data(), y.data());
      sr::cpu::conv2d_backward_data<float>(s, dy.data(), w.data(), dx.data());
      sr::cpu::conv2d_backward_weight<float>(s, x.data(), dy.data(), dw.data(), db.data());
      omp_set_num_threads(saved);
      return std::vector<std::vector<float>>{y, dx, dw, db};
    };
    const auto one = run(1), all = run(std::max(2, omp_get_max_threads()));
    for (size_t i = 0; i < one.size(); ++i) CHECK(one[i] == all[i]);
  }
}

// A frozen weight with a trainable bias (fine-tuning only the biases): backward-weight is
// asked for the bias gradient alone, dw null, on every path (float64 goes through
// im2col + GEMM, float32 through the implicit GEMM).
TEST_CASE("conv_cpu/frozen_weight_trainable_bias") {
  for (sr::DType dt : {sr::DType::f64, sr::DType::f32}) {
    sr::Generator gen(5);
    sr::Tensor x = sr::Tensor::empty({2, 3, 9, 7}, dt), w = sr::Tensor::empty({4, 3, 3, 3}, dt);
    sr::Tensor b = sr::Tensor::zeros({4}, dt);
    sr::normal_(x, 0, 1, gen);
    sr::normal_(w, 0, 1, gen);
    b.set_requires_grad(true);
    sr::Tensor y = sr::conv2d(x, w, b, 1, 1);
    sr::sum(y).backward();
    // d sum(y) / d b_k = number of output pixels per channel, N * P * Q = 2 * 9 * 7.
    const std::vector<double> g = b.grad().to_vector();
    REQUIRE(g.size() == 4);
    for (double v : g) CHECK(v == Approx(126.0));
    CHECK_FALSE(w.grad().defined());
  }
}
