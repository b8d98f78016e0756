// Forward semantics of the ops against values computed by PyTorch 1.13 (F.interpolate,
// F.pixel_shuffle/unshuffle, F.conv2d, BCE-with-logits) on small inputs, and against
// direct loops on random inputs; plus the error messages of shape mismatches.
#include <catch2/catch.hpp>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "engine/random.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/window_attention.h"
#include "support/data_support.h"
#include "support/gradcheck.h"

using namespace sr;

namespace {

Tensor arange(int64_t n, const Shape& shape, double scale = 1.0) {
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i * scale;
  return Tensor::from_vector(v, shape, DType::f64);
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  int64_t worst = -1;
  const double ratio = sr::test::tolerance_ratio(got, want, tol, tol, &worst);
  INFO("worst element " << worst << ": got " << (worst >= 0 ? got[worst] : 0) << " want "
                        << (worst >= 0 ? want[worst] : 0));
  CHECK(ratio <= 1.0);
}

}  // namespace

TEST_CASE("ops/upsample_bilinear_matches_torch") {
  Tensor x = arange(12, {1, 2, 2, 3});
  x = mul(x, scale(x, 0.1));  // x*x*0.1 as in the reference
  const std::vector<double> want = {
      0.0, 0.025, 0.075, 0.175, 0.325, 0.4, 0.225, 0.2875, 0.4125, 0.5875, 0.8125, 0.925,
      0.675, 0.8125, 1.0875, 1.4125, 1.7875, 1.975, 0.9, 1.075, 1.425, 1.825, 2.275, 2.5,
      3.6, 3.925, 4.575, 5.275, 6.025, 6.4, 4.725, 5.0875, 5.8125, 6.5875, 7.4125, 7.825,
      6.975, 7.4125, 8.2875, 9.2125, 10.1875, 10.675, 8.1, 8.575, 9.525, 10.525, 11.575, 12.1};
  Tensor y = upsample_bilinear(x, 2);
  CHECK(y.shape() == Shape{1, 2, 4, 6});
  expect_close(y.to_vector(), want);
}

TEST_CASE("ops/pixel_shuffle_matches_torch_ordering") {
  const std::vector<double> want = {0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15,
                                    16, 20, 17, 21, 24, 28, 25, 29, 18, 22, 19, 23, 26, 30, 27, 31};
  Tensor y = pixel_shuffle(arange(32, {1, 8, 2, 2}), 2);
  CHECK(y.shape() == Shape{1, 2, 4, 4});
  expect_close(y.to_vector(), want);
  // Unshuffle inverts shuffle exactly.
  expect_close(pixel_unshuffle(y, 2).to_vector(), arange(32, {1, 8, 2, 2}).to_vector(), 0);
}

TEST_CASE("ops/pixel_unshuffle_matches_torch_ordering") {
  const std::vector<double> want = {0, 4, 32, 36, 1, 5, 33, 37, 2, 6, 34, 38, 3, 7, 35, 39,
                                    8, 12, 40, 44, 9, 13, 41, 45, 10, 14, 42, 46, 11, 15, 43, 47};
  Tensor y = pixel_unshuffle(arange(64, {1, 1, 8, 8}), 4);
  CHECK(y.shape() == Shape{1, 16, 2, 2});
  std::vector<double> got = y.to_vector();
  got.resize(32);
  expect_close(got, want);
}

TEST_CASE("ops/conv2d_stride2_matches_torch") {
  std::vector<double> wv(54), xv(60);
  for (int i = 0; i < 54; ++i) wv[i] = -1.0 + 2.0 * i / 53.0;
  for (int i = 0; i < 60; ++i) xv[i] = -2.0 + 4.0 * i / 59.0;
  Tensor w = Tensor::from_vector(wv, {2, 3, 3, 3}, DType::f64);
  Tensor x = Tensor::from_vector(xv, {1, 3, 5, 4}, DType::f64);
  Tensor b = Tensor::from_vector(std::vector<double>{0.5, -0.25}, {2}, DType::f64);
  const std::vector<double> want = {6.755196674128558, 9.234250079948833, 7.0046370322993265,
                                    8.9214902462424,   2.0580428525743515, 1.704988807163414,
                                    0.20283018867924463, 1.645746722097857, 5.011272785417333,
                                    9.104013431403901, 5.452590342181003, 9.036856411896386};
  Tensor y = conv2d(x, w, b, 2, 1);
  CHECK(y.shape() == Shape{1, 2, 3, 2});
  expect_close(y.to_vector(), want);
}

TEST_CASE("ops/conv2d_matches_direct_loop") {
  // Random shapes, float32 and float64, against a direct 7-loop convolution.
  const uint64_t seed = sr::test::fresh_seed();
  std::mt19937_64 rng(seed);
  INFO("seed " << seed);
  for (DType dt : {DType::f64, DType::f32}) {
    for (int trial = 0; trial < 4; ++trial) {
      std::uniform_int_distribution<int> d(1, 6);
      // H, W >= 5 >= R: a 4-wide input under a 5x5 kernel without padding is no convolution
      // (conv2d refuses it), which W = d + 3 drew for some seeds.
      const int64_t N = d(rng) % 3 + 1, C = d(rng), H = d(rng) + 4, W = d(rng) + 4, K = d(rng);
      const int R = (int)(rng() % 5) + 1, stride = (int)(rng() % 2) + 1, pad = (int)(rng() % R);
      Tensor x = sr::test::random_tensor(rng, {N, C, H, W}, -1, 1, {}, 0, false).to(dt);
      Tensor w = sr::test::random_tensor(rng, {K, C, R, R}, -1, 1, {}, 0, false).to(dt);
      Tensor b = sr::test::random_tensor(rng, {K}, -1, 1, {}, 0, false).to(dt);
      Tensor y = conv2d(x, w, b, stride, pad);
      const int64_t P = (H + 2 * pad - R) / stride + 1, Q = (W + 2 * pad - R) / stride + 1;
      REQUIRE(y.shape() == Shape{N, K, P, Q});
      auto xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), yv = y.to_vector();
      std::vector<double> ref(yv.size());
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t p = 0; p < P; ++p)
            for (int64_t q = 0; q < Q; ++q) {
              double acc = bv[k];
              for (int64_t c = 0; c < C; ++c)
                for (int r = 0; r < R; ++r)
                  for (int s = 0; s < R; ++s) {
                    const int64_t ih = p * stride - pad + r, iw = q * stride - pad + s;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    acc += xv[((n * C + c) * H + ih) * W + iw] * wv[((k * C + c) * R + r) * R + s];
                  }
              ref[((n * K + k) * P + p) * Q + q] = acc;
            }
      expect_close(yv, ref, dt == DType::f64 ? 1e-12 : 1e-5);
    }
  }
}

