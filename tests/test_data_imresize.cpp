// MATLAB-compatible bicubic resize against the independent numpy reference
// (tools/ref_imresize_metrics.py, committed outputs in tests/fixtures/data), plus the
// properties any correct implementation has.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "data/image_io.h"
#include "data/imresize.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;

TEST_CASE("data/imresize_matches_reference") {
  std::ifstream in(test::data_fixture("expected.json"));
  const nlohmann::json expected = nlohmann::json::parse(in);
  REQUIRE(expected["resize"].size() >= 5);
  for (const auto& c : expected["resize"]) {
    const std::string name = c["input"];
    const double scale = c["scale"];
    INFO(name << " at scale " << scale);
    const Image src = read_image(test::data_fixture(name));
    const Image ref = test::read_f32_fixture(c["output"]);
    const Image out = imresize(src, scale);
    REQUIRE(out.width == ref.width);
    REQUIRE(out.height == ref.height);
    REQUIRE(out.channels == ref.channels);
    // Float agreement: both compute in double, the files hold float32.
    double worst = 0;
    int level_diffs = 0, worst_level = 0;
    for (size_t i = 0; i < out.pixels.size(); ++i) {
      const double r = ref.pixels[i];
      worst = std::max(worst, std::fabs(out.pixels[i] - r) / (1e-6 + 1e-6 * std::fabs(r)));
      const int d = std::abs((int)quantize_u8(out.pixels[i]) - (int)quantize_u8(ref.pixels[i]));
      level_diffs += d != 0;
      worst_level = std::max(worst_level, d);
    }
    INFO("worst float error " << worst << " of the 1e-6 + 1e-6|ref| budget; " << level_diffs
                              << " samples differ after 8-bit rounding");
    CHECK(worst <= 1.0);
    CHECK(worst_level <= 1);
    // Overshoot is kept (no clamp): bicubic rings past [0, 1] on these edges.
  }
}

TEST_CASE("data/imresize_weights") {
  // x1/4 antialiased: kernel width 16 -> 18 candidate taps, the two edge columns are
  // always zero and dropped; every row sums to 1.
  const ResizeWeights w = resize_weights(60, 15, 0.25);
  CHECK(w.taps == 16);
  for (int i = 0; i < 15; ++i) {
    double s = 0;
    for (int k = 0; k < w.taps; ++k) s += w.weights[(size_t)i * w.taps + k];
    CHECK(std::fabs(s - 1) < 1e-12);
  }
  // Output 1 of x1/4 is centred at u = 1/0.25 + 0.5 (1 - 4) = 2.5 (1-based), i.e. between
  // input pixels 1 and 2 (0-based): symmetric weights around them.
  const double* row0 = &w.weights[0];
  const int first = w.first[0];
  auto weight_of = [&](int j) { return j - first >= 0 && j - first < w.taps ? row0[j - first] : 0.0; };
  CHECK(std::fabs(weight_of(1) - weight_of(2)) < 1e-12);
  CHECK(std::fabs(weight_of(0) - weight_of(3)) < 1e-12);
  CHECK(cubic_kernel(0) == 1.0);
  CHECK(cubic_kernel(1) == 0.0);
  CHECK(cubic_kernel(2) == 0.0);
  CHECK(std::fabs(cubic_kernel(0.5) - 0.5625) < 1e-15);   // 1.5/8 - 2.5/4 + 1
  CHECK(std::fabs(cubic_kernel(1.5) + 0.0625) < 1e-15);   // -0.5*3.375 + 2.5*2.25 - 6 + 2
  // Symmetric padding: -1 -> 0, -2 -> 1, L -> L-1, and a period of 2L beyond.
  CHECK(mirror_index(-1, 5) == 0);
  CHECK(mirror_index(-2, 5) == 1);
  CHECK(mirror_index(5, 5) == 4);
  CHECK(mirror_index(6, 5) == 3);
  CHECK(mirror_index(-7, 5) == 3);
  CHECK(mirror_index(12, 5) == 2);
  CHECK(resized_length(37, 0.25) == 10);
  CHECK(resized_length(60, 1.0 / 3) == 20);
}

TEST_CASE("data/imresize_properties") {
  std::mt19937_64 rng(9);
  const Image img = test::random_image(rng, 23, 17, 3);
  // Scale 1 is the identity (weights 0, 1, 0 ...).
  CHECK(imresize(img, 1.0).pixels == img.pixels);
  // A constant image stays constant at any scale (rows of weights sum to 1).
  Image flat(19, 7, 2);
  for (float& v : flat.pixels) v = 0.3f;
  for (double s : {0.25, 1.0 / 3, 0.7, 1.5, 4.0}) {
    const Image r = imresize(flat, s);
    for (float v : r.pixels) CHECK(std::fabs(v - 0.3f) < 1e-6f);
  }
  // Tiny inputs whose padding exceeds the image still work (mirroring repeats).
  const Image tiny = test::random_image(rng, 2, 3, 1);
  const Image t4 = imresize(tiny, 0.25);
  CHECK(t4.width == 1);
  CHECK(t4.height == 1);
  // The tensor path equals the image path, per plane.
  const Tensor t = imresize(image_to_tensor(img), 0.5);
  const Image via_image = imresize(img, 0.5);
  REQUIRE(t.shape() == Shape({1, 3, 9, 12}));
  const std::vector<double> v = t.to_vector();
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 9 * 12; ++i) CHECK(v[c * 108 + i] == via_image.pixels[(size_t)i * 3 + c]);
  test::require_error([&] { imresize(img, 0.0); }, {"scale", "positive"});
  test::require_error([&] { imresize(img, -2.0); }, {"scale"});
}
