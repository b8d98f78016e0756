// degrade/: blur (filter2D), PyTorch-semantics resize and USM sharpening against the
// spec's properties and golden values (realesrgan-degradations.md §3, §4, §6, §13 F1 U1 R1).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "data/degrade/blur_kernels.h"
#include "data/degrade/filter2d.h"
#include "data/degrade/resize.h"
#include "data/degrade/usm_sharp.h"

using namespace sr::data::degrade;
using Catch::Detail::Approx;

namespace {

Planes random_planes(int c, int h, int w, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  Planes p(c, h, w);
  for (float& v : p.v) v = u(rng);
  return p;
}

}  // namespace

TEST_CASE("degrade/filter2d_identity_constant_and_reflect_borders") {
  const Planes x = random_planes(3, 23, 31, 1);
  // Pulse: exact identity.
  REQUIRE(filter2d(x, pulse_kernel()).v == x.v);
  // Constant image stays constant under any normalised kernel.
  const Kernel21 k = pad_kernel(gaussian_family_kernel(KernelType::aniso, 9, 2.1, 0.8, 0.7, 1), 9);
  const Planes flat(3, 23, 31, 0.37f);
  for (float v : filter2d(flat, k).v) REQUIRE(v == Approx(0.37f).margin(1e-6));
  // Borders: explicit reflect-101 padding then plain correlation (no flip) with an
  // asymmetric kernel, so a flipped or edge-repeating filter fails.
  std::vector<float> ker(7 * 7);
  std::mt19937 rng(5);
  for (float& v : ker) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  const Planes y = filter2d(x, ker.data(), 7);
  const int h = x.height, w = x.width, pad = 3;
  auto mirror = [](int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; };
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < h; ++i)
      for (int j = 0; j < w; ++j) {
        double s = 0;
        for (int a = 0; a < 7; ++a)
          for (int b = 0; b < 7; ++b) s += ker[a * 7 + b] * x.at(c, mirror(i + a - pad, h), mirror(j + b - pad, w));
        REQUIRE(y.at(c, i, j) == Approx(s).margin(1e-5));
      }
}

TEST_CASE("degrade/filter2d_rejects_images_smaller_than_the_padding") {
  const Kernel21 k = pad_kernel(sinc_kernel(21, 1.0), 21);
  REQUIRE_THROWS_WITH(filter2d(Planes(3, 8, 40), k), Catch::Contains("too small for reflect padding 10"));
  // A 7 x 7 kernel padded to 21 reaches 3 pixels only: fine on an 8-pixel side.
  const Kernel21 small = pad_kernel(gaussian_family_kernel(KernelType::iso, 7, 1, 0, 0, 1), 7);
  REQUIRE(filter2d(Planes(3, 8, 40, 0.5f), small).height == 8);
}

TEST_CASE("degrade/resize_semantics") {
  // Sizes: floor(in f) for a factor, the given size otherwise.
  const Planes x = random_planes(3, 40, 57, 2);
  for (ResizeMode m : {ResizeMode::area, ResizeMode::bilinear, ResizeMode::bicubic}) {
    INFO(resize_mode_name(m));
    Planes y = resize_by_factor(x, 0.37, m);
    REQUIRE((y.height == 14 && y.width == 21));
    y = resize_by_factor(x, 1.43, m);
    REQUIRE((y.height == 57 && y.width == 81));
    y = resize_to(x, 13, 29, m);
    REQUIRE((y.height == 13 && y.width == 29));
    REQUIRE(resize_by_factor(x, 1.0, m).v == x.v);  // keep: exact identity
  }
  // Area x1/2 of an even-sided image is the 2 x 2 mean.
  const Planes even = random_planes(3, 40, 56, 4);
  const Planes half = resize_by_factor(even, 0.5, ResizeMode::area);
  for (int i = 0; i < half.height; ++i)
    for (int j = 0; j < half.width; ++j) {
      const double m = (even.at(1, 2 * i, 2 * j) + even.at(1, 2 * i, 2 * j + 1) + even.at(1, 2 * i + 1, 2 * j) +
                        even.at(1, 2 * i + 1, 2 * j + 1)) / 4.0;
      REQUIRE(half.at(1, i, j) == Approx(m).margin(1e-6));
    }
  // Bilinear with a factor samples at (d + 0.5)/f - 0.5, not at the in/out grid.
  Planes ramp(1, 6, 400);  // every row the same
  for (int j = 0; j < 6 * 400; ++j) ramp.v[j] = (float)((j % 400) * (j % 400)) / 160000.0f;
  const Planes b = resize_by_factor(ramp, 0.3337, ResizeMode::bilinear);
  REQUIRE(b.width == 133);
  for (int d = 0; d < 133; ++d) {
    const double s = (d + 0.5) / 0.3337 - 0.5;
    const int i0 = (int)s;
    const double l = s - i0, expect = (1 - l) * ramp.v[i0] + l * ramp.v[std::min(i0 + 1, 399)];
    REQUIRE(b.v[d] == Approx(expect).margin(1e-6));
  }
  const Planes sized = resize_to(ramp, 2, 133, ResizeMode::bilinear);
  double diff = 0;
  for (int d = 0; d < 133; ++d) diff = std::max(diff, (double)std::fabs(sized.v[d] - b.v[d]));
  REQUIRE(diff > 1e-4);
  // Bicubic (A = -0.75) x2 of a 0 -> 1 step overshoots to [-0.1055, 1.1055].
  Planes step(1, 1, 16);
  for (int j = 8; j < 16; ++j) step.v[j] = 1;
  const Planes up = resize_by_factor(step, 2.0, ResizeMode::bicubic);
  float lo = 1, hi = 0;
  for (float v : up.v) lo = std::min(lo, v), hi = std::max(hi, v);
  REQUIRE(lo == Approx(-0.1055).margin(5e-4));
  REQUIRE(hi == Approx(1.1055).margin(5e-4));
}

TEST_CASE("degrade/usm_sharp_golden_and_range") {
  // U1: a 64 x 64 step image (0.25 | 0.75); row 32, columns 24-39.
  Planes x(3, 64, 64);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 64; ++i)
      for (int j = 0; j < 64; ++j) x.at(c, i, j) = j < 32 ? 0.25f : 0.75f;
  const Planes y = usm_sharp(x);
  const double golden[16] = {0.221359, 0.213659, 0.204863, 0.195091, 0.184541, 0.173485, 0.162261, 0.151254,
                             0.848747, 0.837739, 0.826515, 0.815459, 0.804909, 0.795137, 0.786342, 0.778642};
  for (int c = 0; c < 3; ++c)
    for (int j = 0; j < 16; ++j) REQUIRE(y.at(c, 32, 24 + j) == Approx(golden[j]).margin(2e-6));
  // Constant: unchanged exactly (up to the blur's rounding); random: stays in [0, 1].
  for (float v : usm_sharp(Planes(3, 60, 60, 0.4f)).v) REQUIRE(v == Approx(0.4f).margin(1e-6));
  for (float v : usm_sharp(random_planes(3, 52, 61, 3)).v) REQUIRE((v >= 0 && v <= 1));
}