TEST_CASE("ops/losses_match_definitions") {
  Tensor l = Tensor::from_vector(std::vector<double>{-2.0, -0.5, 0.3, 4.0}, {4}, DType::f64);
  CHECK(bce_with_logits(l, 0.9).item() == Approx(0.9633775419023541).epsilon(1e-14));
  Tensor t = Tensor::from_vector(std::vector<double>{1.0, -1.0, 0.0, 3.0}, {4}, DType::f64);
  CHECK(l1_loss(l, t).item() == Approx((3.0 + 0.5 + 0.3 + 1.0) / 4));
  CHECK(mse_loss(l, t).item() == Approx((9.0 + 0.25 + 0.09 + 1.0) / 4));
  CHECK(charbonnier_loss(l, t, 1e-12).item() == Approx((3.0 + 0.5 + 0.3 + 1.0) / 4).epsilon(1e-9));
  CHECK(hinge_real_loss(l).item() == Approx((3.0 + 1.5 + 0.7 + 0.0) / 4));
  CHECK(hinge_fake_loss(l).item() == Approx((0.0 + 0.5 + 1.3 + 5.0) / 4));
  CHECK(hinge_generator_loss(l).item() == Approx(-(-2.0 - 0.5 + 0.3 + 4.0) / 4));
  CHECK(sum(l).item() == Approx(1.8));
  CHECK(mean(l).item() == Approx(0.45));
}

TEST_CASE("ops/loss_reduction_is_deterministic_in_float32") {
  // Large enough for several reduction blocks and OpenMP threads: the sum must be the same
  // bits every time.
  Tensor x = Tensor::empty({3, 3, 97, 101});
  manual_seed(7);
  normal_(x, 0.0, 1.0);
  const double first = mean(x).item();
  for (int i = 0; i < 5; ++i) CHECK(mean(x).item() == first);
}

TEST_CASE("ops/spectral_norm_power_iteration_matches_definition") {
  // One training step: v = normalize(W^T u), u = normalize(W v), sigma = u.(W v).
  const uint64_t seed = sr::test::fresh_seed();
  std::mt19937_64 rng(seed);
  INFO("seed " << seed);
  Tensor w = sr::test::random_tensor(rng, {3, 4}, -1, 1, {}, 0, false);
  Tensor u = sr::test::random_tensor(rng, {3}, -1, 1, {}, 0, false);
  Tensor v = sr::test::random_tensor(rng, {4}, -1, 1, {}, 0, false);
  auto W = w.to_vector(), U = u.to_vector();
  std::vector<double> V(4, 0.0), U2(3, 0.0);
  for (int c = 0; c < 4; ++c)
    for (int r = 0; r < 3; ++r) V[c] += W[r * 4 + c] * U[r];
  double nv = 0;
  for (double e : V) nv += e * e;
  for (double& e : V) e /= std::sqrt(nv);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) U2[r] += W[r * 4 + c] * V[c];
  double nu = 0;
  for (double e : U2) nu += e * e;
  double sigma = 0;
  for (int r = 0; r < 3; ++r) {
    double wv = 0;
    for (int c = 0; c < 4; ++c) wv += W[r * 4 + c] * V[c];
    U2[r] /= std::sqrt(nu);
    sigma += U2[r] * wv;
  }
  Tensor y = spectral_norm(w, u, v, true);
  expect_close(u.to_vector(), U2, 1e-12);
  expect_close(v.to_vector(), V, 1e-12);
  std::vector<double> want(12);
  for (int i = 0; i < 12; ++i) want[i] = W[i] / sigma;
  expect_close(y.to_vector(), want, 1e-12);
  // Eval mode leaves u and v untouched.
  const std::vector<double> u_before = u.to_vector(), v_before = v.to_vector();
  spectral_norm(w, u, v, false);
  CHECK(u.to_vector() == u_before);
  CHECK(v.to_vector() == v_before);
}

TEST_CASE("ops/shape_mismatch_errors_name_op_and_shapes") {
  Tensor a = Tensor::zeros({2, 3, 4, 4}), b = Tensor::zeros({2, 3, 4, 5});
  CHECK_THROWS_WITH(add(a, b), Catch::Contains("add") && Catch::Contains("[2, 3, 4, 4]") &&
                                   Catch::Contains("[2, 3, 4, 5]"));
  Tensor w = Tensor::zeros({8, 5, 3, 3});
  CHECK_THROWS_WITH(conv2d(a, w, Tensor(), 1, 1),
                    Catch::Contains("conv2d") && Catch::Contains("[2, 3, 4, 4]") &&
                        Catch::Contains("[8, 5, 3, 3]"));
  CHECK_THROWS_WITH(add(a, Tensor::zeros({2, 3, 4, 4}, DType::f64)),
                    Catch::Contains("add") && Catch::Contains("float64"));
  CHECK_THROWS_WITH(pixel_unshuffle(Tensor::zeros({1, 3, 6, 6}), 4),
                    Catch::Contains("pixel_unshuffle") && Catch::Contains("[1, 3, 6, 6]"));
  CHECK_THROWS_WITH(pixel_shuffle(a, 3), Catch::Contains("pixel_shuffle") && Catch::Contains("3"));
  CHECK_THROWS_AS(conv2d(a, Tensor::zeros({8, 3, 3, 3}), Tensor::zeros({7}), 1, 1), sr::Error);
}

