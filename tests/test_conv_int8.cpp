// conv2d_int8 (kernels/cpu/conv2d_int8.h): the VNNI path against the plain reference bit for
// bit on random shapes, the reference against a float64 conv of the dequantised values, and
// the quantisers.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_int8.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::cpu;

namespace {

struct Int8Case {
  int64_t N, C, K, H, W, R, S;
  QuantActivation x;
  QuantConvWeights w;
  std::vector<float> slope;  // empty: no activation
};

Int8Case random_case(std::mt19937_64& rng) {
  auto pick = [&](std::vector<int64_t> v) { return v[rng() % v.size()]; };
  Int8Case c;
  c.N = pick({1, 2});
  c.C = pick({1, 3, 4, 13, 32, 64});
  c.K = pick({3, 16, 33, 48, 64, 70});
  c.H = pick({1, 2, 7, 13});
  c.W = pick({1, 5, 6, 7, 13, 25, 31});
  c.R = pick({1, 3, 3, 5});
  c.S = c.R == 5 ? pick({1, 5}) : c.R;
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  const int64_t border = std::max(c.R, c.S) / 2 + (int64_t)(rng() % 2);
  c.x = make_quant_activation(c.N, c.C, c.H, c.W, border, scale(rng), u8(rng));
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t y = 0; y < c.H; ++y)
      for (int64_t x = 0; x < c.W; ++x)
        for (int64_t ch = 0; ch < c.C; ++ch) c.x.at(n, y, x)[ch] = (uint8_t)u8(rng);
  std::vector<int8_t> qw(c.K * c.C * c.R * c.S);
  for (auto& v : qw) v = (int8_t)s8(rng);
  std::vector<float> ws(c.K), bias(c.K);
  for (auto& v : ws) v = scale(rng);
  for (auto& v : bias) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  c.w = pack_conv_weights_int8(qw.data(), ws.data(), rng() % 2 ? bias.data() : nullptr, c.K, c.C, c.R, c.S);
  const int act = (int)(rng() % 3);  // none, relu, prelu
  if (act == 1) c.slope.assign(c.K, 0.0f);
  if (act == 2)
    for (int64_t k = 0; k < c.K; ++k) c.slope.push_back(std::uniform_real_distribution<float>(-0.5f, 0.5f)(rng));
  return c;
}

std::string describe(const Int8Case& c) {
  return std::to_string(c.N) + "x" + std::to_string(c.C) + "x" + std::to_string(c.H) + "x" + std::to_string(c.W) +
         " -> " + std::to_string(c.K) + ", filter " + std::to_string(c.R) + "x" + std::to_string(c.S) +
         ", border " + std::to_string(c.x.pad) + ", zx " + std::to_string(c.x.zero_point) +
         (c.slope.empty() ? ", no activation" : ", activation");
}

// The output activation, its interior poisoned (its border and padded channels hold zy).
QuantActivation poisoned_output(const Int8Case& c, float scale, int zy) {
  QuantActivation q = make_quant_activation(c.N, c.K, c.H, c.W, 1, scale, zy);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t y = 0; y < c.H; ++y)
      for (int64_t x = 0; x < c.W; ++x) std::memset(q.at(n, y, x), 0xA5, c.K);
  return q;
}

// The float conv of the same shape ("same" padding, stride 1).
Conv2dShape conv_shape_of(const Int8Case& c) {
  return make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, 1, (int)(c.R / 2));
}

}  // namespace

