// The tf32 and fp16 CPU convolutions (kernels/cpu/conv2d_rounded.cpp): the scalar rounding
// rules bit for bit on known values (subnormals, ties, 65504, 65520 -> inf), F16C against
// its portable twin, the three kernels against a float64 convolution of the rounded
// operands on fresh random shapes with NaN-poisoned outputs, the checker against a planted
// wrong rounding, fp16 overflow giving infinity, and the fused RDB honouring the precision.
// One family per precision: conv_fp16/*, conv_tf32/*.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "engine/ops.h"
#include "engine/random.h"
#include "kernels/common/fp16_round.h"
#include "kernels/cpu/conv2d_rounded.h"
#include "layers/precision.h"
#include "layers/rrdb.h"
#include "support/cpu_conv_cases.h"
#ifdef SRENGINE_WITH_SIMT
#include "kernels/simt/ptx.h"
#endif

using sr::Precision;
using sr::Conv2dShape;

using Case = sr::test::CpuConvCase;
using sr::test::describe;
using sr::test::expect_within;
using sr::test::random_floats;
using sr::test::worst_ratio;

namespace {

// The shapes drawn here: channels up to 24, 1x1 and 3x3 filters, images up to 17 x 23.
constexpr sr::test::CpuConvLimits kLimits{24, 2, 17, 23};

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A scalar rounding rule (the tests pass the true one, or a planted wrong one).
using Rounder = float (*)(float);
float round_fp16(float f) { return sr::round_to_fp16(f); }
float round_tf32(float f) { return sr::round_to_tf32(f); }
// Planted bugs: truncation (round toward zero) instead of nearest.
float truncate_fp16(float f) {
  const uint16_t h = sr::fp16_bits(f);
  const float r = sr::fp16_to_float(h);
  return std::fabs(r) > std::fabs(f) ? sr::fp16_to_float((uint16_t)(h - 1)) : r;  // one step toward zero
}
float truncate_tf32(float f) { return from_bits(bits_of(f) & 0xffffe000u); }

Rounder rounder_of(Precision p) { return p == Precision::fp16 ? round_fp16 : round_tf32; }

struct Inputs {
  Conv2dShape s;
  int64_t x_off;
  std::vector<float> x, w, bias, dy, dw0, db0;
};

Inputs make_inputs(const Case& c, Precision p, std::mt19937_64& rng) {
  Inputs in;
  in.s = sr::make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
  in.s.x_batch_stride = (c.C + c.extra) * c.H * c.W;
  in.s.precision = p;
  in.x_off = c.extra ? c.H * c.W : 0;
  in.x = random_floats(rng, c.N * in.s.x_batch_stride);
  in.w = random_floats(rng, c.K * c.C * c.R * c.S);
  in.bias = random_floats(rng, c.K);
  in.dy = random_floats(rng, c.N * c.K * in.s.P * in.s.Q);
  in.dw0 = random_floats(rng, c.K * c.C * c.R * c.S);
  in.db0 = random_floats(rng, c.K);
  return in;
}

struct Results {
  std::vector<float> y, dx, dw, db;
};

// The three kernels through conv2d.cpp's dispatch, outputs NaN-poisoned first (dw and dbias
// accumulate into dw0, db0).
Results run_kernels(const Inputs& in) {
  const Conv2dShape& s = in.s;
  Results r;
  r.y.assign(s.N * s.K * s.P * s.Q, kNaN);
  r.dx.assign(s.N * s.C * s.H * s.W, kNaN);
  r.dw = in.dw0;
  r.db = in.db0;
  sr::cpu::conv2d_forward<float>(s, in.x.data() + in.x_off, in.w.data(), in.bias.data(), r.y.data());
  sr::cpu::conv2d_backward_data<float>(s, in.dy.data(), in.w.data(), r.dx.data());
  sr::cpu::conv2d_backward_weight<float>(s, in.x.data() + in.x_off, in.dy.data(), r.dw.data(), r.db.data());
  return r;
}

// The float64 convolution of the operands rounded by `round` (or of their |.|, for the
// bounds): y + bias, dx, dw0 + dw, db0 + sum(dy) (bias and dbias from the unrounded values).
struct Exact {
  std::vector<double> y, dx, dw, db;
};
Exact run_exact(const Inputs& in, Rounder round, bool absolute) {
  Conv2dShape s = in.s;
  s.precision = Precision::fp32;
  auto d = [&](const std::vector<float>& v, bool rounded) {
    std::vector<double> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const double t = rounded ? round(v[i]) : v[i];
      o[i] = absolute ? std::fabs(t) : t;
    }
    return o;
  };
  const std::vector<double> x = d(in.x, true), w = d(in.w, true), dy = d(in.dy, true), dyu = d(in.dy, false);
  Exact e;
  e.y.assign(s.N * s.K * s.P * s.Q, 0);
  e.dx.assign(s.N * s.C * s.H * s.W, 0);
  e.dw = d(in.dw0, false);
  e.db = d(in.db0, false);
  const std::vector<double> bias = d(in.bias, false);
  sr::cpu::conv2d_forward_im2col<double>(s, x.data() + in.x_off, w.data(), bias.data(), e.y.data());
  sr::cpu::conv2d_backward_data_im2col<double>(s, dy.data(), w.data(), e.dx.data());
  sr::cpu::conv2d_backward_weight_im2col<double>(s, x.data() + in.x_off, dy.data(), e.dw.data(), nullptr);
  sr::cpu::conv2d_backward_weight_im2col<double>(s, x.data() + in.x_off, dyu.data(), nullptr, e.db.data());
  return e;
}