// upsample_bilinear in float32 at x2, x3 and x4 against PyTorch's F.interpolate(scale_factor=r,
// mode='bilinear', align_corners=False) run on the same random input, forward and backward
// (the gradient of sum(y * g)), where /usr/bin/python3 has torch (tools/setup.sh --torch);
// skipped with a warning elsewhere. At x3 the weights follow PyTorch's float64 source
// coordinate (kernels/common/math.h); a float32 coordinate gives other weights there.
TEST_CASE("ops/upsample_bilinear_float32_matches_torch") {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: /usr/bin/python3 has no torch (tools/setup.sh --torch)");
    return;
  }
  sr::test::TempDir dir;
  manual_seed(11);
  for (int r : {2, 3, 4}) {
    INFO("r " << r);
    Tensor x = Tensor::empty({2, 3, 5, 7}, DType::f32), g = Tensor::empty({2, 3, 5 * r, 7 * r}, DType::f32);
    uniform_(x, -1.0, 1.0);
    uniform_(g, -1.0, 1.0);
    sr::test::write_bytes(dir.file("x.f32"), std::vector<uint8_t>((const uint8_t*)x.data<float>(),
                                                                 (const uint8_t*)(x.data<float>() + x.numel())));
    sr::test::write_bytes(dir.file("g.f32"), std::vector<uint8_t>((const uint8_t*)g.data<float>(),
                                                                 (const uint8_t*)(g.data<float>() + g.numel())));
    const std::string py =
        "import numpy as np, torch, torch.nn.functional as F\n"
        "d = '" + dir.path() + "'\n"
        "x = torch.from_numpy(np.fromfile(d + '/x.f32', dtype=np.float32).reshape(2, 3, 5, 7)).requires_grad_()\n"
        "g = torch.from_numpy(np.fromfile(d + '/g.f32', dtype=np.float32).reshape(2, 3, 5 * " + std::to_string(r) +
        ", 7 * " + std::to_string(r) + "))\n"
        "y = F.interpolate(x, scale_factor=" + std::to_string(r) + ", mode='bilinear', align_corners=False)\n"
        "(y * g).sum().backward()\n"
        "y.detach().numpy().tofile(d + '/y.f32'); x.grad.numpy().tofile(d + '/dx.f32')\n";
    sr::test::write_text(dir.file("p.py"), py);
    REQUIRE(std::system(("/usr/bin/python3 " + dir.file("p.py") + " > " + dir.file("p.log") + " 2>&1").c_str()) == 0);
    Tensor xr = x.clone();
    xr.set_requires_grad(true);
    Tensor y = upsample_bilinear(xr, r);
    sum(mul(y, g)).backward();
    const std::string ty = sr::test::read_text(dir.file("y.f32")), tdx = sr::test::read_text(dir.file("dx.f32"));
    REQUIRE((int64_t)ty.size() == y.numel() * 4);
    REQUIRE((int64_t)tdx.size() == x.numel() * 4);
    const float* want_y = (const float*)ty.data();
    const float* want_dx = (const float*)tdx.data();
    const Tensor yc = y.contiguous(), dxc = xr.grad().contiguous();
    int y_diff = 0;
    double dx_worst = 0;
    for (int64_t i = 0; i < y.numel(); ++i) y_diff += yc.data<float>()[i] != want_y[i];
    for (int64_t i = 0; i < x.numel(); ++i)
      dx_worst = std::max(dx_worst, (double)std::fabs(dxc.data<float>()[i] - want_dx[i]));
    CHECK(y_diff == 0);       // the forward to the bit
    CHECK(dx_worst < 1e-5);   // the backward sums up to 3r^2 terms in another order than PyTorch
  }
}

// layer_norm on a 2 x 3 example worked by hand, eps = 0 so the values are exact:
//   row [1, 2, 3]:  mean 2, var (1 + 0 + 1) / 3 = 2/3, xhat = [-1, 0, 1] sqrt(3/2)
//   row [-1, 0, 4]: mean 1, var (4 + 1 + 9) / 3 = 14/3, xhat = [-2, -1, 3] / sqrt(14/3)
// then y = xhat * w + b with w = [1, 2, -1], b = [0, 0.5, 1]; without the affine terms and
// with eps = 0.1 the divisors are sqrt(2/3 + 0.1) and sqrt(14/3 + 0.1). float32 as well.
TEST_CASE("ops/layer_norm_matches_hand_computed_values") {
  const double s32 = 1.224744871391589;    // sqrt(3/2)
  const double r143 = 0.4629100498862757;  // 1 / sqrt(14/3)
  const std::vector<double> affine = {-s32, 0.5, 1 - s32, -2 * r143, 0.5 - 2 * r143, 1 - 3 * r143};
  const double a = 1.1420804814403216, c = 0.4580286124143445;  // 1/sqrt(2/3 + 0.1), 1/sqrt(14/3 + 0.1)
  const std::vector<double> plain = {-a, 0, a, -2 * c, -c, 3 * c};
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    const Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, -1, 0, 4}, {2, 3}, dt);
    const Tensor w = Tensor::from_vector(std::vector<double>{1, 2, -1}, {3}, dt), b = Tensor::from_vector(std::vector<double>{0, 0.5, 1}, {3}, dt);
    expect_close(layer_norm(x, w, b, 0.0).to_vector(), affine, tol);
    expect_close(layer_norm(x, Tensor(), Tensor(), 0.1).to_vector(), plain, tol);
    // Any rank: (1, 2, 3) normalises the same rows.
    const Tensor y3 = layer_norm(x.reshape({1, 2, 3}), w, b, 0.0);
    CHECK(y3.shape() == Shape{1, 2, 3});
    expect_close(y3.to_vector(), affine, tol);
  }
  // A row of one value normalises to 0 (y = bias), whatever the value.
  expect_close(layer_norm(Tensor::from_vector(std::vector<double>{5, -3}, {2, 1}, DType::f64), Tensor(),
                          Tensor::from_vector(std::vector<double>{0.25}, {1}, DType::f64)).to_vector(),
               {0.25, 0.25});
}

