// BasicSR's `color: y` (datasets.<name>.color): the BT.601 Y formula against hand-computed
// values, and datasets that convert every image after it is made, cropped and flipped, so
// that a Y training sample is the Y of the RGB sample with the same draw (paired folders,
// LMDB, the GT-only set with bicubic LQ, the loader's batches) and a validation sample is
// one-channel.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "data/metrics.h"
#include "data/ycbcr.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;

namespace {

// Float32 rounding of a value below 1 is at most 3e-8; the inputs R, G, B are float32
// roundings of k/255 too. 1e-7 is a few units in the last place of the result.
constexpr double kYTolerance = 1e-7;

const std::string kLmdbRoot = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/lmdb/";

// Every training sample of `rgb_cfg` (positions 0..7, flips included) again with color y:
// each Y value is bt601_y of the RGB sample's three planes at the same place.
void require_y_samples_are_y_of_rgb(DataConfig rgb_cfg) {
  rgb_cfg.color = DataColor::rgb;
  DataConfig y_cfg = rgb_cfg;
  y_cfg.color = DataColor::y;
  const Dataset rgb(rgb_cfg), y(y_cfg);
  REQUIRE(rgb.channels() == 3);
  REQUIRE(y.channels() == 1);
  const int g = rgb_cfg.gt_size, l = g / rgb_cfg.scale;
  for (size_t i = 0; i < rgb.size(); ++i)
    for (int64_t position = 0; position < 8; ++position) {
      const SampleDraw d = draw_sample(5, 0, position, true, true);
      std::vector<float> gt3(3 * g * g), lq3(3 * l * l), gt1(g * g, -1.f), lq1(l * l, -1.f);
      rgb.load_train_sample(i, d, gt3.data(), lq3.data());
      y.load_train_sample(i, d, gt1.data(), lq1.data());
      auto check = [&](const std::vector<float>& planes, const std::vector<float>& ys, int side, const char* what) {
        const size_t plane = (size_t)side * side;
        double worst = 0;
        size_t worst_at = 0;
        for (size_t o = 0; o < plane; ++o) {
          const double want = bt601_y(planes[o], planes[plane + o], planes[2 * plane + o]);
          const double err = std::abs(ys[o] - want);
          if (err > worst) worst = err, worst_at = o;
        }
        INFO(what << " of sample " << i << " at position " << position << ": worst |Y - Y(RGB)| " << worst
                  << " at " << worst_at);
        CHECK(worst <= kYTolerance);
      };
      check(gt3, gt1, g, "GT");
      check(lq3, lq1, l, "LQ");
    }
}

}  // namespace

// Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255 for pixels given as 8-bit values k/255;
// the expected values are the exact fractions (in the comments) as decimals.
TEST_CASE("data/bt601_y_matches_hand_computed_values") {
  struct Case {
    int r, g, b;
    double y;
  };
  const Case cases[] = {
      {0, 0, 0, 0.06274509803921569},        // 16/255: black is studio-swing 16
      {255, 255, 255, 0.9215686274509803},   // 235/255: white is 235
      {128, 128, 128, 0.49384083044982696},  // 3568/7225 = (16 + 219 * 128/255) / 255
      {255, 0, 0, 0.31953333333333334},      // 81.481/255
      {0, 255, 0, 0.5668745098039216},       // 144.553/255
      {0, 0, 255, 0.16065098039215686},      // 40.966/255
      {200, 100, 50, 0.48104267589388694},   // 52133/108375
  };
  for (const Case& c : cases) {
    INFO("RGB (" << c.r << ", " << c.g << ", " << c.b << ")");
    const float r = c.r / 255.0f, g = c.g / 255.0f, b = c.b / 255.0f;
    CHECK(std::abs(bt601_y(r, g, b) - c.y) <= kYTolerance);
  }
  // Whole images: RGB, RGBA (alpha dropped) and gray (as R = G = B, BasicSR reading a gray
  // file as three equal channels), each with the cases' pixels in a row.
  const int n = (int)std::size(cases);
  Image rgb(n, 1, 3), rgba(n, 1, 4), gray(n, 1, 1);
  for (int x = 0; x < n; ++x) {
    const float px[3] = {cases[x].r / 255.0f, cases[x].g / 255.0f, cases[x].b / 255.0f};
    for (int k = 0; k < 3; ++k) rgb.at(0, x, k) = rgba.at(0, x, k) = px[k];
    rgba.at(0, x, 3) = 0.25f;
    gray.at(0, x, 0) = px[0];
  }
  const Image y_rgb = y_channel_image(rgb), y_rgba = y_channel_image(rgba), y_gray = y_channel_image(gray);
  REQUIRE(y_rgb.channels == 1);
  REQUIRE(y_rgba.channels == 1);
  REQUIRE(y_gray.channels == 1);
  for (int x = 0; x < n; ++x) {
    INFO("pixel " << x);
    CHECK(std::abs(y_rgb.at(0, x, 0) - cases[x].y) <= kYTolerance);
    CHECK(y_rgba.at(0, x, 0) == y_rgb.at(0, x, 0));
    // A gray value v: (16 + 219 v) / 255 (the coefficients sum to 219).
    CHECK(std::abs(y_gray.at(0, x, 0) - (16.0 + 219.0 * (cases[x].r / 255.0)) / 255.0) <= kYTolerance);
  }
  CHECK(parse_data_color("y") == DataColor::y);
  CHECK(parse_data_color("rgb") == DataColor::rgb);
  test::require_error([] { parse_data_color("Y", "datasets.train.color"); }, {"datasets.train.color", "'Y'"});
}

// The same draw gives the same crop and flips with color rgb and y; the Y sample is the Y of
// the RGB sample, GT and LQ alike: paired folders, LMDB folders, and the GT-only set, whose LQ
// is made by bicubic from the colour GT and then converted.
TEST_CASE("data/color_y_paired_crops_are_the_y_of_the_rgb_crops") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(21);
  for (const char* stem : {"a", "b"}) {
    write_image(lq + "/" + stem + ".png", test::random_image(rng, 9, 7, 3));
    write_image(gt + "/" + stem + ".png", test::random_image(rng, 36, 28, 3));
  }
  SECTION("paired folders") { require_y_samples_are_y_of_rgb(test::paired_config(gt, lq, 4, 16)); }
  SECTION("paired LMDB folders") {
    DataConfig cfg = test::paired_config(kLmdbRoot + "paired_gt.lmdb", kLmdbRoot + "paired_lq.lmdb", 2, 16);
    cfg.io_backend = "lmdb";
    require_y_samples_are_y_of_rgb(cfg);
  }
  SECTION("GT only, LQ by bicubic") {
    DataConfig cfg = test::paired_config(gt, "", 4, 16);
    cfg.type = DatasetType::single;
    require_y_samples_are_y_of_rgb(cfg);
  }
  SECTION("the loader's batches") {
    DataConfig cfg = test::paired_config(gt, lq, 4, 16);
    cfg.batch_size_per_gpu = 2;
    cfg.num_worker_per_gpu = 0;
    cfg.color = DataColor::y;
    Loader y(cfg);
    cfg.color = DataColor::rgb;
    Loader rgb(cfg);
    const Batch by = y.next(), br = rgb.next();
    REQUIRE(by.gt.shape() == Shape{2, 1, 16, 16});
    REQUIRE(by.lq.shape() == Shape{2, 1, 4, 4});
    REQUIRE(br.gt.shape() == Shape{2, 3, 16, 16});
    CHECK(by.indices == br.indices);
    const float* ry = by.lq.data<float>();
    const float* rr = br.lq.data<float>();
    for (int64_t i = 0; i < 2 * 16; ++i) {
      const int64_t sample = i / 16, o = i % 16;
      const float* p = rr + sample * 3 * 16;
      CHECK(std::abs(ry[i] - bt601_y(p[o], p[16 + o], p[32 + o])) <= kYTolerance);
    }
  }
}

