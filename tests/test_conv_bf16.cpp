// The bf16 CPU convolution (kernels/cpu/conv2d_bf16.cpp, AVX512-BF16) against its readable
// reference (operands rounded by round_to_bf16, float32 im2col GEMM) and against the exact
// (float64) convolution within a bf16 budget; the checker itself against planted bugs
// (truncation instead of round-to-nearest-even, a dropped odd channel); the fused RDB on
// the bf16 path; the scalar rounding helper. Skipped, with a printed reason, on a CPU
// without avx512_bf16.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "engine/ops.h"
#include "engine/ops_rdb.h"
#include "engine/random.h"
#include "kernels/common/bf16_round.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "layers/precision.h"
#include "layers/rrdb.h"
#include "support/cpu_conv_cases.h"

using sr::Conv2dShape;

using Case = sr::test::CpuConvCase;
using sr::test::describe;
using sr::test::expect_within;
using sr::test::random_floats;
using sr::test::to_double;
using sr::test::worst_ratio;

namespace {

// The shapes drawn here: channels up to 40, 1x1, 3x3 and 5x5 filters, images up to 23 x 37.
constexpr sr::test::CpuConvLimits kLimits{40, 3, 23, 37};

bool skip_without_bf16() {
  if (sr::cpu::cpu_has_avx512_bf16()) return false;
  WARN("SKIPPED: this CPU lacks avx512_bf16");
  return true;
}

std::vector<float> abs_of(std::vector<float> v) {
  for (auto& x : v) x = std::fabs(x);
  return v;
}

// One element of the three results of a shape: the kernel's, the reference's, the exact
// (float64, unrounded operands), and |.| sums for the bounds.
struct Results {
  std::vector<float> y, dx, dw, db;
};

struct Inputs {
  Conv2dShape s;
  int64_t x_off;
  std::vector<float> x, w, bias, dy, dw0, db0;
};

Inputs make_inputs(const Case& c, std::mt19937_64& rng) {
  Inputs in;
  in.s = sr::make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
  in.s.x_batch_stride = (c.C + c.extra) * c.H * c.W;
  in.s.precision = sr::Precision::bf16;
  in.x_off = c.extra ? c.H * c.W : 0;
  in.x = random_floats(rng, c.N * in.s.x_batch_stride);
  in.w = random_floats(rng, c.K * c.C * c.R * c.S);
  in.bias = random_floats(rng, c.K);
  in.dy = random_floats(rng, c.N * c.K * in.s.P * in.s.Q);
  in.dw0 = random_floats(rng, c.K * c.C * c.R * c.S);
  in.db0 = random_floats(rng, c.K);
  return in;
}

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Outputs NaN-poisoned, dw and dbias starting from dw0 and db0.
Results poisoned(const Inputs& in) {
  const Conv2dShape& s = in.s;
  Results r;
  r.y.assign(s.N * s.K * s.P * s.Q, kNaN);
  r.dx.assign(s.N * s.C * s.H * s.W, kNaN);
  r.dw = in.dw0;
  r.db = in.db0;
  return r;
}

// The three bf16 kernels (outputs NaN-poisoned first; dw and dbias accumulate into dw0, db0).
Results run_kernels(const Inputs& in) {
  const Conv2dShape& s = in.s;
  Results r = poisoned(in);
  sr::cpu::conv2d_forward<float>(s, in.x.data() + in.x_off, in.w.data(), in.bias.data(), r.y.data());
  sr::cpu::conv2d_backward_data<float>(s, in.dy.data(), in.w.data(), r.dx.data());
  sr::cpu::conv2d_backward_weight<float>(s, in.x.data() + in.x_off, in.dy.data(), r.dw.data(), r.db.data());
  return r;
}

Results run_reference(const Inputs& in) {
  const Conv2dShape& s = in.s;
  Results r = poisoned(in);
  sr::cpu::conv2d_forward_bf16_reference(s, in.x.data() + in.x_off, in.w.data(), in.bias.data(), r.y.data());
  sr::cpu::conv2d_backward_data_bf16_reference(s, in.dy.data(), in.w.data(), r.dx.data());
  sr::cpu::conv2d_backward_weight_bf16_reference(s, in.x.data() + in.x_off, in.dy.data(), r.dw.data(), r.db.data());
  return r;
}

// The float64 convolution of (x, w, dy) with no bias and zero dw/db (or of their |.|).
struct Exact {
  std::vector<double> y, dx, dw, db;
};
Exact run_exact(const Inputs& in, bool absolute) {
  Conv2dShape s = in.s;
  s.precision = sr::Precision::fp32;
  auto d = [&](const std::vector<float>& v) { return to_double(absolute ? abs_of(v) : v); };
  const std::vector<double> x = d(in.x), w = d(in.w), dy = d(in.dy);
  Exact e;
  e.y.assign(s.N * s.K * s.P * s.Q, 0);
  e.dx.assign(s.N * s.C * s.H * s.W, 0);
  e.dw.assign(in.w.size(), 0);
  e.db.assign(s.K, 0);
  sr::cpu::conv2d_forward_im2col<double>(s, x.data() + in.x_off, w.data(), nullptr, e.y.data());
  sr::cpu::conv2d_backward_data_im2col<double>(s, dy.data(), w.data(), e.dx.data());
  sr::cpu::conv2d_backward_weight_im2col<double>(s, x.data() + in.x_off, dy.data(), e.dw.data(), e.db.data());
  return e;
}

// Bound for two float32 sums of the same n exact products (bf16 x bf16 is exact in
// float32) in different orders: each is within n*u*sum|products| of the exact sum
// (u = 2^-24), so they differ by at most 2n*u*A, A the conv of the operands' |.|, plus
// u*|initial value| for the accumulated outputs and a tiny floor.
std::vector<double> order_bound(const std::vector<double>& A, int64_t n, const std::vector<float>& init) {
  const double u = std::ldexp(1.0, -24);
  std::vector<double> b(A.size());
  for (size_t i = 0; i < A.size(); ++i)
    b[i] = 1e-30 + 2.0 * (double)(n + 2) * u * A[i] + (init.empty() ? 0.0 : 2.0 * u * std::fabs(init[i]));
  return b;
}

// |bias[k]| at every element of y (N, K, P, Q).
std::vector<float> abs_bias_of_y(const Inputs& in) {
  const int64_t PQ = in.s.P * in.s.Q;
  std::vector<float> b(in.s.N * in.s.K * PQ);
  for (size_t i = 0; i < b.size(); ++i) b[i] = std::fabs(in.bias[(i / PQ) % in.s.K]);
  return b;
}

std::vector<double> plus(const std::vector<double>& a, const std::vector<float>& b) {
  std::vector<double> r(a);
  for (size_t i = 0; i < r.size(); ++i) r[i] += b[i];
  return r;
}

void check_against_reference(const Case& c, std::mt19937_64& rng) {
  INFO(describe(c));
  const Inputs in = make_inputs(c, rng);
  const Conv2dShape& s = in.s;
  const Results got = run_kernels(in), ref = run_reference(in);
  const Exact A = run_exact(in, true);
  const int64_t CRS = c.C * c.R * c.S, KRS = c.K * c.R * c.S, NPQ = c.N * s.P * s.Q;
  // y = bias + sum: the bias adds one more rounding of |y|.
  std::vector<double> Ay = plus(A.y, abs_bias_of_y(in));
  expect_within("forward", got.y, to_double(ref.y), order_bound(Ay, CRS, {}));
  expect_within("backward_data", got.dx, to_double(ref.dx), order_bound(A.dx, KRS, {}));
  expect_within("backward_weight", got.dw, to_double(ref.dw), order_bound(A.dw, NPQ, in.dw0));
  expect_within("backward_bias", got.db, to_double(ref.db), order_bound(A.db, NPQ, in.db0));
}

}  // namespace