// A float32 sum of n exact products (tf32 and fp16 products are exact in float32) plus one
// initial value is within (n + 2) u sum|terms| of the exact sum, u = 2^-24.
std::vector<double> order_bound(const std::vector<double>& A, int64_t n) {
  const double u = std::ldexp(1.0, -24);
  std::vector<double> b(A.size());
  for (size_t i = 0; i < A.size(); ++i) b[i] = 1e-30 + (double)(n + 2) * u * A[i];
  return b;
}

void check_against_reference(const Case& c, Precision p, std::mt19937_64& rng) {
  INFO(describe(c) << " precision " << sr::precision_name(p));
  const Inputs in = make_inputs(c, p, rng);
  const Results got = run_kernels(in);
  const Exact e = run_exact(in, rounder_of(p), false), A = run_exact(in, rounder_of(p), true);
  const int64_t CRS = c.C * c.R * c.S, KRS = c.K * c.R * c.S, NPQ = c.N * in.s.P * in.s.Q;
  expect_within("forward", got.y, e.y, order_bound(A.y, CRS));
  expect_within("backward_data", got.dx, e.dx, order_bound(A.dx, KRS));
  expect_within("backward_weight", got.dw, e.dw, order_bound(A.dw, NPQ));
  expect_within("backward_bias", got.db, e.db, order_bound(A.db, NPQ));
}

void parity_random_shapes(Precision p) {
  std::random_device rd;
  const uint64_t seed = ((uint64_t)rd() << 32) ^ rd();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  check_against_reference({2, 32, 13, 17, 16, 3, 3, 1, 1, 2}, p, rng);  // RDB-like, a channel-range view
  for (int i = 0; i < 8; ++i) check_against_reference(sr::test::random_case(rng, kLimits), p, rng);
}

// The checker rejects results computed from truncated operands (a wrong rounding), and the
// float32 path (no rounding at all), against the reference of the true rounding.
void checker_catches_wrong_rounding(Precision p, Rounder wrong) {
  std::mt19937_64 rng(11);
  const Case c{1, 17, 12, 14, 16, 3, 3, 1, 1, 0};
  const Inputs in = make_inputs(c, p, rng);
  const Exact e = run_exact(in, rounder_of(p), false), A = run_exact(in, rounder_of(p), true);
  const std::vector<double> bound = order_bound(A.y, c.C * 9);
  Inputs bad_in = in;
  for (auto& v : bad_in.x) v = wrong(v);
  for (auto& v : bad_in.w) v = wrong(v);
  bad_in.s.precision = Precision::fp32;  // operands already (wrongly) rounded
  CHECK(worst_ratio(run_kernels(bad_in).y, e.y, bound, nullptr) > 2.0);
  Inputs fp32_in = in;
  fp32_in.s.precision = Precision::fp32;
  CHECK(worst_ratio(run_kernels(fp32_in).y, e.y, bound, nullptr) > 2.0);
  CHECK(worst_ratio(run_kernels(in).y, e.y, bound, nullptr) <= 1.0);
}

