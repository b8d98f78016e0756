// Datasets and training transforms: pairing rules and their errors, the paired crop
// staying aligned under every augmentation, BasicSR's flip/transpose order, the
// single-folder bicubic LQ, validation crops and the draw statistics.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <set>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/imresize.h"
#include "data/transforms.h"
#include "support/data_support.h"
#include "support/fresh_seed.h"

using namespace sr;
using namespace sr::data;

namespace {

using test::block_upscale;
using test::paired_config;

}  // namespace

TEST_CASE("data/dataset_paired_listing") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(1);
  for (const char* stem : {"b", "a", "c"}) {
    const Image l = test::random_image(rng, 8, 6, 3);
    write_image(lq + "/" + stem + "x4.png", l);
    write_image(gt + "/" + stem + ".png", block_upscale(l, 4));
  }
  test::write_bytes(gt + "/SOURCES.md", {'x'});  // non-images are ignored
  DataConfig cfg = paired_config(gt, lq, 4, 16);
  cfg.filename_tmpl = "{}x4";
  const Dataset ds(cfg);
  REQUIRE(ds.size() == 3);
  CHECK(ds.file(0).name == "a.png");
  CHECK(ds.file(2).lq_path == lq + "/cx4.png");
  // Without the template the LQ names do not match.
  test::require_error([&] { Dataset d(paired_config(gt, lq, 4, 16)); },
                      {gt + "/a.png", "no LQ partner", lq + "/a.png", "filename_tmpl '{}'"});
  // An LQ file without a GT partner.
  write_image(lq + "/zx4.png", test::random_image(rng, 8, 6, 3));
  test::require_error([&] { Dataset d(cfg); }, {lq + "/zx4.png", "no GT partner", "4 LQ vs 3 GT"});
  cfg.filename_tmpl = "x4";
  test::require_error([&] { Dataset d(cfg); }, {"filename_tmpl", "'x4'"});
}

TEST_CASE("data/dataset_config_errors") {
  DataConfig cfg = paired_config("/nowhere/gt", "/nowhere/lq", 3, 128);
  test::require_error([&] { validate(cfg); }, {"gt_size", "128", "scale 3", "126", "129"});
  cfg.gt_size = 126;
  cfg.dataroot_lq.clear();
  test::require_error([&] { validate(cfg); }, {"dataroot_lq"});
  CHECK(parse_dataset_type("PairedImageDataset") == DatasetType::paired);
  CHECK(parse_dataset_type("single") == DatasetType::single);
  test::require_error([&] { parse_dataset_type("lmdb"); }, {"'lmdb'"});
}

TEST_CASE("data/dataset_scale_mismatch_names_files_and_sizes") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(2);
  write_image(gt + "/a.png", test::random_image(rng, 65, 64, 3));
  write_image(lq + "/a.png", test::random_image(rng, 16, 16, 3));
  const Dataset ds(paired_config(gt, lq, 4, 32));
  test::require_error([&] { ds.load_pair(0); },
                      {"scale mismatch", gt + "/a.png", "65x64", lq + "/a.png", "16x16", "64x64"});
  // Validation tolerates a modcrop remainder and crops it away ...
  const ValSample v = ds.load_val(0);
  CHECK(v.gt.shape() == Shape({1, 3, 64, 64}));
  CHECK(v.lq.shape() == Shape({1, 3, 16, 16}));
  // ... but not a GT smaller than scale x LQ.
  write_image(gt + "/a.png", test::random_image(rng, 60, 64, 3));
  test::require_error([&] { ds.load_val(0); }, {"60x64", "16x16"});
  // An LQ smaller than the LQ patch.
  write_image(gt + "/a.png", test::random_image(rng, 64, 64, 3));
  const Dataset big(paired_config(gt, lq, 4, 96));
  float buf[3 * 96 * 96], lbuf[3 * 24 * 24];
  test::require_error([&] { big.load_train_sample(0, SampleDraw{}, buf, lbuf); },
                      {gt + "/a.png", "16x16", "LQ patch 24x24", "gt_size 96"});
}