// gelu(x) = x Phi(x) with the normal CDF's tabulated values: Phi(1) = 0.8413447460685429,
// Phi(2) = 0.9772498680518208, Phi(-x) = 1 - Phi(x); the derivative Phi(x) + x phi(x) with
// phi(1) = exp(-1/2) / sqrt(2 pi) = 0.24197072451914337, phi(0) = 0.3989422804014327.
TEST_CASE("ops/gelu_matches_closed_form") {
  const double phi1 = 0.8413447460685429, phi2 = 0.9772498680518208, pdf1 = 0.24197072451914337;
  const std::vector<double> xs = {1, -1, 0, 2, -2};
  const std::vector<double> want = {phi1, -(1 - phi1), 0, 2 * phi2, -2 * (1 - phi2)};
  const std::vector<double> dwant = {phi1 + pdf1, (1 - phi1) - pdf1, 0.5, phi2 + 2 * 0.05399096651318806,
                                     (1 - phi2) - 2 * 0.05399096651318806};  // phi(2) = 0.05399...
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    Tensor x = Tensor::from_vector(xs, {5}, dt);
    x.set_requires_grad(true);
    const Tensor y = gelu(x);
    expect_close(y.to_vector(), want, tol);
    sum(y).backward();
    expect_close(x.grad().to_vector(), dwant, tol);
  }
}

// The float32 GELU (cpu::gelu_forward / gelu_backward<float>: polynomials and a float exp,
// kernels/cpu/elementwise.cpp) against the float64 reference (math::gelu, gelu_grad through
// the <double> kernels) on the same inputs: 2^21 + 1 points of [-10, 10] (the float loop, as
// it runs, vectorised), a band of [-14, -10] where Phi underflows, and the special values.
// Errors are in eps = 2^-23 units of a scale: for gelu max(|ref|, min(|x|, 1)) (relative
// near 0, where gelu(x) ~ x/2 must keep its digits; absolute around the dip of x < 0), for
// gelu' max(|ref|, 1) times |dy|. Tolerance 2 eps: the result's rounding (0.5) plus Phi's
// error (polynomial fits <= 2e-9, their float evaluation measured <= 0.7 eps by
// tools/fit_gelu_float.py) times |x| / scale <= 1, plus the rounding of x Phi or x phi, leaves
// ~0.3 eps for builds with and without FMA contraction (measured here: 1.0 eps for gelu, 1.32
// for gelu', with AVX-512 and FMA). Two digits swapped in the 5th place of Pa's third or
// Qb's fourth coefficient cost 25 and 22 eps.
TEST_CASE("ops/gelu_float_path_matches_double_reference") {
  std::vector<float> xs;
  const int steps = 1 << 21;
  for (int k = 0; k <= steps; ++k) xs.push_back((float)(-10.0 + 20.0 * k / steps));
  for (int k = 0; k <= 40000; ++k) xs.push_back((float)(-14.0 + 4.0 * k / 40000));
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float fmax = std::numeric_limits<float>::max(), fmin = std::numeric_limits<float>::min();
  const float dmin = std::numeric_limits<float>::denorm_min();
  const size_t sweep = xs.size();
  for (float v : {0.f, -0.f, inf, -inf, nan, -nan, fmax, -fmax, 3e38f, -3e38f, 1e30f, -1e30f, 1e20f, -1e20f, 100.f,
                  -100.f, 20.f, -20.f, 1e-30f, -1e-30f, 1e-10f, -1e-10f, fmin, -fmin, dmin, -dmin})
    xs.push_back(v);
  for (float edge : {1.41421356f, 13.1909059f}) {  // the split at sqrt 2; x^2 / 2 = 87
    for (float v = edge, k = 0; k < 4; ++k, v = std::nextafter(v, 0.f)) xs.insert(xs.end(), {v, -v});
    for (float v = edge, k = 0; k < 4; ++k, v = std::nextafter(v, inf)) xs.insert(xs.end(), {v, -v});
  }
  const size_t n = xs.size();
  std::vector<float> dy(n), y(n), dx(n);
  for (size_t i = 0; i < n; ++i) dy[i] = i % 3 == 0 ? 1.f : (i % 3 == 1 ? -2.5f : 0.375f);
  std::vector<double> xd(xs.begin(), xs.end()), dyd(dy.begin(), dy.end()), yd(n), dxd(n);
  cpu::gelu_forward<float>(xs.data(), y.data(), (int64_t)n);
  cpu::gelu_backward<float>(xs.data(), dy.data(), dx.data(), (int64_t)n);
  cpu::gelu_forward<double>(xd.data(), yd.data(), (int64_t)n);
  cpu::gelu_backward<double>(xd.data(), dyd.data(), dxd.data(), (int64_t)n);

  const double eps = std::ldexp(1.0, -23), tol = 2.0;
  struct Worst {
    double units = 0, x = 0, got = 0, ref = 0;
  } fwd, bwd;
  int special_mismatches = 0;
  // At x = 0, +-inf and NaN the float64 value exactly (rounded to float, the sign of a zero
  // included): NaN where the float64 formulas give NaN (gelu(-inf), gelu'(+-inf): inf * 0).
  // Elsewhere in the tails the float64 reference is only good absolutely (1 + erf(x / sqrt 2)
  // is 0 in float64 below x = -8.3, where the float path still gives x Phi(x) = -4e-16).
  auto same_special = [](float got, double ref) {
    const float r = (float)ref;
    return std::isnan(r) ? std::isnan(got) : std::memcmp(&got, &r, sizeof(float)) == 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const double x = xd[i];
    for (int pass = 0; pass < 2; ++pass) {
      const double ref = pass == 0 ? yd[i] : dxd[i], got = pass == 0 ? y[i] : dx[i];
      if (!std::isfinite(ref) || !std::isfinite(x) || x == 0) {
        if (!same_special(pass == 0 ? y[i] : dx[i], ref)) {
          ++special_mismatches;
          UNSCOPED_INFO((pass ? "gelu'" : "gelu") << "(" << x << ") = " << got << ", float64 " << ref);
        }
        continue;
      }
      // Never below FLT_MIN: a subnormal result has absolute steps of 2^-149 (gelu(denorm_min)
      // is half of one and rounds to 0).
      const double scale = std::max<double>(pass == 0 ? std::max(std::fabs(ref), std::min(std::fabs(x), 1.0))
                                                      : std::max(std::fabs(ref), std::fabs(dyd[i])),
                                            fmin);
      const double units = std::fabs(got - ref) / (scale * eps);
      Worst& w = pass == 0 ? fwd : bwd;
      if (!std::isnan(w.units) && !(units <= w.units)) w = {units, x, got, ref};  // a NaN stays the worst
    }
  }
  INFO("gelu: max error " << fwd.units << " eps at x = " << fwd.x << " (" << fwd.got << " vs " << fwd.ref
                          << "); gelu': max error " << bwd.units << " eps at x = " << bwd.x << " (" << bwd.got
                          << " vs " << bwd.ref << "); tolerance " << tol << " eps; " << sweep << " swept, "
                          << n - sweep << " special");
  CHECK(fwd.units <= tol);
  CHECK(bwd.units <= tol);
  CHECK(special_mismatches == 0);
}