// The fused residual dense block runs its convs in precision p when its Conv2d layers say
// so: it matches the unfused composition in p and differs from the fp32 block by more than
// float32 noise.
void rdb_uses_precision(Precision p, double min_change) {
  sr::NoGradGuard no_grad;
  sr::ResidualDenseBlock block(16, 8);
  sr::Generator gen(3);
  sr::Tensor x = sr::Tensor::empty({2, 16, 9, 13});
  sr::uniform_(x, -1.0, 1.0, gen);
  for (auto& [name, t] : block.named_parameters()) sr::uniform_(t, -0.3, 0.3, gen);
  const sr::Tensor fp32 = block.forward_fused(x);
  sr::set_precision(block, p);
  const sr::Tensor fused = block.forward_fused(x), unfused = block.forward_unfused(x);
  double d_fused_unfused = 0, d_p_fp32 = 0, scale = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    d_fused_unfused = std::max(d_fused_unfused, (double)std::fabs(fused.data<float>()[i] - unfused.data<float>()[i]));
    d_p_fp32 = std::max(d_p_fp32, (double)std::fabs(fused.data<float>()[i] - fp32.data<float>()[i]));
    scale = std::max(scale, (double)std::fabs(fp32.data<float>()[i]));
  }
  INFO("max |fused - unfused| " << d_fused_unfused << ", max |" << sr::precision_name(p) << " - fp32| " << d_p_fp32
                                << ", max |y| " << scale);
  CHECK(d_fused_unfused <= 1e-5 * scale);
  CHECK(d_p_fp32 > min_change * scale);
}

}  // namespace

TEST_CASE("conv_fp16/rounding_bit_exact_on_known_values") {
  using sr::fp16_bits;
  const float ulp1 = std::ldexp(1.0f, -10);  // fp16 spacing at 1
  CHECK(fp16_bits(1.0f) == 0x3c00);
  CHECK(fp16_bits(-2.0f) == 0xc000);
  CHECK(fp16_bits(0.0f) == 0x0000);
  CHECK(fp16_bits(-0.0f) == 0x8000);
  CHECK(fp16_bits(1.0f + ulp1 / 2) == 0x3c00);      // tie: to the even 1.0
  CHECK(fp16_bits(1.0f + 3 * ulp1 / 2) == 0x3c02);  // tie: to the even 1 + 2 ulp
  CHECK(fp16_bits(1.0f + ulp1 / 2 + ulp1 / 64) == 0x3c01);
  CHECK(fp16_bits(-(1.0f + ulp1 / 2 - ulp1 / 64)) == 0xbc00);
  CHECK(fp16_bits(65504.0f) == 0x7bff);             // the largest finite fp16
  CHECK(fp16_bits(65519.996f) == 0x7bff);           // just below the tie with 2^16: down
  CHECK(fp16_bits(65520.0f) == 0x7c00);             // the tie rounds to even = 2^16: infinity
  CHECK(fp16_bits(-1e6f) == 0xfc00);
  CHECK(fp16_bits(kInf) == 0x7c00);
  CHECK(fp16_bits(std::ldexp(1.0f, -14)) == 0x0400);  // the smallest normal
  CHECK(fp16_bits(std::ldexp(1.0f, -24)) == 0x0001);  // the smallest subnormal
  CHECK(fp16_bits(std::ldexp(1023.0f, -24)) == 0x03ff);  // the largest subnormal
  CHECK(fp16_bits(std::ldexp(1023.5f, -24)) == 0x0400);  // tie: to the even 1024 (a normal)
  CHECK(fp16_bits(std::ldexp(1.0f, -25)) == 0x0000);     // tie between 0 and 2^-24: even 0
  CHECK(fp16_bits(-std::ldexp(1.0f, -25)) == 0x8000);
  CHECK(fp16_bits(std::ldexp(1.5f, -25)) == 0x0001);     // above the tie: up
  CHECK(fp16_bits(std::ldexp(3.0f, -25)) == 0x0002);     // 1.5 units: tie, to the even 2
  CHECK(fp16_bits(std::ldexp(5.0f, -25)) == 0x0002);     // 2.5 units: tie, to the even 2
  CHECK(fp16_bits(std::numeric_limits<float>::denorm_min()) == 0x0000);
  const uint16_t nan = fp16_bits(kNaN);
  CHECK((nan & 0x7c00) == 0x7c00);
  CHECK((nan & 0x03ff) != 0);
  // Every fp16 value converts to float32 and back unchanged (NaNs aside).
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) continue;
    if (sr::fp16_bits(sr::fp16_to_float((uint16_t)h)) != h) {
      FAIL("fp16 " << h << " does not round trip");
    }
  }
  CHECK(sr::fp16_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(sr::fp16_to_float(0x7bff) == 65504.0f);
}