TEST_CASE("data/paired_crop_stays_aligned_under_augmentation") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(3);
  const int s = 4;
  const Image l = test::random_image(rng, 21, 13, 3);
  write_image(lq + "/p.png", l);
  write_image(gt + "/p.png", block_upscale(l, s));
  const Dataset ds(paired_config(gt, lq, s, 32));
  const int g = 32, q = 8;
  std::vector<float> gt_out(3 * g * g), lq_out(3 * q * q);
  std::set<std::pair<int, int>> seen_aug;
  for (int64_t pos = 0; pos < 64; ++pos) {
    const SampleDraw d = draw_sample(7, 0, pos, true, true);
    ds.load_train_sample(0, d, gt_out.data(), lq_out.data());
    seen_aug.insert({d.aug.hflip + 2 * d.aug.vflip + 4 * d.aug.rot90, 0});
    int bad = 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < g; ++y)
        for (int x = 0; x < g; ++x) bad += gt_out[(c * g + y) * g + x] != lq_out[(c * q + y / s) * q + x / s];
    CHECK(bad == 0);
    // The LQ patch is a real window of the LQ image, transformed.
    const int top = SampleDraw::pick(d.top_bits, l.height - q + 1), left = SampleDraw::pick(d.left_bits, l.width - q + 1);
    const Image expect = augment_image(crop(l, top, left, q, q), d.aug);
    for (int y = 0; y < q; ++y)
      for (int x = 0; x < q; ++x) CHECK(lq_out[(1 * q + y) * q + x] == expect.at(y, x, 1));
  }
  CHECK(seen_aug.size() == 8);  // all dihedral variants occur in 64 draws
}

TEST_CASE("data/augment_order_matches_basicsr") {
  // BasicSR: hflip (reverse columns), then vflip (reverse rows), then transpose.
  Image img(3, 2, 1);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) img.at(y, x, 0) = (float)(10 * y + x);
  Augment all{true, true, true};
  const Image out = augment_image(img, all);
  // hflip: [[2,1,0],[12,11,10]]; vflip: [[12,11,10],[2,1,0]]; transpose: 3x2.
  REQUIRE(out.width == 2);
  REQUIRE(out.height == 3);
  const float expect[3][2] = {{12, 2}, {11, 1}, {10, 0}};
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 2; ++x) CHECK(out.at(y, x, 0) == expect[y][x]);
  Augment h{true, false, false};
  CHECK(augment_image(img, h).at(0, 0, 0) == 2);
  // The planar crop path equals crop + augment_image for all 8 variants.
  std::mt19937_64 rng(4);
  const Image big = test::random_image(rng, 9, 8, 3);
  std::vector<float> planar(3 * 5 * 5);
  for (int m = 0; m < 8; ++m) {
    const Augment a{(m & 1) != 0, (m & 2) != 0, (m & 4) != 0};
    crop_augment_planar(big, 2, 3, 5, a, planar.data());
    const Image ref = augment_image(crop(big, 2, 3, 5, 5), a);
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 25; ++i) CHECK(planar[c * 25 + i] == ref.pixels[(size_t)i * 3 + c]);
  }
}

TEST_CASE("data/single_dataset_uses_bicubic_after_modcrop") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  std::mt19937_64 rng(5);
  const Image hr = test::random_image(rng, 43, 38, 3);
  write_image(gt + "/h.png", hr);
  DataConfig cfg;
  cfg.type = DatasetType::single;
  cfg.dataroot_gt = gt;
  cfg.scale = 4;
  cfg.gt_size = 16;
  const Dataset ds(cfg);
  const ImagePair p = ds.load_pair(0);
  CHECK(p.gt.width == 40);
  CHECK(p.gt.height == 36);
  CHECK(p.lq.pixels == imresize(modcrop(hr, 4), 0.25).pixels);
  const ValSample v = ds.load_val(0);
  CHECK(v.lq.shape() == Shape({1, 3, 9, 10}));
}