// transpose of (B, M, N) -> (B, N, M) as index arithmetic, dims (1, 2) and (2, 1); other dims
// and ranks are errors naming the op and the dims.
TEST_CASE("ops/transpose_tokens_layout_and_errors") {
  const Tensor x = arange(2 * 3 * 5, {2, 3, 5});
  for (auto [d0, d1] : {std::pair<int, int>{1, 2}, {2, 1}}) {
    const Tensor y = transpose(x, d0, d1);
    CHECK(y.shape() == Shape{2, 5, 3});
    const std::vector<double> v = y.to_vector();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t j = 0; j < 5; ++j)
        for (int64_t i = 0; i < 3; ++i) CHECK(v[(b * 5 + j) * 3 + i] == (double)((b * 3 + i) * 5 + j));
  }
  CHECK_THROWS_WITH(transpose(x, 0, 1), Catch::Contains("transpose") && Catch::Contains("(0, 1)"));
  CHECK_THROWS_WITH(transpose(x, 1, 1), Catch::Contains("transpose") && Catch::Contains("(1, 1)"));
  CHECK_THROWS_WITH(transpose(Tensor::zeros({2, 3, 4, 5}), 1, 2),
                    Catch::Contains("transpose") && Catch::Contains("[2, 3, 4, 5]"));
  CHECK_THROWS_WITH(layer_norm(x, Tensor::zeros({4}, DType::f64), Tensor()),
                    Catch::Contains("layer_norm") && Catch::Contains("weight") && Catch::Contains("[4]"));
  CHECK_THROWS_WITH(layer_norm(Tensor::zeros({5}, DType::f64), Tensor(), Tensor()),
                    Catch::Contains("layer_norm") && Catch::Contains("[5]"));
  CHECK_THROWS_WITH(layer_norm(x, Tensor(), Tensor(), -1.0), Catch::Contains("layer_norm") && Catch::Contains("-1"));
}

namespace {

// Swin's window attention written out as its PyTorch module computes it, with plain loops:
// relative_position_index from the meshgrid of the window's coordinates, calculate_mask's
// labels from torch-style slices of the (already rolled) image, window_partition of the
// labels, and q scaled before q @ k^T, then + bias, + mask, softmax, @ v.
struct SwinCase {
  int64_t images, H, W;
  int ws, nh, d, shift;
};

// torch's slice(start, stop) of an axis of size n as [begin, end): negative bounds count from
// the end, a missing stop (stop == 0 with none = true) is n.
std::pair<int64_t, int64_t> torch_slice(int64_t start, int64_t stop, int64_t n, bool none = false) {
  auto norm = [n](int64_t v) { return v < 0 ? n + v : v; };
  return {norm(start), none ? n : norm(stop)};
}

std::vector<double> swin_attention_reference(const SwinCase& c, const std::vector<double>& qkv,
                                             const std::vector<double>& table, double scale, bool use_mask) {
  const int ws = c.ws, N = ws * ws, nh = c.nh, d = c.d, C = nh * d;
  // relative_position_index: coords (2, N) of torch.meshgrid(arange(ws), arange(ws)) flattened,
  // relative = coords[:, :, None] - coords[:, None, :], + (ws - 1), row term * (2 ws - 1), summed.
  std::vector<int> ch(N), cw(N), index((size_t)N * N);
  for (int a = 0; a < ws; ++a)
    for (int b = 0; b < ws; ++b) ch[a * ws + b] = a, cw[a * ws + b] = b;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) index[(size_t)i * N + j] = (ch[i] - ch[j] + ws - 1) * (2 * ws - 1) + (cw[i] - cw[j] + ws - 1);
  // calculate_mask: img_mask[h_slice, w_slice] = cnt over the three slices of each axis.
  std::vector<int> img((size_t)(c.H * c.W), 0);
  if (c.shift > 0) {
    const std::pair<int64_t, int64_t> hs[3] = {torch_slice(0, -ws, c.H), torch_slice(-ws, -c.shift, c.H),
                                               torch_slice(-c.shift, 0, c.H, true)};
    const std::pair<int64_t, int64_t> wsl[3] = {torch_slice(0, -ws, c.W), torch_slice(-ws, -c.shift, c.W),
                                                torch_slice(-c.shift, 0, c.W, true)};
    int cnt = 0;
    for (auto [h0, h1] : hs)
      for (auto [w0, w1] : wsl) {
        for (int64_t y = h0; y < h1; ++y)
          for (int64_t x = w0; x < w1; ++x) img[(size_t)(y * c.W + x)] = cnt;
        ++cnt;
      }
  }
  // window_partition of the labels: window w (row-major), token t (row-major in the window).
  const int64_t nWw = c.W / ws, nW = (c.H / ws) * nWw, B_ = c.images * nW;
  std::vector<double> out((size_t)(B_ * N * C));
  std::vector<double> S(N);
  for (int64_t b = 0; b < B_; ++b) {
    const int64_t w = b % nW;
    auto label = [&](int t) { return img[(size_t)(((w / nWw) * ws + t / ws) * c.W + (w % nWw) * ws + t % ws)]; };
    for (int h = 0; h < nh; ++h)
      for (int i = 0; i < N; ++i) {
        double m = -1e300;
        for (int j = 0; j < N; ++j) {
          double dotp = 0;
          for (int e = 0; e < d; ++e)
            dotp += (qkv[(size_t)((b * N + i) * 3 * C + h * d + e)] * scale) * qkv[(size_t)((b * N + j) * 3 * C + C + h * d + e)];
          S[j] = dotp + table[(size_t)index[(size_t)i * N + j] * nh + h] + (use_mask && label(i) != label(j) ? -100.0 : 0.0);
          m = std::max(m, S[j]);
        }
        double l = 0;
        for (int j = 0; j < N; ++j) l += (S[j] = std::exp(S[j] - m));
        for (int e = 0; e < d; ++e) {
          double acc = 0;
          for (int j = 0; j < N; ++j) acc += S[j] / l * qkv[(size_t)((b * N + j) * 3 * C + 2 * C + h * d + e)];
          out[(size_t)((b * N + i) * C + h * d + e)] = acc;
        }
      }
  }
  return out;
}

}  // namespace