// F16C's vcvtps2ph and the portable twin agree bit for bit on values across the whole fp16
// range and beyond: subnormals, exact ties, overflow, NaN.
TEST_CASE("conv_fp16/f16c_matches_portable_twin") {
  if (!sr::cpu::cpu_has_avx512_f16c()) {
    WARN("SKIPPED: this CPU lacks AVX-512F / F16C; the portable twin is the only fp16 rounding here");
    return;
  }
  std::random_device rd;
  const uint64_t seed = ((uint64_t)rd() << 32) ^ rd();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::vector<float> v;
  for (int i = 0; i < 100000; ++i) {
    const float m = std::uniform_real_distribution<float>(1.0f, 2.0f)(rng);
    const int e = std::uniform_int_distribution<int>(-30, 17)(rng);
    v.push_back((i & 1 ? -1.0f : 1.0f) * std::ldexp(m, e));
  }
  for (int i = 0; i < 20000; ++i) {  // exact ties: odd multiples of half a quantum
    const int e = std::uniform_int_distribution<int>(-24, 15)(rng);
    const int q = std::uniform_int_distribution<int>(0, 2047)(rng);
    v.push_back(std::ldexp((float)(2 * q + 1), e - 11));
  }
  for (float f : {65504.0f, 65519.0f, 65520.0f, 70000.0f, kInf, -kInf, kNaN, 0.0f, -0.0f,
                  std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()})
    v.push_back(f);
  std::vector<float> fast(v.size()), twin(v.size());
  sr::cpu::round_to_precision(Precision::fp16, v.data(), fast.data(), (int64_t)v.size());
  sr::cpu::round_to_precision_portable(Precision::fp16, v.data(), twin.data(), (int64_t)v.size());
  int64_t mismatches = 0;
  for (size_t i = 0; i < v.size(); ++i)
    if (bits_of(fast[i]) != bits_of(twin[i])) {
      if (mismatches++ < 5) UNSCOPED_INFO("input " << v[i] << ": f16c " << fast[i] << ", twin " << twin[i]);
    }
  CHECK(mismatches == 0);
  // A planted bug the comparison would catch: truncation differs on most inputs.
  int64_t trunc_diff = 0;
  for (size_t i = 0; i < v.size(); ++i) trunc_diff += bits_of(truncate_fp16(v[i])) != bits_of(twin[i]);
  CHECK(trunc_diff > (int64_t)v.size() / 4);
}

TEST_CASE("conv_tf32/rounding_bit_exact_on_known_values") {
  const float ulp1 = std::ldexp(1.0f, -10);  // tf32 spacing at 1
  CHECK(sr::round_to_tf32(1.0f + ulp1 / 2) == 1.0f + ulp1);          // tie: away from zero
  CHECK(sr::round_to_tf32(-(1.0f + ulp1 / 2)) == -(1.0f + ulp1));
  CHECK(sr::round_to_tf32(1.0f + 3 * ulp1 / 2) == 1.0f + 2 * ulp1);  // tie: away (not to even)
  CHECK(sr::round_to_tf32(1.0f + ulp1 / 2 - ulp1 / 64) == 1.0f);
  CHECK(sr::round_to_tf32(std::ldexp(1.0f, -130)) == std::ldexp(1.0f, -130));  // subnormal kept
  CHECK(sr::round_to_tf32(kInf) == kInf);
  CHECK(std::isnan(sr::round_to_tf32(kNaN)));
  CHECK(sr::round_to_tf32(std::numeric_limits<float>::max()) == kInf);  // no .satfinite
#ifdef SRENGINE_WITH_SIMT
  // The same rule as cvt.rna.tf32.f32 in the interpreter (written from the PTX ISA), on
  // random values.
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<uint32_t> u;
  for (int i = 0; i < 100000; ++i) {
    const float f = from_bits(u(rng));
    if (std::isnan(f)) continue;
    REQUIRE(bits_of(sr::round_to_tf32(f)) == (::simt::ptx::cvt_rna_tf32(f) & 0xffffe000u));
  }
#endif
}