TEST_CASE("conv_bf16/round_to_nearest_even_and_special_values") {
  using sr::round_to_bf16;
  const float one = 1.0f, ulp = std::ldexp(1.0f, -7);  // bf16 spacing at 1
  CHECK(round_to_bf16(one + ulp / 2) == one);                      // tie: to the even 1.0
  CHECK(round_to_bf16(one + 3 * ulp / 2) == one + 2 * ulp);        // tie: to the even 1 + 2 ulp
  CHECK(round_to_bf16(one + ulp / 2 + ulp / 64) == one + ulp);     // above the tie: up
  CHECK(round_to_bf16(-(one + ulp / 2 + ulp / 64)) == -(one + ulp));
  CHECK(round_to_bf16(one + ulp / 2 - ulp / 64) == one);           // below: down
  CHECK(std::isnan(round_to_bf16(std::numeric_limits<float>::quiet_NaN())));
  float snan;
  const uint32_t snan_bits = 0x7f800001u;  // a NaN whose payload is only in the dropped bits
  std::memcpy(&snan, &snan_bits, 4);
  CHECK(std::isnan(round_to_bf16(snan)));
  CHECK(round_to_bf16(std::numeric_limits<float>::infinity()) == std::numeric_limits<float>::infinity());
  CHECK(round_to_bf16(std::numeric_limits<float>::max()) == std::numeric_limits<float>::infinity());
  CHECK(round_to_bf16(std::numeric_limits<float>::denorm_min()) == 0.0f);  // flushed, as the hardware
  CHECK(std::signbit(round_to_bf16(-std::numeric_limits<float>::denorm_min())));
}