TEST_CASE("ops/window_attention_matches_swin_composition") {
  std::mt19937_64 rng(sr::test::fresh_seed());
  const SwinCase cases[] = {{2, 8, 12, 4, 3, 5, 2}, {2, 8, 12, 4, 3, 5, 0}, {1, 6, 9, 3, 2, 4, 1}, {2, 16, 8, 8, 2, 6, 4}};
  for (const SwinCase& c : cases) {
    INFO("ws " << c.ws << " shift " << c.shift << " H " << c.H << " W " << c.W);
    const int N = c.ws * c.ws, R = 2 * c.ws - 1;
    const int64_t B_ = c.images * (c.H / c.ws) * (c.W / c.ws);
    const double sc = 1 / std::sqrt((double)c.d);
    const Tensor qkv = sr::test::random_tensor(rng, {B_, N, 3 * c.nh * c.d}, -2, 2, {}, 0, false);
    const Tensor table = sr::test::random_tensor(rng, {R * R, c.nh}, -1, 1, {}, 0, false);
    const auto want = swin_attention_reference(c, qkv.to_vector(), table.to_vector(), sc, true);
    const Tensor y = window_attention(qkv, table, c.nh, c.H, c.W, c.ws, c.shift, sc);
    CHECK(y.shape() == Shape{B_, N, c.nh * c.d});
    expect_close(y.to_vector(), want, 1e-12);
    // float32 on the CPU: the same within float rounding.
    expect_close(window_attention(qkv.to(DType::f32), table.to(DType::f32), c.nh, c.H, c.W, c.ws, c.shift, sc)
                     .to_vector(),
                 want, 1e-5);
    if (c.shift > 0) {
      // The mask is there: without it the windows with several regions attend differently.
      const auto unmasked = swin_attention_reference(c, qkv.to_vector(), table.to_vector(), sc, false);
      double most = 0;
      for (size_t k = 0; k < want.size(); ++k) most = std::max(most, std::fabs(want[k] - unmasked[k]));
      CHECK(most > 1e-2);
    }
  }
}

// The CPU kernel's float path (float buffers and float sums, kernels/cpu/window_attention.cpp's
// WindowFastFloat) against its double reference on the same inputs, SwinIR-shaped (ws 8, d 30,
// shift 4), 12 windows so that dtable's 8-window chunks have a partial last one; each result
// within 1e-5 of the double one relative to the largest magnitude of that tensor.
namespace {

struct WindowAttentionRun {
  std::vector<float> out, dqkv, dtable;
};

WindowAttentionRun window_attention_float(const WindowAttentionShape& s, const std::vector<float>& qkv,
                                          const std::vector<float>& table, const std::vector<float>& dout) {
  WindowAttentionRun r{std::vector<float>(dout.size()), std::vector<float>(qkv.size()), std::vector<float>(table.size())};
  sr::cpu::window_attention_forward<float>(qkv.data(), table.data(), r.out.data(), s);
  sr::cpu::window_attention_backward<float>(qkv.data(), table.data(), dout.data(), r.dqkv.data(), r.dtable.data(), s);
  return r;
}

void expect_close_to_scale(const std::vector<float>& got, const std::vector<double>& want, double rel) {
  REQUIRE(got.size() == want.size());
  double scale = 0, worst = 0;
  size_t at = 0;
  for (double w : want) scale = std::max(scale, std::fabs(w));
  for (size_t k = 0; k < want.size(); ++k)
    if (std::fabs((double)got[k] - want[k]) > worst) worst = std::fabs((double)got[k] - want[k]), at = k;
  INFO("scale " << scale << ", worst element " << at << ": got " << got[at] << " want " << want[at]);
  CHECK(scale > 0);
  CHECK(worst <= rel * scale);
}

}  // namespace