TEST_CASE("conv_fp16/kernels_match_rounded_float64_reference") { parity_random_shapes(Precision::fp16); }
TEST_CASE("conv_tf32/kernels_match_rounded_float64_reference") { parity_random_shapes(Precision::tf32); }

TEST_CASE("conv_fp16/checker_catches_wrong_rounding") { checker_catches_wrong_rounding(Precision::fp16, truncate_fp16); }
TEST_CASE("conv_tf32/checker_catches_wrong_rounding") { checker_catches_wrong_rounding(Precision::tf32, truncate_tf32); }

// Overflow is not clamped: an activation of 70000 is infinity in fp16, so its products are
// +-inf (and inf - inf is NaN); 65519 rounds to 65504 and stays finite.
TEST_CASE("conv_fp16/overflow_gives_infinity") {
  Conv2dShape s = sr::make_conv2d_shape(1, 1, 1, 4, 2, 1, 1, 1, 0);
  s.precision = Precision::fp16;
  const std::vector<float> x = {70000.0f, 65519.0f, 1.0f, -70000.0f}, w = {1.0f, 0.5f};
  std::vector<float> y(8, kNaN);
  sr::cpu::conv2d_forward<float>(s, x.data(), w.data(), nullptr, y.data());
  CHECK(y[0] == kInf);
  CHECK(y[1] == 65504.0f);
  CHECK(y[2] == 1.0f);
  CHECK(y[3] == -kInf);
  CHECK(y[4] == kInf);
  CHECK(y[5] == 32752.0f);
  // The same convolution in fp32 is finite: the infinity comes from the fp16 rounding.
  s.precision = Precision::fp32;
  sr::cpu::conv2d_forward<float>(s, x.data(), w.data(), nullptr, y.data());
  CHECK(y[0] == 70000.0f);
}

// Gradient checks run in float64, which every precision leaves exact: the float64 kernels
// with precision fp16 / tf32 give exactly the float64 results of precision fp32.
TEST_CASE("conv_fp16/float64_ignores_precision") {
  std::mt19937_64 rng(std::random_device{}());
  const Case c{2, 5, 7, 9, 6, 3, 3, 1, 1, 0};
  for (Precision p : {Precision::fp16, Precision::tf32}) {
    const Inputs in = make_inputs(c, p, rng);
    std::vector<double> x(in.x.begin(), in.x.end()), w(in.w.begin(), in.w.end()), dy(in.dy.begin(), in.dy.end());
    x[3] = 1e-9;  // below fp16's range: rounding would flush it
    x[4] = 1e6;   // above it: rounding would make it infinite
    Conv2dShape s32 = in.s;
    s32.precision = Precision::fp32;
    auto run = [&](const Conv2dShape& s) {
      std::vector<double> y(s.N * s.K * s.P * s.Q, kNaN), dx(s.N * s.C * s.H * s.W, kNaN), dw(w.size(), 0.0);
      sr::cpu::conv2d_forward<double>(s, x.data(), w.data(), nullptr, y.data());
      sr::cpu::conv2d_backward_data<double>(s, dy.data(), w.data(), dx.data());
      sr::cpu::conv2d_backward_weight<double>(s, x.data(), dy.data(), dw.data(), nullptr);
      y.insert(y.end(), dx.begin(), dx.end());
      y.insert(y.end(), dw.begin(), dw.end());
      return y;
    };
    CHECK(run(in.s) == run(s32));
  }
}

TEST_CASE("conv_fp16/rdb_fused_uses_fp16_convs") { rdb_uses_precision(Precision::fp16, 1e-5); }
TEST_CASE("conv_tf32/rdb_fused_uses_tf32_convs") { rdb_uses_precision(Precision::tf32, 1e-5); }