TEST_CASE("conv_bf16/kernels_match_reference_fixed_shapes") {
  if (skip_without_bf16()) return;
  std::mt19937_64 rng(20261205);
  const Case cases[] = {
      {2, 32, 17, 19, 16, 3, 3, 1, 1, 0},   // RDB-like, partial vectors
      {1, 3, 20, 21, 32, 3, 3, 1, 1, 0},    // conv_first: odd C (a zero pair channel)
      {2, 33, 9, 35, 3, 3, 3, 1, 1, 2},     // conv_last-like: K = 3, odd C, a channel-range view
      {1, 17, 16, 16, 19, 3, 3, 2, 1, 0},   // stride 2, odd C and K
      {2, 48, 13, 31, 17, 3, 3, 1, 1, 2},   // odd K >= 16 (wide backward-weight), view
      {1, 20, 11, 9, 24, 1, 1, 1, 0, 0},    // 1x1 (few taps)
      {1, 7, 12, 13, 20, 5, 5, 2, 2, 0},    // 5x5 stride 2
      {3, 64, 8, 8, 64, 3, 3, 1, 1, 0},     // many images, small planes
  };
  for (const Case& c : cases) check_against_reference(c, rng);
}

TEST_CASE("conv_bf16/kernels_match_reference_random_shapes") {
  if (skip_without_bf16()) return;
  std::random_device rd;
  const uint64_t seed = ((uint64_t)rd() << 32) ^ rd();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 12; ++i) check_against_reference(sr::test::random_case(rng, kLimits), rng);
}

// Against the exact convolution of the unrounded operands: each operand moves by at most
// 2^-9 of itself (half a bf16 ulp), so each product by at most (2^-8 + 2^-18) of itself,
// and the sum by that times A = conv(|x|, |w|), plus the float32 summation; and the error
// must be bigger than float32's, or the bf16 path did not run.
TEST_CASE("conv_bf16/kernels_within_bf16_budget_of_exact_conv") {
  if (skip_without_bf16()) return;
  std::random_device rd;
  const uint64_t seed = ((uint64_t)rd() << 32) ^ rd();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const Case c{2, 40, 15, 33, 32, 3, 3, 1, 1, 0};
  INFO(describe(c));
  const Inputs in = make_inputs(c, rng);
  const Results got = run_kernels(in);
  const Exact e = run_exact(in, false), A = run_exact(in, true);
  const double per_product = std::ldexp(1.0, -8) + std::ldexp(1.0, -18);
  auto budget = [&](const std::vector<double>& a, int64_t n) {
    std::vector<double> b(a.size());
    for (size_t i = 0; i < a.size(); ++i) b[i] = 1e-30 + (per_product + 2.0 * n * std::ldexp(1.0, -24)) * a[i];
    return b;
  };
  std::vector<double> ey(e.y), Ay = plus(A.y, abs_bias_of_y(in));
  for (size_t i = 0; i < ey.size(); ++i) ey[i] += in.bias[i / (in.s.P * in.s.Q) % c.K];
  const int64_t CRS = c.C * 9, KRS = c.K * 9, NPQ = c.N * in.s.P * in.s.Q;
  expect_within("forward", got.y, ey, budget(Ay, CRS));
  expect_within("backward_data", got.dx, e.dx, budget(A.dx, KRS));
  expect_within("backward_weight", got.dw, plus(e.dw, in.dw0), budget(plus(A.dw, abs_of(in.dw0)), NPQ));
  // The bf16 rounding is visible: float32 alone would stay within ~n*2^-24 of A.
  double worst = 0;
  for (size_t i = 0; i < ey.size(); ++i) worst = std::max(worst, std::fabs(got.y[i] - ey[i]) / Ay[i]);
  INFO("largest forward error relative to conv(|x|,|w|): " << worst);
  CHECK(worst > 1e-4);
}