TEST_CASE("conv_int8/fast_path_matches_reference_bit_for_bit") {
  INFO("path: " << conv2d_int8_isa());
  std::mt19937_64 rng(std::random_device{}());
  for (int it = 0; it < 60; ++it) {
    Int8Case c = random_case(rng);
    INFO(describe(c));
    const float* slope = c.slope.empty() ? nullptr : c.slope.data();
    // Float output, poisoned with NaN.
    const size_t ny = (size_t)(c.N * c.K * c.H * c.W);
    std::vector<float> y(ny, std::numeric_limits<float>::quiet_NaN()), y_ref(ny, -1.0f);
    conv2d_int8_forward(c.x, c.w, {slope, nullptr, y.data()});
    conv2d_int8_forward_reference(c.x, c.w, {slope, nullptr, y_ref.data()});
    REQUIRE(std::memcmp(y.data(), y_ref.data(), ny * sizeof(float)) == 0);
    // Quantised output into a poisoned activation; the zero point and scale put the values
    // across the whole [0, 255] range, so saturation at both ends is exercised.
    const float sy = 0.5f * (float)std::uniform_real_distribution<float>(0.002f, 0.05f)(rng);
    const int zy = (int)(rng() % 256);
    QuantActivation q = poisoned_output(c, sy, zy), q_ref = poisoned_output(c, sy, zy);
    conv2d_int8_forward(c.x, c.w, {slope, &q, nullptr});
    conv2d_int8_forward_reference(c.x, c.w, {slope, &q_ref, nullptr});
    REQUIRE(q.data == q_ref.data);
    // Every interior value was written (none left at the poison unless it is the value),
    // and the border and padded channels still hold the zero point.
    const QuantActivation fresh = make_quant_activation(c.N, c.K, c.H, c.W, 1, sy, zy);
    size_t border_changed = 0;
    for (size_t i = 0; i < q.data.size(); ++i) {
      const int64_t pix = (int64_t)i / q.Cp, ch = (int64_t)i % q.Cp;
      const int64_t x = pix % (c.W + 2) - 1, y = pix / (c.W + 2) % (c.H + 2) - 1;
      const bool interior = x >= 0 && x < c.W && y >= 0 && y < c.H && ch < c.K;
      if (!interior) border_changed += q.data[i] != fresh.data[i];
    }
    REQUIRE(border_changed == 0);
  }
}

// A planted bug, to show the bit-for-bit check above can fail: one packed weight byte
// changed makes the fast path disagree with the reference (which reads the OIHW copy).
TEST_CASE("conv_int8/comparison_catches_a_planted_weight_error") {
  std::mt19937_64 rng(std::random_device{}());
  Int8Case c = random_case(rng);
  const size_t ny = (size_t)(c.N * c.K * c.H * c.W);
  std::vector<float> y(ny), y_ref(ny);
  conv2d_int8_forward_reference(c.x, c.w, {nullptr, nullptr, y_ref.data()});
  // Tap (R/2, S/2) of channel 0 for output channel 0: every output pixel reads it.
  const int64_t CG = c.w.Cp / 4, KB = c.w.Kp / 16;
  int8_t& planted = c.w.packed[(((c.R / 2 * c.S + c.S / 2) * CG + 0) * KB + 0) * 64];
  planted = (int8_t)(planted == 100 ? 99 : 100);
  conv2d_int8_forward(c.x, c.w, {nullptr, nullptr, y.data()});
  if (std::string(conv2d_int8_isa()) == "reference") SUCCEED("no fast path on this build: nothing to plant into");
  else CHECK(std::memcmp(y.data(), y_ref.data(), ny * sizeof(float)) != 0);
}