#ifdef SRENGINE_WITH_SIMT
// The interpreter's cvt.rn.f16x2.f32 (written on the value: scale, nearbyint, re-encode) and
// the host twin (written on the bits, fp16_round.h) agree bit for bit on every input class,
// NaN aside (PTX gives the canonical 0x7fff; the host keeps the payload, as F16C does).
TEST_CASE("simt/cvt_rn_f16x2_matches_host_rounding") {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<uint32_t> u;
  int64_t mismatches = 0;
  auto check = [&](float f) {
    if (std::isnan(f)) return;
    const uint32_t packed = simt::ptx::cvt_rn_f16x2(f, -f);
    const uint16_t hi = (uint16_t)(packed >> 16), lo = (uint16_t)(packed & 0xffffu);
    if (hi != sr::fp16_bits(f) || lo != sr::fp16_bits(-f)) {
      if (mismatches++ < 5) UNSCOPED_INFO("input " << f << ": simt " << hi << ", host " << sr::fp16_bits(f));
    }
  };
  for (int i = 0; i < 200000; ++i) check(from_bits(u(rng)));                   // every exponent
  for (int i = 0; i < 200000; ++i) check(std::ldexp((float)(u(rng) % 4096 + 1), (int)(u(rng) % 48) - 36));  // ties
  for (float f : {65504.0f, 65519.996f, 65520.0f, std::ldexp(1.0f, -25), std::ldexp(3.0f, -25), kInf, 0.0f})
    check(f);
  CHECK(mismatches == 0);
  CHECK(simt::ptx::cvt_rn_f16x2(kNaN, 1.0f) >> 16 == 0x7fffu);
}

// On the simt device (the CUDA kernels on the interpreter) the conv2d op runs the variant of
// its precision (kernels::conv_variant_for_precision): fp32 the naive float32 kernel (within
// float32 noise of the exact result), fp16 the fp16 tensor-core kernel (an activation of
// 70000 overflows to infinity, which tf32 would not), tf32 and default the tf32 kernel.
TEST_CASE("simt/conv2d_op_precision") {
  const int64_t N = 1, C = 8, H = 5, W = 6, K = 16;
  std::mt19937_64 rng(std::random_device{}());
  std::vector<float> xv = random_floats(rng, N * C * H * W), wv = random_floats(rng, K * C * 9);
  const sr::Tensor x = sr::Tensor::from_vector(xv, {N, C, H, W}), w = sr::Tensor::from_vector(wv, {K, C, 3, 3});
  const sr::Tensor exact = sr::conv2d(x.to(sr::DType::f64), w.to(sr::DType::f64), sr::Tensor(), 1, 1);
  const sr::kernels::KernelChoice native = sr::kernels::kernel_choice("native", "fused");
  auto on_simt = [&](const sr::Tensor& xi, Precision p) {
    return sr::conv2d(xi.to(sr::Device::simt()), w.to(sr::Device::simt()), sr::Tensor(), 1, 1, native, p)
        .to(sr::Device::cpu())
        .to_vector();
  };
  auto worst_error = [&](const std::vector<double>& got) {
    double worst = 0;
    const std::vector<double> e = exact.to_vector();
    for (size_t i = 0; i < e.size(); ++i) worst = std::max(worst, std::fabs(got[i] - e[i]));
    return worst;
  };
  CHECK(worst_error(on_simt(x, Precision::fp32)) < 1e-5);
  const double tf32_error = worst_error(on_simt(x, Precision::tf32));
  INFO("tf32 error " << tf32_error);
  CHECK(tf32_error > 1e-5);
  CHECK(tf32_error < 2e-2);
  CHECK(worst_error(on_simt(x, Precision::fp16)) < 2e-2);
  std::vector<float> big = xv;
  big[(0 * H + 2) * W + 3] = 70000.0f;  // channel 0, the middle pixel
  const sr::Tensor xb = sr::Tensor::from_vector(big, {N, C, H, W});
  const std::vector<double> y16 = on_simt(xb, Precision::fp16), y32 = on_simt(xb, Precision::tf32);
  int64_t inf16 = 0, inf32 = 0;
  for (size_t i = 0; i < y16.size(); ++i) inf16 += std::isinf(y16[i]) || std::isnan(y16[i]), inf32 += !std::isfinite(y32[i]);
  CHECK(inf16 > 0);
  CHECK(inf32 == 0);
  // cuDNN has no fp16 path here: the op refuses, naming the precision and the variant.
  sr::kernels::KernelChoice cudnn = native;
  cudnn.conv2d = sr::kernels::ConvVariant::cudnn;
  CHECK_THROWS_WITH(sr::conv2d(x.to(sr::Device::simt()), w.to(sr::Device::simt()), sr::Tensor(), 1, 1, cudnn,
                               Precision::fp16),
                    Catch::Contains("precision fp16") && Catch::Contains("cudnn"));
}
#endif