// The checker catches the bugs a bf16 kernel is likely to have: results computed from
// truncated (round-toward-zero) operands, or with the last channel of an odd C dropped
// (a lost pair tail), are outside the tolerance against the true reference.
TEST_CASE("conv_bf16/checker_catches_planted_bugs") {
  std::mt19937_64 rng(7);
  const Case c{1, 17, 12, 14, 16, 3, 3, 1, 1, 0};
  Inputs in = make_inputs(c, rng);
  const Conv2dShape& s = in.s;
  std::vector<float> ref(s.N * s.K * s.P * s.Q);
  sr::cpu::conv2d_forward_bf16_reference(s, in.x.data(), in.w.data(), in.bias.data(), ref.data());
  const Exact A = run_exact(in, true);
  const std::vector<double> bound = order_bound(plus(A.y, abs_bias_of_y(in)), c.C * 9, {});
  // Truncation: operands cut to bf16 towards zero, then the same float32 conv.
  auto truncate = [](std::vector<float> v) {
    for (auto& f : v) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      u &= 0xffff0000u;
      std::memcpy(&f, &u, 4);
    }
    return v;
  };
  Conv2dShape s32 = s;
  s32.precision = sr::Precision::fp32;
  const std::vector<float> tx = truncate(in.x), tw = truncate(in.w);
  std::vector<float> bad(ref.size());
  sr::cpu::conv2d_forward_im2col<float>(s32, tx.data(), tw.data(), in.bias.data(), bad.data());
  CHECK(worst_ratio(bad, to_double(ref), bound, nullptr) > 2.0);
  // Dropped tail: the last (odd) input channel read as zero.
  std::vector<float> x2 = in.x;
  for (int64_t i = 0; i < c.H * c.W; ++i) x2[(c.C - 1) * c.H * c.W + i] = 0.0f;
  sr::cpu::conv2d_forward_bf16_reference(s, x2.data(), in.w.data(), in.bias.data(), bad.data());
  CHECK(worst_ratio(bad, to_double(ref), bound, nullptr) > 2.0);
  // And the reference itself passes its own check.
  CHECK(worst_ratio(ref, to_double(ref), bound, nullptr) == 0.0);
}

// The fused residual dense block runs its convs in bf16 when the block's Conv2d layers say
// so: it matches the unfused composition in bf16 and differs from the fp32 block by more
// than float32 noise.
TEST_CASE("conv_bf16/rdb_fused_uses_bf16_convs") {
  if (skip_without_bf16()) return;
  sr::NoGradGuard no_grad;
  sr::ResidualDenseBlock block(16, 8);
  sr::Generator gen(3);
  sr::Tensor x = sr::Tensor::empty({2, 16, 9, 13});
  sr::uniform_(x, -1.0, 1.0, gen);
  for (auto& [name, p] : block.named_parameters()) sr::uniform_(p, -0.3, 0.3, gen);
  const sr::Tensor fp32 = block.forward_fused(x);
  sr::set_precision(block, sr::Precision::bf16);
  const sr::Tensor fused = block.forward_fused(x), unfused = block.forward_unfused(x);
  double d_fused_unfused = 0, d_bf16_fp32 = 0, scale = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    d_fused_unfused = std::max(d_fused_unfused, (double)std::fabs(fused.data<float>()[i] - unfused.data<float>()[i]));
    d_bf16_fp32 = std::max(d_bf16_fp32, (double)std::fabs(fused.data<float>()[i] - fp32.data<float>()[i]));
    scale = std::max(scale, (double)std::fabs(fp32.data<float>()[i]));
  }
  INFO("max |fused - unfused| (bf16) " << d_fused_unfused << ", max |bf16 - fp32| " << d_bf16_fp32 << ", max |y| "
                                       << scale);
  CHECK(d_fused_unfused <= 1e-5 * scale);
  CHECK(d_bf16_fp32 > 1e-4 * scale);
}