TEST_CASE("ops/window_attention_float_path_matches_double") {
  std::mt19937_64 rng(sr::test::fresh_seed());
  WindowAttentionShape s;
  s.heads = 3, s.head_dim = 30, s.H = 24, s.W = 16, s.window = 8, s.shift = 4, s.scale = 1 / std::sqrt(30.0);
  s.windows = 2 * (s.H / s.window) * (s.W / s.window);  // 12
  const int64_t N = s.tokens(), C = s.channels();
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto draw = [&](int64_t n, float k) {
    std::vector<float> v((size_t)n);
    for (float& x : v) x = k * u(rng);
    return v;
  };
  const auto qkv = draw(s.windows * N * 3 * C, 2.f), table = draw(s.table_rows() * s.heads, 1.f),
             dout = draw(s.windows * N * C, 1.f);
  auto wide = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  const auto qkv64 = wide(qkv), table64 = wide(table), dout64 = wide(dout);
  std::vector<double> out64(dout.size()), dqkv64(qkv.size()), dtable64(table.size());
  sr::cpu::window_attention_forward<double>(qkv64.data(), table64.data(), out64.data(), s);
  sr::cpu::window_attention_backward<double>(qkv64.data(), table64.data(), dout64.data(), dqkv64.data(),
                                             dtable64.data(), s);
  const WindowAttentionRun f = window_attention_float(s, qkv, table, dout);
  {
    INFO("out");
    expect_close_to_scale(f.out, out64, 1e-5);
  }
  {
    INFO("dqkv");
    expect_close_to_scale(f.dqkv, dqkv64, 1e-5);
  }
  {
    INFO("dtable");
    expect_close_to_scale(f.dtable, dtable64, 1e-5);
  }
  // Each of dq, dk, dv alone (a wrong one could hide below another's scale).
  for (int part = 0; part < 3; ++part) {
    INFO("dqkv part " << part);
    std::vector<float> g;
    std::vector<double> w;
    for (int64_t r = 0; r < s.windows * N; ++r)
      for (int64_t c = part * C; c < (part + 1) * C; ++c)
        g.push_back(f.dqkv[(size_t)(r * 3 * C + c)]), w.push_back(dqkv64[(size_t)(r * 3 * C + c)]);
    expect_close_to_scale(g, w, 1e-5);
  }
  // dqkv alone and dtable alone give the same values as together.
  std::vector<float> dq_only(qkv.size()), dt_only(table.size());
  sr::cpu::window_attention_backward<float>(qkv.data(), table.data(), dout.data(), dq_only.data(), nullptr, s);
  sr::cpu::window_attention_backward<float>(qkv.data(), table.data(), dout.data(), nullptr, dt_only.data(), s);
  CHECK(dq_only == f.dqkv);
  CHECK(dt_only == f.dtable);
}

TEST_CASE("ops/window_attention_float_path_does_not_depend_on_thread_count") {
  std::mt19937_64 rng(sr::test::fresh_seed());
  WindowAttentionShape s;
  s.heads = 3, s.head_dim = 30, s.H = 24, s.W = 16, s.window = 8, s.shift = 4, s.scale = 1 / std::sqrt(30.0);
  s.windows = 2 * (s.H / s.window) * (s.W / s.window);
  const int64_t N = s.tokens(), C = s.channels();
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  auto draw = [&](int64_t n) {
    std::vector<float> v((size_t)n);
    for (float& x : v) x = u(rng);
    return v;
  };
  const auto qkv = draw(s.windows * N * 3 * C), table = draw(s.table_rows() * s.heads), dout = draw(s.windows * N * C);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const WindowAttentionRun one = window_attention_float(s, qkv, table, dout);
  omp_set_num_threads(2);
  const WindowAttentionRun two = window_attention_float(s, qkv, table, dout);
  omp_set_num_threads(saved);
  CHECK(one.out == two.out);
  CHECK(one.dqkv == two.dqkv);
  CHECK(one.dtable == two.dtable);
}

TEST_CASE("ops/window_attention_no_windows_zeroes_dtable") {
  WindowAttentionShape s;
  s.heads = 2, s.head_dim = 4, s.H = 8, s.W = 8, s.window = 4, s.shift = 2, s.scale = 0.5, s.windows = 0;
  std::vector<float> table(s.table_rows() * s.heads, 1.f), dtable(table.size(), 7.f);
  std::vector<double> table64(table.size(), 1.0), dtable64(table.size(), 7.0);
  sr::cpu::window_attention_backward<float>(nullptr, table.data(), nullptr, nullptr, dtable.data(), s);
  sr::cpu::window_attention_backward<double>(nullptr, table64.data(), nullptr, nullptr, dtable64.data(), s);
  CHECK(dtable == std::vector<float>(table.size(), 0.f));
  CHECK(dtable64 == std::vector<double>(table.size(), 0.0));
}

TEST_CASE("ops/window_attention_argument_errors") {
  const Tensor qkv = Tensor::zeros({8, 16, 24}, DType::f64), table = Tensor::zeros({49, 2}, DType::f64);
  CHECK_NOTHROW(window_attention(qkv, table, 2, 8, 16, 4, 2, 0.5));
  CHECK_THROWS_WITH(window_attention(qkv, table, 2, 8, 16, 4, 4, 0.5),
                    Catch::Contains("window_attention") && Catch::Contains("shift 4"));
  CHECK_THROWS_WITH(window_attention(qkv, table, 2, 8, 12, 4, 0, 0.5),
                    Catch::Contains("window_attention") && Catch::Contains("8x12"));
  CHECK_THROWS_WITH(window_attention(qkv, table, 2, 8, 16, 8, 0, 0.5),
                    Catch::Contains("window_attention") && Catch::Contains("[8, 16, 24]"));
  CHECK_THROWS_WITH(window_attention(qkv, Tensor::zeros({25, 2}, DType::f64), 2, 8, 16, 4, 0, 0.5),
                    Catch::Contains("relative_position_bias_table") && Catch::Contains("[25, 2]"));
  CHECK_THROWS_WITH(window_attention(qkv, table, 5, 8, 16, 4, 0, 0.5),
                    Catch::Contains("window_attention") && Catch::Contains("num_heads (5)"));
}

