// conv2d_int8 (kernels/cpu/conv2d_int8.h): each vector path this CPU can run (avx512_vnni,
// avx_vnni, avx2) against the plain reference bit for bit on random shapes, the checker against
// planted one-LSB errors, the path choice and its override (SRENGINE_INT8_ISA), the reference
// against a float64 conv of the dequantised values, and the quantisers.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_int8.h"
#include "kernels/registry.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::cpu;

namespace {

struct Int8Case {
  int64_t N, C, K, H, W, R, S;
  QuantActivation x;
  QuantConvWeights w;
  std::vector<float> slope;  // empty: no activation
  const char* act = "none";
};

Int8Case random_case(std::mt19937_64& rng) {
  auto pick = [&](std::vector<int64_t> v) { return v[rng() % v.size()]; };
  Int8Case c;
  c.N = pick({1, 2});
  // C not a multiple of 4 and K not a multiple of 8 or 16 as often as not.
  c.C = pick({1, 2, 3, 4, 5, 13, 32, 64});
  c.K = pick({3, 5, 8, 16, 24, 33, 48, 64, 70});
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
  // Each slope kind: none (slope 1), relu (0), leaky relu (one a), prelu (a[k]).
  const int act = (int)(rng() % 4);
  const char* acts[] = {"none", "relu", "leaky relu", "prelu"};
  c.act = acts[act];
  if (act == 1) c.slope.assign(c.K, 0.0f);
  if (act == 2) c.slope.assign(c.K, 0.2f);
  if (act == 3)
    for (int64_t k = 0; k < c.K; ++k) c.slope.push_back(std::uniform_real_distribution<float>(-0.5f, 0.5f)(rng));
  return c;
}

std::string describe(const Int8Case& c) {
  return std::to_string(c.N) + "x" + std::to_string(c.C) + "x" + std::to_string(c.H) + "x" + std::to_string(c.W) +
         " -> " + std::to_string(c.K) + ", filter " + std::to_string(c.R) + "x" + std::to_string(c.S) +
         ", border " + std::to_string(c.x.pad) + ", zx " + std::to_string(c.x.zero_point) +
         ", activation " + c.act;
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

// The first element where two buffers differ bit for bit, as a message ("" when equal).
template <class T>
std::string first_difference(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return "sizes differ: " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
      std::ostringstream m;
      m << "element " << i << " of " << got.size() << ": got " << +got[i] << ", the reference " << +want[i];
      return m.str();
    }
  return "";
}

// One random case through `isa` and the reference, both outputs (float NCHW poisoned with
// NaN, quantised into a poisoned activation): "" when they agree bit for bit, else what differs.
std::string compare_with_reference(Int8Isa isa, const Int8Case& c, std::mt19937_64& rng) {
  const float* slope = c.slope.empty() ? nullptr : c.slope.data();
  const size_t ny = (size_t)(c.N * c.K * c.H * c.W);
  std::vector<float> y(ny, std::numeric_limits<float>::quiet_NaN()), y_ref(ny, -1.0f);
  conv2d_int8_forward_isa(isa, c.x, c.w, {slope, nullptr, y.data()});
  conv2d_int8_forward_reference(c.x, c.w, {slope, nullptr, y_ref.data()});
  if (std::string d = first_difference(y, y_ref); !d.empty()) return "float output: " + d;
  // The zero point and scale put the values across the whole [0, 255] range, so saturation
  // at both ends is exercised.
  const float sy = 0.5f * (float)std::uniform_real_distribution<float>(0.002f, 0.05f)(rng);
  const int zy = (int)(rng() % 256);
  QuantActivation q = poisoned_output(c, sy, zy), q_ref = poisoned_output(c, sy, zy);
  conv2d_int8_forward_isa(isa, c.x, c.w, {slope, &q, nullptr});
  conv2d_int8_forward_reference(c.x, c.w, {slope, &q_ref, nullptr});
  if (std::string d = first_difference(q.data, q_ref.data); !d.empty()) return "quantised output: " + d;
  // Every interior value was written (none left at the poison unless it is the value),
  // and the border and padded channels still hold the zero point.
  const QuantActivation fresh = make_quant_activation(c.N, c.K, c.H, c.W, 1, sy, zy);
  for (size_t i = 0; i < q.data.size(); ++i) {
    const int64_t pix = (int64_t)i / q.Cp, ch = (int64_t)i % q.Cp;
    const int64_t x = pix % (c.W + 2) - 1, y = pix / (c.W + 2) % (c.H + 2) - 1;
    const bool interior = x >= 0 && x < c.W && y >= 0 && y < c.H && ch < c.K;
    if (!interior && q.data[i] != fresh.data[i]) return "border or padded channel byte " + std::to_string(i) + " changed";
  }
  return "";
}

void check_path_against_reference(Int8Isa isa) {
  if (!int8_isa_supported(isa)) {
    WARN("skipped: this CPU has no " << int8_isa_name(isa) << " (the int8 path " << int8_isa_name(isa)
                                      << " cannot run here)");
    return;
  }
  std::mt19937_64 rng(std::random_device{}());
  for (int it = 0; it < 60; ++it) {
    const Int8Case c = random_case(rng);
    INFO("path " << int8_isa_name(isa) << ", case " << describe(c));
    const std::string diff = compare_with_reference(isa, c, rng);
    INFO(diff);
    REQUIRE(diff.empty());
  }
}

// The environment variable set for a scope, then restored.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(const std::string& n, const std::string& v) : name(n) {
    if (const char* o = std::getenv(n.c_str())) old = o;
    setenv(n.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old) setenv(name.c_str(), old->c_str(), 1);
    else unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("conv_int8/avx512_vnni_matches_reference_bit_for_bit") { check_path_against_reference(Int8Isa::avx512_vnni); }
TEST_CASE("conv_int8/avx_vnni_matches_reference_bit_for_bit") { check_path_against_reference(Int8Isa::avx_vnni); }
TEST_CASE("conv_int8/avx2_matches_reference_bit_for_bit") { check_path_against_reference(Int8Isa::avx2); }

// Planted bugs, to show that the checks above can fail: (1) the checker itself sees a one-LSB
// change of one output value (float and quantised); (2) for each path, one packed weight
// changed by one (in the layout that path reads: `packed`, or `pairs` for avx2) makes the path
// disagree with the reference (which reads the OIHW copy), so each path really is compared.
TEST_CASE("conv_int8/comparison_catches_a_planted_one_lsb_error") {
  std::mt19937_64 rng(std::random_device{}());
  Int8Case c = random_case(rng);
  INFO(describe(c));
  // Pixel (0, 0, 0) reads the planted weight below at its centre tap with input 255, a change
  // of the sum (at most 2^26 here) that float32 keeps.
  c.x.at(0, 0, 0)[0] = 255;
  const size_t ny = (size_t)(c.N * c.K * c.H * c.W);
  std::vector<float> y_ref(ny);
  conv2d_int8_forward_reference(c.x, c.w, {nullptr, nullptr, y_ref.data()});
  std::vector<float> y = y_ref;
  CHECK(first_difference(y, y_ref).empty());
  const size_t at = rng() % ny;
  y[at] = std::nextafter(y[at], std::numeric_limits<float>::infinity());
  CHECK(first_difference(y, y_ref).find("element " + std::to_string(at)) != std::string::npos);
  std::vector<uint8_t> q = {1, 2, 3}, q_ref = q;
  q[2] ^= 1;
  CHECK(first_difference(q, q_ref) == "element 2 of 3: got 2, the reference 3");

  for (Int8Isa isa : kInt8Isas) {
    if (isa == Int8Isa::reference) continue;
    if (!int8_isa_supported(isa)) {
      WARN("skipped: this CPU has no " << int8_isa_name(isa));
      continue;
    }
    INFO("path " << int8_isa_name(isa));
    Int8Case p = c;
    // Tap (R/2, S/2) of input channel 0 for output channel 0: every output pixel reads it.
    const int64_t tap = c.R / 2 * c.S + c.S / 2, CG = c.w.Cp / 4;
    if (isa == Int8Isa::avx2) {
      int16_t& w = p.w.pairs[((tap * CG + 0) * (c.w.Kp / 8) + 0) * 32];
      w = (int16_t)(w == 127 ? 126 : w + 1);
    } else {
      int8_t& w = p.w.packed[((tap * CG + 0) * (c.w.Kp / 16) + 0) * 64];
      w = (int8_t)(w == 127 ? 126 : w + 1);
    }
    std::vector<float> got(ny, std::numeric_limits<float>::quiet_NaN());
    conv2d_int8_forward_isa(isa, p.x, p.w, {nullptr, nullptr, got.data()});
    // Every pixel of output channel 0 changed; the other channels did not.
    size_t changed = 0, changed_elsewhere = 0;
    const int64_t plane = c.H * c.W;
    for (size_t i = 0; i < ny; ++i) {
      const bool differs = std::memcmp(&got[i], &y_ref[i], sizeof(float)) != 0;
      ((int64_t)i / plane % c.K == 0 ? changed : changed_elsewhere) += differs;
    }
    CHECK(!first_difference(got, y_ref).empty());
    CHECK(changed > 0);
    CHECK(changed_elsewhere == 0);
  }
}

// The default path is the fastest this CPU supports; SRENGINE_INT8_ISA overrides it, and a
// bad value is an error naming the variable and the value, listing the valid and available ones.
TEST_CASE("conv_int8/isa_choice_and_override") {
  std::optional<Int8Isa> best;
  for (Int8Isa isa : kInt8Isas)
    if (!best && int8_isa_supported(isa)) best = isa;
  REQUIRE(best);
  CHECK(int8_isa_supported(Int8Isa::reference));
  {
    ScopedEnv unset("SRENGINE_INT8_ISA", "");
    CHECK(conv2d_int8_selected_isa() == *best);
    CHECK(std::string(conv2d_int8_isa()) == int8_isa_name(*best));
  }
  for (Int8Isa isa : kInt8Isas) {
    if (!int8_isa_supported(isa)) continue;
    ScopedEnv env("SRENGINE_INT8_ISA", int8_isa_name(isa));
    CHECK(conv2d_int8_selected_isa() == isa);
    CHECK(std::string(conv2d_int8_isa()) == int8_isa_name(isa));
  }
  {
    ScopedEnv env("SRENGINE_INT8_ISA", "avx513");
    test::require_error([] { conv2d_int8_isa(); },
                        {"SRENGINE_INT8_ISA='avx513'", "valid: avx512_vnni, avx_vnni, avx2, reference",
                         "available here: "});
    // conv2d_int8_forward itself refuses, before touching the output.
    std::mt19937_64 rng(7);
    const Int8Case c = random_case(rng);
    std::vector<float> y((size_t)(c.N * c.K * c.H * c.W), -3.0f);
    test::require_error([&] { conv2d_int8_forward(c.x, c.w, {nullptr, nullptr, y.data()}); }, {"avx513"});
    CHECK(y[0] == -3.0f);
  }
  bool any_missing = false;
  for (Int8Isa isa : kInt8Isas) {
    if (int8_isa_supported(isa)) continue;
    any_missing = true;
    ScopedEnv env("SRENGINE_INT8_ISA", int8_isa_name(isa));
    test::require_error([] { conv2d_int8_isa(); },
                        {std::string("SRENGINE_INT8_ISA='") + int8_isa_name(isa) + "'", "cannot run", "available here"});
  }
  if (!any_missing) WARN("this CPU runs every int8 path: the error for a path it lacks is not exercised here");
}

// The registry's conv2d_int8 rows (cpu) name exactly the paths, in order, the fastest the default.
TEST_CASE("conv_int8/registry_rows_name_every_path") {
  const auto rows = sr::kernels::variants_of("conv2d_int8", "cpu");
  REQUIRE(rows.size() == std::size(kInt8Isas));
  for (size_t i = 0; i < rows.size(); ++i) {
    CHECK(std::string(rows[i].name) == int8_isa_name(kInt8Isas[i]));
    CHECK(rows[i].is_default == (i == 0));
  }
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
