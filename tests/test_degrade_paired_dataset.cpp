// data/: RealESRGANPairedDataset (Real-ESRGAN's fine-tuning pairs): meta_info lines
// "gt_path, lq_path" with errors naming file and line, the paired crop staying on the LQ
// grid at scale 2 and 4 under flips/transpose, missing files named, and the config keys
// (type, meta_info) reaching the data pipeline.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <set>

#include "data/dataset.h"
#include "data/degrade/paired_meta_info.h"
#include "data/image_io.h"
#include "data/transforms.h"
#include "support/data_support.h"
#include "train/config.h"
#include "train/config_types.h"

using namespace sr;
using namespace sr::data;

namespace {

using test::block_upscale;
using test::write_text;

DataConfig pair_config(const std::string& gt, const std::string& lq, const std::string& meta, int s, int gt_size) {
  DataConfig c = test::paired_config(gt, lq, s, gt_size);
  c.type = DatasetType::realesrgan_paired;
  c.meta_info_file = meta;
  return c;
}

}  // namespace

TEST_CASE("data/realesrgan_paired_meta_info_lines") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  dir.subdir("gt/sub");
  std::mt19937_64 rng(5);
  const Image l = test::random_image(rng, 6, 5, 3);
  write_image(lq + "/a_lq.png", l);
  write_image(lq + "/b x4.png", l);  // a space inside a name is fine: only ", " separates
  write_image(gt + "/sub/a.png", block_upscale(l, 4));
  write_image(gt + "/b.png", block_upscale(l, 4));
  const std::string meta = dir.file("meta.txt");
  // CRLF, a blank line and surrounding blanks, as BasicSR's strip() tolerates.
  write_text(meta, "sub/a.png, a_lq.png\r\n\n  b.png, b x4.png  \n");
  const Dataset ds(pair_config(gt, lq, meta, 4, 16));
  REQUIRE(ds.size() == 2);
  CHECK(ds.file(0).name == "sub/a.png");
  CHECK(ds.file(0).gt_path == gt + "/sub/a.png");
  CHECK(ds.file(0).lq_path == lq + "/a_lq.png");
  CHECK(ds.file(1).lq_path == lq + "/b x4.png");
  CHECK(ds.file(1).origin == "meta_info " + meta + " line 3");
  CHECK(parse_dataset_type("RealESRGANPairedDataset") == DatasetType::realesrgan_paired);

  // A bad line is an error naming the file and the line.
  for (const char* bad : {"b.png b x4.png", "b.png,b x4.png", "b.png, b x4.png, c.png", ", b x4.png"}) {
    INFO(bad);
    write_text(meta, std::string("sub/a.png, a_lq.png\n") + bad + "\n");
    test::require_error([&] { Dataset d(pair_config(gt, lq, meta, 4, 16)); }, {meta + " line 2", "cannot parse"});
  }
  write_text(meta, "sub/a.png, a_lq.png\nb.png b x4.png\n");
  test::require_error([&] { degrade::read_paired_meta_info(meta, gt, lq); },
                      {meta + " line 2", "cannot parse 'b.png b x4.png'", "GT_PATH, LQ_PATH"});
  write_text(meta, "sub/a.png, notes.txt\n");
  test::require_error([&] { degrade::read_paired_meta_info(meta, gt, lq); },
                      {meta + " line 1", "LQ 'notes.txt' is not an image file name"});
  write_text(meta, "\n\n");
  test::require_error([&] { degrade::read_paired_meta_info(meta, gt, lq); }, {meta, "lists no pairs"});
  test::require_error([&] { degrade::read_paired_meta_info(dir.file("none.txt"), gt, lq); },
                      {dir.file("none.txt"), "cannot open"});
}

TEST_CASE("data/realesrgan_paired_missing_file_is_named") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(6);
  const Image l = test::random_image(rng, 6, 5, 3);
  write_image(lq + "/a.png", l);
  write_image(gt + "/a.png", block_upscale(l, 2));
  const std::string meta = dir.file("meta.txt");
  write_text(meta, "a.png, a.png\na.png, gone.png\n");
  test::require_error([&] { Dataset d(pair_config(gt, lq, meta, 2, 8)); },
                      {meta + " line 2", "LQ file '" + lq + "/gone.png' does not exist"});
  write_text(meta, "a.png, a.png\n\nlost.png, a.png\n");
  test::require_error([&] { Dataset d(pair_config(gt, lq, meta, 2, 8)); },
                      {meta + " line 3", "GT file '" + gt + "/lost.png' does not exist"});
  // Without dataroot_lq the type is refused up front.
  test::require_error([&] { Dataset d(pair_config(gt, "", meta, 2, 8)); }, {"dataroot_lq"});
}