// Swin's shifted windows against a construction written from the definition, not from the
// kernels' index formula (kernels/common/window_index.h): torch.roll(x, (-s, -s), (1, 2)) built
// with plain loops over (b, y, x) from roll's definition out[i] = in[(i - k) mod n], k = -s,
// then the windows cut out in order (image, window row, window column, token row, token
// column). float64 and float32, several windows per side, shifts 0 to ws - 1, B = 2, odd C.
TEST_CASE("ops/window_partition_matches_roll_then_cut") {
  const uint64_t seed = sr::test::fresh_seed();
  std::mt19937_64 rng(seed);
  INFO("seed " << seed);
  const int64_t B = 2, H = 8, W = 12, C = 3;
  const int ws = 4;
  for (DType dt : {DType::f64, DType::f32}) {
    const Tensor x = sr::test::random_tensor(rng, {B, H * W, C}, -1, 1, {}, 0, false).to(dt);
    const std::vector<double> xv = x.to_vector();
    for (int shift = 0; shift < ws; ++shift) {
      INFO("shift " << shift << " dtype " << dtype_name(dt));
      // rolled[b][y][x][c], by torch.roll's definition with k = -shift on both axes.
      const int64_t k = -shift;
      std::vector<double> rolled(xv.size());
      for (int64_t b = 0; b < B; ++b)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t xx = 0; xx < W; ++xx) {
            const int64_t sy = ((y - k) % H + H) % H, sx = ((xx - k) % W + W) % W;
            for (int64_t c = 0; c < C; ++c)
              rolled[((b * H + y) * W + xx) * C + c] = xv[((b * H + sy) * W + sx) * C + c];
          }
      std::vector<double> want;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t wy = 0; wy < H / ws; ++wy)
          for (int64_t wx = 0; wx < W / ws; ++wx)
            for (int64_t ty = 0; ty < ws; ++ty)
              for (int64_t tx = 0; tx < ws; ++tx)
                for (int64_t c = 0; c < C; ++c)
                  want.push_back(rolled[((b * H + wy * ws + ty) * W + wx * ws + tx) * C + c]);
      const Tensor win = window_partition(x, H, W, ws, shift);
      REQUIRE(win.shape() == Shape{B * (H / ws) * (W / ws), ws * ws, C});
      CHECK(win.to_vector() == want);  // a permutation: exact
      // merge(partition(x)) == x exactly.
      const Tensor back = window_merge(win, H, W, ws, shift);
      REQUIRE(back.shape() == x.shape());
      CHECK(back.to_vector() == xv);
    }
  }
}

// F.pad(torch.arange(12.).view(1, 1, 3, 4), (0, 2, 0, 1), 'reflect') as PyTorch gives it: the
// last row mirrors row 1 (not the edge row 2), the two last columns mirror columns 2 and 1.
// The backward of sum(y): how many times each x element appears in y.
TEST_CASE("ops/pad_reflect_matches_torch") {
  Tensor x = arange(12, {1, 1, 3, 4});
  x.set_requires_grad(true);
  const Tensor y = pad_reflect(x, 1, 2);
  REQUIRE(y.shape() == Shape{1, 1, 4, 6});
  const std::vector<double> want = {0, 1, 2,  3,  2,  1,  //
                                    4, 5, 6,  7,  6,  5,  //
                                    8, 9, 10, 11, 10, 9,  //
                                    4, 5, 6,  7,  6,  5};
  CHECK(y.to_vector() == want);
  sum(y).backward();
  const std::vector<double> counts = {1, 2, 2, 1,  //
                                      2, 4, 4, 2,  //
                                      1, 2, 2, 1};
  CHECK(x.grad().to_vector() == counts);
  // crop undoes it.
  CHECK(crop(y, 3, 4).to_vector() == arange(12, {1, 1, 3, 4}).to_vector());
  CHECK(crop(y, 2, 3).to_vector() == std::vector<double>{0, 1, 2, 4, 5, 6});
}

TEST_CASE("ops/window_and_pad_errors_name_op_and_values") {
  using Catch::Contains;
  const Tensor t = Tensor::zeros({2, 48, 5});  // 6 x 8 tokens
  CHECK_NOTHROW(window_partition(t, 6, 8, 2, 1));
  CHECK_THROWS_WITH(window_partition(t, 6, 8, 4, 0), Contains("window_partition") && Contains("H 6") &&
                                                         Contains("multiples of window_size 4"));
  CHECK_THROWS_WITH(window_partition(t, 6, 8, 2, 2), Contains("window_partition") && Contains("shift 2"));
  CHECK_THROWS_WITH(window_partition(t, 6, 8, 2, -1), Contains("window_partition") && Contains("shift -1"));
  CHECK_THROWS_WITH(window_partition(t, 6, 8, 0, 0), Contains("window_partition") && Contains("window_size 0"));
  CHECK_THROWS_WITH(window_partition(t, 4, 8, 2, 0), Contains("window_partition") && Contains("48 tokens") &&
                                                         Contains("32"));
  CHECK_THROWS_WITH(window_partition(Tensor::zeros({2, 48}), 6, 8, 2, 0),
                    Contains("window_partition") && Contains("3-D") && Contains("[2, 48]"));
  const Tensor w = Tensor::zeros({24, 4, 5});  // 2 images of 12 windows of 2 x 2
  CHECK_NOTHROW(window_merge(w, 6, 8, 2, 1));
  CHECK_THROWS_WITH(window_merge(w, 6, 8, 3, 0), Contains("window_merge") && Contains("window_size 3"));
  CHECK_THROWS_WITH(window_merge(w, 10, 8, 2, 0), Contains("window_merge") && Contains("24 windows") &&
                                                      Contains("of 20 windows"));
  CHECK_THROWS_WITH(window_merge(Tensor::zeros({24, 9, 5}), 6, 8, 2, 0),
                    Contains("window_merge") && Contains("9 tokens"));
  CHECK_THROWS_WITH(window_merge(w, 6, 8, 2, 3), Contains("window_merge") && Contains("shift 3"));
  CHECK_THROWS_WITH(window_merge(Tensor::zeros({24, 4, 5, 1}), 6, 8, 2, 0),
                    Contains("window_merge") && Contains("3-D"));
  const Tensor img = Tensor::zeros({1, 3, 5, 4});
  CHECK_NOTHROW(pad_reflect(img, 4, 3));
  CHECK_THROWS_WITH(pad_reflect(img, 5, 0), Contains("pad_reflect") && Contains("bottom 5") && Contains("height 5"));
  CHECK_THROWS_WITH(pad_reflect(img, 0, 4), Contains("pad_reflect") && Contains("right 4") && Contains("width 4"));
  CHECK_THROWS_WITH(pad_reflect(img, -1, 0), Contains("pad_reflect") && Contains("bottom -1"));
  CHECK_THROWS_WITH(pad_reflect(Tensor::zeros({3, 5, 4}), 1, 1), Contains("pad_reflect") && Contains("4-D"));
  CHECK_THROWS_WITH(crop(img, 6, 4), Contains("crop") && Contains("height 6"));
  CHECK_THROWS_WITH(crop(img, 5, 5), Contains("crop") && Contains("width 5"));
  CHECK_THROWS_WITH(crop(img, -1, 2), Contains("crop") && Contains("height -1"));
}