// The reference against an independent float64 conv (conv2d.cpp's im2col, itself
// gradient-checked) of the dequantised input and weights.
TEST_CASE("conv_int8/reference_matches_float64_conv_of_dequantized_values") {
  std::mt19937_64 rng(std::random_device{}());
  for (int it = 0; it < 20; ++it) {
    Int8Case c = random_case(rng);
    INFO(describe(c));
    std::vector<float> xf(c.N * c.C * c.H * c.W);
    dequantize_activation(c.x, xf.data());
    const int64_t T = c.C * c.R * c.S;
    std::vector<double> xd(xf.begin(), xf.end()), wd(c.K * T), bd(c.w.bias.begin(), c.w.bias.begin() + c.K);
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t t = 0; t < T; ++t) wd[k * T + t] = (double)c.w.scale[k] * c.w.oihw[k * T + t];
    if (c.R != c.S) continue;  // conv2d.cpp pads both sides alike: square filters only
    const Conv2dShape s = conv_shape_of(c);
    std::vector<double> want(c.N * c.K * c.H * c.W), size(want.size());
    conv2d_forward_im2col<double>(s, xd.data(), wd.data(), bd.data(), want.data());
    // The same conv of |x|, |w|, |b|: the size of the terms, which float32 rounding scales with.
    for (auto* v : {&xd, &wd, &bd})
      for (double& e : *v) e = std::fabs(e);
    conv2d_forward_im2col<double>(s, xd.data(), wd.data(), bd.data(), size.data());
    const int64_t plane = c.H * c.W;
    for (size_t i = 0; i < want.size(); ++i) {
      const double slope = c.slope.empty() ? 1.0 : c.slope[(i / plane) % c.K];
      want[i] = want[i] >= 0 ? want[i] : slope * want[i];
    }
    std::vector<float> got(want.size());
    conv2d_int8_forward_reference(c.x, c.w, {c.slope.empty() ? nullptr : c.slope.data(), nullptr, got.data()});
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      // The integer sum is exact; what is left is float32 rounding of the sum (above 2^24),
      // the scale product and the fma with the bias: a few units of 2^-24 of the terms' size.
      const double err = std::fabs(got[i] - want[i]) / (1e-12 + 1.2e-7 * size[i]);
      worst = std::max(worst, err);
    }
    REQUIRE(worst <= 4.0);
  }
}

TEST_CASE("conv_int8/weight_quantization") {
  // Two output channels: the per-channel scale maps each channel's largest |w| to 127; one
  // scale for all maps the overall largest.
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 0.0f, 2.0f, -0.5f, 1.0f, 0.03f};
  std::vector<int8_t> q;
  std::vector<float> scale;
  quantize_conv_weights(w.data(), 2, 4, 1, 1, true, q, scale);
  CHECK(scale[0] == Approx(1.0 / 127));
  CHECK(scale[1] == Approx(2.0 / 127));
  CHECK(q == std::vector<int8_t>{64, -127, 32, 0, 127, -32, 64, 2});  // 63.5 -> 64, 31.75 -> 32, 1.905 -> 2
  quantize_conv_weights(w.data(), 2, 4, 1, 1, false, q, scale);
  CHECK(scale[0] == scale[1]);
  CHECK(q[1] == -64);  // -1.0 at scale 2/127: -63.5 rounds half to even
  std::vector<float> bad = w;
  bad[5] = std::numeric_limits<float>::infinity();
  test::require_error([&] { quantize_conv_weights(bad.data(), 2, 4, 1, 1, true, q, scale); },
                      {"output channel 1", "non-finite"});
}

TEST_CASE("conv_int8/bad_shapes_are_refused") {
  const std::vector<int8_t> qw(16 * 4 * 9, 1);
  const std::vector<float> ws(16, 0.01f);
  QuantConvWeights w = pack_conv_weights_int8(qw.data(), ws.data(), nullptr, 16, 4, 3, 3);
  QuantActivation thin = make_quant_activation(1, 4, 5, 5, 0, 0.1f, 0);
  std::vector<float> y(16 * 25);
  test::require_error([&] { conv2d_int8_forward(thin, w, {nullptr, nullptr, y.data()}); }, {"border 0", "3x3"});
  QuantActivation x = make_quant_activation(1, 3, 5, 5, 1, 0.1f, 0);
  test::require_error([&] { conv2d_int8_forward(x, w, {nullptr, nullptr, y.data()}); }, {"3 channels", "4"});
  std::vector<int8_t> low = qw;
  low[7] = -128;
  test::require_error([&] { pack_conv_weights_int8(low.data(), ws.data(), nullptr, 16, 4, 3, 3); },
                      {"-128", "[-127, 127]"});
  test::require_error([] { make_quant_activation(1, 4, 5, 5, 1, 0.1f, 300); }, {"zero point 300"});
}