TEST_CASE("data/realesrgan_paired_crop_aligned_at_scale_2_and_4") {
  for (const int s : {2, 4}) {
    INFO("scale " << s);
    test::TempDir dir;
    const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
    std::mt19937_64 rng(7 + s);
    const Image l = test::random_image(rng, 23, 17, 3);
    // Names differ between GT and LQ: only the meta_info line pairs them.
    write_image(lq + "/low.png", l);
    write_image(gt + "/high.png", block_upscale(l, s));
    const std::string meta = dir.file("meta.txt");
    write_text(meta, "high.png, low.png\n");
    const int g = 16, q = g / s;
    const Dataset ds(pair_config(gt, lq, meta, s, g));
    std::vector<float> gt_out(3 * g * g), lq_out(3 * q * q);
    std::set<std::pair<int, int>> positions;
    std::set<int> augs;
    for (int64_t pos = 0; pos < 48; ++pos) {
      const SampleDraw d = draw_sample(3, 1, pos, true, true);
      ds.load_train_sample(0, d, gt_out.data(), lq_out.data());
      const int top = SampleDraw::pick(d.top_bits, l.height - q + 1), left = SampleDraw::pick(d.left_bits, l.width - q + 1);
      positions.insert({top, left});
      augs.insert(d.aug.hflip + 2 * d.aug.vflip + 4 * d.aug.rot90);
      int bad = 0;
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < g; ++y)
          for (int x = 0; x < g; ++x) bad += gt_out[(c * g + y) * g + x] != lq_out[(c * q + y / s) * q + x / s];
      REQUIRE(bad == 0);
      // The LQ patch is the window at (top, left), augmented: GT sits at (s top, s left).
      const Image expect = augment_image(crop(l, top, left, q, q), d.aug);
      int off = 0;
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < q; ++y)
          for (int x = 0; x < q; ++x) off += lq_out[(c * q + y) * q + x] != expect.at(y, x, c);
      REQUIRE(off == 0);
    }
    CHECK(positions.size() > 20);  // the crop moves
    CHECK(augs.size() == 8);       // hflip, vflip and transpose all occur
  }
  // GT not exactly scale x LQ: an error naming both files.
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(9);
  write_image(lq + "/l.png", test::random_image(rng, 10, 10, 3));
  write_image(gt + "/h.png", test::random_image(rng, 39, 40, 3));
  const std::string meta = dir.file("meta.txt");
  write_text(meta, "h.png, l.png\n");
  const Dataset ds(pair_config(gt, lq, meta, 4, 16));
  std::vector<float> a(3 * 16 * 16), b(3 * 4 * 4);
  test::require_error([&] { ds.load_train_sample(0, draw_sample(0, 0, 0, false, false), a.data(), b.data()); },
                      {"scale mismatch", gt + "/h.png", lq + "/l.png", "39x40"});
}

TEST_CASE("config/realesrgan_paired_dataset_type_and_meta_info_key") {
  test::TempDir dir;
  const std::string lq = dir.subdir("lq"), meta = dir.file("meta.txt");
  write_text(meta, "x.png, x.png\n");
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/configs/esrgan_x4.json";
  const std::vector<std::string> set = {"datasets.train.type=RealESRGANPairedDataset",
                                        "datasets.train.dataroot_lq=" + lq, "datasets.train.meta_info=" + meta};
  const train::json c = train::load_config(cfg, set);
  const DataConfig d = train::parse_config(c).find_dataset("train")->data;
  CHECK(d.type == DatasetType::realesrgan_paired);
  CHECK(d.meta_info_file == meta);
  CHECK(d.dataroot_lq == lq);
  // dataroot_lq is required; meta_info and meta_info_file together are ambiguous.
  test::require_error([&] { train::load_config(cfg, {set[0]}); },
                      {"datasets.train.dataroot_lq", "RealESRGANPairedDataset"});
  std::vector<std::string> both = set;
  both.push_back("datasets.train.meta_info_file=" + meta);
  test::require_error([&] { train::load_config(cfg, both); }, {"datasets.train.meta_info", "both given"});
  test::require_error([&] { train::load_config(cfg, {"datasets.train.type=RealESRGANPaired"}); },
                      {"datasets.train.type", "RealESRGANPaired"});
}