TEST_CASE("data/sample_draw_statistics") {
  int h = 0, v = 0, r = 0;
  std::vector<int> tops(5, 0);
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const SampleDraw d = draw_sample(123, 2, i, true, true);
    h += d.aug.hflip;
    v += d.aug.vflip;
    r += d.aug.rot90;
    ++tops[SampleDraw::pick(d.top_bits, 5)];
  }
  // Each flag is Bernoulli(1/2): 4000 draws stay within ~5 sigma (sigma ~ 32).
  for (int c : {h, v, r}) CHECK(std::abs(c - n / 2) < 160);
  for (int t : tops) CHECK(std::abs(t - n / 5) < 130);
  const SampleDraw off = draw_sample(123, 2, 0, false, false);
  CHECK((!off.aug.hflip && !off.aug.vflip && !off.aug.rot90));
  // Same key, same draw; any key change, a different one.
  CHECK(draw_sample(1, 2, 3, true, true).top_bits == draw_sample(1, 2, 3, true, true).top_bits);
  CHECK(draw_sample(1, 2, 3, true, true).top_bits != draw_sample(1, 3, 3, true, true).top_bits);
  CHECK(draw_sample(1, 2, 3, true, true).top_bits != draw_sample(2, 2, 3, true, true).top_bits);
}

// A GT-only set keeps each image's (GT, bicubic LQ) pair once made: the training samples are
// the ones made from the pair directly (crop and augmentation of the same draw), for every
// image, the first time and the second; a set too large for the budget keeps nothing.
TEST_CASE("data/gt_only_pairs_are_kept_and_give_the_same_samples") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  std::mt19937_64 rng(test::fresh_seed());
  for (int k = 0; k < 3; ++k) write_image(gt + "/h" + std::to_string(k) + ".png", test::random_image(rng, 40 + 4 * k, 36, 3));
  DataConfig cfg;
  cfg.type = DatasetType::single;
  cfg.dataroot_gt = gt;
  cfg.scale = 4;
  cfg.gt_size = 16;
  const Dataset ds(cfg);
  const int g = 3 * 16 * 16, l = 3 * 4 * 4;
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < ds.size(); ++i) {
      INFO("round " << round << " image " << i);
      const SampleDraw d = draw_sample(7, round, (int64_t)i, true, true);
      std::vector<float> gt_out(g), lq_out(l), gt_ref(g), lq_ref(l);
      ds.load_train_sample(i, d, gt_out.data(), lq_out.data());
      const ImagePair p = ds.load_pair(i, true);  // made afresh, not kept
      const int top = SampleDraw::pick(d.top_bits, p.lq.height - 4 + 1), left = SampleDraw::pick(d.left_bits, p.lq.width - 4 + 1);
      crop_augment_planar(p.lq, top, left, 4, d.aug, lq_ref.data());
      crop_augment_planar(p.gt, top * 4, left * 4, 16, d.aug, gt_ref.data());
      CHECK(gt_out == gt_ref);
      CHECK(lq_out == lq_ref);
    }
  // Kept: the three pairs' floats.
  CHECK(ds.kept_pair_bytes() == (size_t)(3 * (40 * 36 + 44 * 36 + 48 * 36) + 3 * (10 * 9 + 11 * 9 + 12 * 9)) * sizeof(float));
  // A budget below the set's size keeps nothing, and still hands out the pair.
  PairCache small(3, 1000);
  int made = 0;
  for (int k = 0; k < 2; ++k)
    CHECK(small.get(0, [&] { ++made; return ds.load_pair(0, true); })->gt.width == 40);
  CHECK(made == 2);
  CHECK(small.bytes() == 0);
  // A small first pair lets the set in, but the budget still caps it: with room for the first
  // (40x36) pair only, the larger second one is handed out and not kept.
  const size_t first = (40 * 36 + 10 * 9) * 3 * sizeof(float);
  PairCache capped(2, 2 * first);
  capped.get(0, [&] { return ds.load_pair(0, true); });
  CHECK(capped.bytes() == first);
  made = 0;
  for (int k = 0; k < 2; ++k) capped.get(2, [&] { ++made; return ds.load_pair(2, true); });
  CHECK(made == 2);
  CHECK(capped.bytes() == first);
}
