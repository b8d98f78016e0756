// Sub-image extraction (BasicSR's extract_subimages): window positions, names, content,
// and LQ windows cut from the bicubic-downscaled image at the matching places.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/imresize.h"
#include "data/subimages.h"
#include "data/transforms.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;

TEST_CASE("data/subimage_window_starts") {
  using V = std::vector<int>;
  CHECK(subimage_starts(504, 480, 240, 0) == V{0, 24});        // remainder 24 > 0: border window
  CHECK(subimage_starts(1000, 480, 240, 0) == V{0, 240, 480, 520});
  CHECK(subimage_starts(960, 480, 240, 0) == V{0, 240, 480});   // exact fit: nothing added
  CHECK(subimage_starts(480, 480, 240, 0) == V{0});
  CHECK(subimage_starts(500, 480, 240, 30) == V{0});            // remainder 20 <= thresh 30
  CHECK(subimage_starts(479, 480, 240, 0).empty());
  CHECK(subimage_stem("/a/0801x4.png") == "0801");
  CHECK(subimage_stem("img_x2_x8.jpg") == "img__");
}

// BasicSR: img_name.replace('x2', '').replace('x3', '').replace('x4', '').replace('x8', ''):
// one pass per tag, in that order, so a tag that a removal makes is kept unless a later pass
// takes it (values from Python 3).
TEST_CASE("data/subimage_stem_is_basicsrs_replace_chain") {
  CHECK(subimage_stem("0001xx44.png") == "0001x4");
  CHECK(subimage_stem("xx22.png") == "x2");
  CHECK(subimage_stem("ax2x4.png") == "a");    // x2 goes first, then the x4 it leaves
  CHECK(subimage_stem("ax4x2.png") == "a");
  CHECK(subimage_stem("bxx82.png") == "bx2");  // the x8 pass makes an x2, after the x2 pass
  CHECK(subimage_stem("cxx28.png") == "c");    // the x2 pass makes an x8, before the x8 pass
  CHECK(subimage_stem("x4x4x4.png") == "");
  CHECK(subimage_stem("dir.x4/img.x8.tif") == "img.");
}

TEST_CASE("data/extract_subimages_with_lq") {
  test::TempDir dir;
  std::mt19937_64 rng(8);
  const Image hr = test::random_image(rng, 70, 51, 3);
  const std::string src = dir.file("photox4.png");
  write_image(src, hr);
  const std::string out = dir.subdir("sub"), lq = dir.subdir("sub_lq");
  SubimageOptions opt;
  opt.crop_size = 32;
  opt.step = 16;
  opt.lq_dir = lq;
  opt.scale = 4;
  const SubimageReport r = extract_subimages(src, out, opt);
  // Modcropped to 68x48: rows 0, 16 (the last window ends at 48, no border window);
  // columns 0, 16, 32 and 36 (4 pixels remain after 32 + 32 > thresh 0).
  CHECK(r.warning.empty());
  CHECK(r.written == 2 * 4);
  const std::vector<std::string> names = list_image_files(out);
  REQUIRE(names.size() == 8);
  CHECK(names.front() == "photo_s001.png");
  CHECK(names.back() == "photo_s008.png");
  const Image mod = modcrop(hr, 4), small = imresize(mod, 0.25);
  // s004 is row 0, column 36; s005 is row 16, column 0.
  CHECK(read_image(out + "/photo_s004.png").pixels == crop(mod, 0, 36, 32, 32).pixels);
  CHECK(read_image(out + "/photo_s005.png").pixels == crop(mod, 16, 0, 32, 32).pixels);
  const Image lq5 = read_image(lq + "/photo_s005.png");
  REQUIRE(lq5.width == 8);
  const Image want = crop(small, 4, 0, 8, 8);
  for (size_t i = 0; i < want.pixels.size(); ++i) CHECK(lq5.pixels[i] == (float)quantize_u8(want.pixels[i]) / 255.0f);
  // The pair is a valid training pair for the paired dataset.
  DataConfig cfg;
  cfg.dataroot_gt = out;
  cfg.dataroot_lq = lq;
  cfg.scale = 4;
  cfg.gt_size = 16;
  CHECK(Dataset(cfg).load_pair(7).lq.width == 8);
  // Too small an image is skipped with a warning; a crop that is no multiple of the
  // scale cannot have LQ windows.
  opt.crop_size = 80;
  opt.step = 40;
  CHECK(extract_subimages(src, out, opt).warning.find("smaller than the crop size 80") != std::string::npos);
  opt.crop_size = 30;
  test::require_error([&] { extract_subimages(src, out, opt); }, {"crop_size 30", "scale 4"});
}