// Validation samples with color y are (1, 1, H, W) Y images: paired, GT-only and LQ-only sets.
TEST_CASE("data/color_y_val_samples_are_one_channel") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(22);
  write_image(lq + "/a.png", test::random_image(rng, 9, 7, 3));
  write_image(gt + "/a.png", test::random_image(rng, 38, 30, 3));  // a modcrop remainder of 2
  DataConfig paired = test::paired_config(gt, lq, 4, 16), single = paired, lq_only = paired;
  single.type = DatasetType::single;
  lq_only.type = DatasetType::lq_only;
  for (DataConfig cfg : {paired, single, lq_only}) {
    INFO("type " << (int)cfg.type);
    const ValSample rgb = Dataset(cfg).load_val(0);
    cfg.color = DataColor::y;
    const ValSample y = Dataset(cfg).load_val(0);
    REQUIRE(y.lq.shape() == Shape{1, 1, rgb.lq.size(2), rgb.lq.size(3)});
    const int64_t plane = rgb.lq.size(2) * rgb.lq.size(3);
    const float* p = rgb.lq.data<float>();
    for (int64_t o = 0; o < plane; ++o)
      CHECK(std::abs(y.lq.data<float>()[o] - bt601_y(p[o], p[plane + o], p[2 * plane + o])) <= kYTolerance);
    if (cfg.type == DatasetType::lq_only) {
      CHECK_FALSE(y.gt.defined());
      continue;
    }
    REQUIRE(y.gt.shape() == Shape{1, 1, 28, 36});
    const int64_t gplane = 28 * 36;
    const float* q = rgb.gt.data<float>();
    for (int64_t o = 0; o < gplane; ++o)
      CHECK(std::abs(y.gt.data<float>()[o] - bt601_y(q[o], q[gplane + o], q[2 * gplane + o])) <= kYTolerance);
  }
  // Real-ESRGAN's degradations work on colour images.
  DataConfig synth = test::paired_config(gt, "", 4, 16);
  synth.type = DatasetType::realesrgan;
  synth.crop_pad_size = 16;
  synth.color = DataColor::y;
  test::require_error([&] { validate(synth); }, {"'color' is 'y'", "RealESRGANDataset"});
}

// One-channel images (a color y set's SR and GT) are measured as they are: PSNR over the one
// plane, and test_y_channel leaves them (BasicSR's to_y_channel converts three channels only).
// Written, they are gray images.
TEST_CASE("data/metrics_measure_one_channel_images_as_they_are") {
  std::mt19937_64 rng(23);
  const Image a = test::random_image(rng, 20, 16, 1), b = test::random_image(rng, 20, 16, 1);
  const Tensor ta = gray_to_tensor(a), tb = gray_to_tensor(b);
  // PSNR by hand: 8-bit levels, 2 pixels cropped from each edge.
  double se = 0;
  int count = 0;
  for (int y = 2; y < 14; ++y)
    for (int x = 2; x < 18; ++x, ++count) {
      const double d = std::lround(a.at(y, x, 0) * 255.0) - std::lround(b.at(y, x, 0) * 255.0);
      se += d * d;
    }
  const double want = 10 * std::log10(255.0 * 255.0 / (se / count));
  MetricOptions opt;
  opt.crop_border = 2;
  CHECK(calculate_psnr(ta, tb, opt) == Approx(want).epsilon(1e-12));
  opt.test_y_channel = true;
  CHECK(calculate_psnr(ta, tb, opt) == Approx(want).epsilon(1e-12));
  CHECK(calculate_ssim(ta, tb, opt) == calculate_ssim(ta, tb, MetricOptions{2, false}));
  const Image back = tensor_to_image(ta);
  REQUIRE(back.channels == 1);
  CHECK(back.pixels == a.pixels);
}
