// NIQE in a training config: val.metrics' calculate_niqe with its pristine model, the checks
// of its keys, and validation of an LQ-only set (no GT) during training.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "data/image_io.h"
#include "data/imresize.h"
#include "data/niqe.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/config.h"
#include "train/trainer.h"
#include "train/validation.h"

using namespace sr;
using train::json;
namespace fs = std::filesystem;

namespace {

std::string niqe_model_for_tests(const test::TempDir& tmp) {
  data::NiqeModelFitter fitter;
  const std::string dir = std::string(SRENGINE_SOURCE_DIR) + "/datasets/train_photos";
  for (const std::string& name : data::list_image_files(dir)) fitter.add(data::read_image(dir + "/" + name));
  data::save_niqe_model(tmp.file("pristine.npz"), fitter.fit());
  return tmp.file("pristine.npz");
}

// LQ images (x4 bicubic of the val photos' top-left 256x192) in `dir`: SR outputs of 256x192.
void write_lq_set(const std::string& dir) {
  const std::string src = std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos";
  for (const char* name : {"mate_wood.png", "skimage_coffee.png"}) {
    const data::Image full = data::read_image(src + "/" + name);
    data::Image crop(256, 192, 3, 8);
    for (int y = 0; y < 192; ++y)
      for (int x = 0; x < 256; ++x)
        for (int c = 0; c < 3; ++c) crop.at(y, x, c) = full.at(y, x, c);
    data::write_image(dir + "/" + name, data::imresize(crop, 0.25));
  }
}

}  // namespace

TEST_CASE("train/niqe_validates_an_lq_only_set") {
  test::TempDir tmp;
  const std::string model = niqe_model_for_tests(tmp);
  const std::string lq = tmp.subdir("lq");
  write_lq_set(lq);
  json c = test::tiny_train_config("niqe_lq");
  c["datasets"]["val"] = {{"name", "real_lq"}, {"type", "LQOnlyDataset"}, {"dataroot_lq", lq}};
  c["val"]["metrics"] = {{"niqe", {{"type", "calculate_niqe"}, {"crop_border", 4}, {"pris_params", model}}}};
  c["train"]["stages"] = json::array({c["train"]["stages"][0]});
  c = train::validate_config(c);
  CHECK(c["val"]["metrics"]["niqe"]["better"] == "lower");  // NIQE's way by default
  REQUIRE(train::run_training(c, {}) == 0);
  // Validations at 4 and 8 (the stage's end), each with the SR images' NIQE and the bicubic
  // baseline's, the best being the lowest.
  std::vector<json> vals;
  for (const json& ev : test::train_events("niqe_lq"))
    if (ev["event"] == "val") vals.push_back(ev);
  REQUIRE(vals.size() == 2);
  for (const json& v : vals) {
    REQUIRE(v.contains("val_niqe"));
    CHECK(std::isfinite(v["val_niqe"].get<double>()));
    CHECK(v["val_niqe_bicubic"].get<double>() > 0);
  }
  const std::string log = test::read_text(test::train_exp_dir("niqe_lq") + "/train.log");
  const double best = std::min(vals[0]["val_niqe"].get<double>(), vals[1]["val_niqe"].get<double>());
  char expect[64];
  std::snprintf(expect, sizeof expect, "(best %.4f @%d)", best, best == vals[0]["val_niqe"].get<double>() ? 4 : 8);
  CHECK(log.find(expect) != std::string::npos);
  // The SR images of the set are written under its name; the report shows no GT crop.
  CHECK(fs::exists(test::train_exp_dir("niqe_lq") + "/visualization/real_lq/mate_wood_psnr_8.png"));
  CHECK(!fs::exists(test::train_exp_dir("niqe_lq") + "/report_assets/mate_wood_gt.png"));
  // The metric's value is the library's on the saved SR image (PNG keeps the 8-bit samples NIQE
  // rounds to), with the config's model.
  const data::NiqeModel m = data::load_niqe_model(model);
  const double saved_wood = data::calculate_niqe(
      data::read_image(test::train_exp_dir("niqe_lq") + "/visualization/real_lq/mate_wood_psnr_8.png"), 4, m);
  const double saved_coffee = data::calculate_niqe(
      data::read_image(test::train_exp_dir("niqe_lq") + "/visualization/real_lq/skimage_coffee_psnr_8.png"), 4, m);
  CHECK(vals[1]["val_niqe"].get<double>() == Approx((saved_wood + saved_coffee) / 2).epsilon(1e-12));
}

TEST_CASE("config/niqe_metric_keys_are_checked") {
  test::TempDir tmp;
  const std::string model = niqe_model_for_tests(tmp);
  const json base = test::tiny_train_config("niqe_keys");
  auto with_metric = [&](const json& metric) {
    json c = base;
    c["val"]["metrics"] = {{"niqe", metric}};
    return c;
  };
  auto error_of = [&](const json& c) {
    return test::require_error([&] { train::validate_config(c); }, {});
  };
  CHECK_THAT(error_of(with_metric({{"type", "calculate_niqe"}})),
             Catch::Contains("'val.metrics.niqe.pris_params' is required by calculate_niqe") &&
                 Catch::Contains("niqe_pris_params.npz") && Catch::Contains("srengine niqe-fit"));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_niqe"}, {"pris_params", tmp.file("none.npz")}})),
             Catch::Contains("'val.metrics.niqe.pris_params': '" + tmp.file("none.npz") + "' does not exist"));
  test::write_text(tmp.file("broken.npz"), "not a zip");
  CHECK_THAT(error_of(with_metric({{"type", "calculate_niqe"}, {"pris_params", tmp.file("broken.npz")}})),
             Catch::Contains("'val.metrics.niqe.pris_params'") && Catch::Contains("not an .npz"));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_niqe"}, {"pris_params", model}, {"better", "higher"}})),
             Catch::Contains("'val.metrics.niqe.better' is higher"));
  // test_y_channel is ignored by NIQE (which measures Y), as BasicSR ignores it there.
  CHECK_NOTHROW(train::validate_config(with_metric({{"type", "calculate_niqe"}, {"pris_params", model},
                                                    {"test_y_channel", false}})));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_psnr"}, {"pris_params", model}})),
             Catch::Contains("'val.metrics.niqe.pris_params' is read by calculate_niqe only"));
  // PSNR and SSIM keep `higher` as their default; a relative model path is found beside the config.
  json psnr = with_metric({{"type", "calculate_psnr"}});
  CHECK(train::validate_config(psnr)["val"]["metrics"]["niqe"]["better"] == "higher");
  json rel = with_metric({{"type", "calculate_niqe"}, {"pris_params", "pristine.npz"}});
  rel["__config_dir__"] = tmp.path();
  CHECK(train::validate_config(rel)["val"]["metrics"]["niqe"]["pris_params"] == model);
  // An LQ-only validation set is refused with a metric that needs GT, named.
  const std::string lq = tmp.subdir("lq");
  write_lq_set(lq);
  json lq_psnr = base;
  lq_psnr["datasets"]["val"] = {{"type", "LQOnlyDataset"}, {"dataroot_lq", lq}};
  lq_psnr["val"]["metrics"] = {{"niqe", {{"type", "calculate_niqe"}, {"pris_params", model}}},
                               {"psnr", {{"type", "calculate_psnr"}}}};
  CHECK_THAT(error_of(lq_psnr), Catch::Contains("LQOnlyDataset") && Catch::Contains("as 'val.metrics.psnr' does") &&
                                    Catch::Contains("calculate_niqe"));
  lq_psnr["val"]["metrics"].erase("psnr");
  CHECK_NOTHROW(train::validate_config(lq_psnr));
  // NIQE's two 96x96 blocks are checked from the headers before training: x4 of 20x20 is 80x80.
  const std::string tiny = tmp.subdir("tiny");
  std::mt19937_64 rng(5);
  data::write_image(tiny + "/t.png", test::random_image(rng, 20, 20, 3));
  json small = lq_psnr;
  small["datasets"]["val"]["dataroot_lq"] = tiny;
  const train::Config typed = train::parse_config(train::validate_config(small));
  CHECK_THAT(test::require_error([&] { train::check_validation_sets(typed); }, {}),
             Catch::Contains(tiny + "/t.png") && Catch::Contains("two whole 96x96 blocks"));
}

// A flat SR image scores inf: the run goes on, the event says "inf", and a checkpoint whose
// best is inf resumes (JSON has no infinity: the state holds "inf"). The net's output of a flat
// image is flat beyond its receptive field from the borders (under 80 SR pixels for this RRDBNet):
// crop_border 100 leaves 600x400 of it, six flat blocks.
TEST_CASE("train/infinite_best_metric_resumes") {
  test::TempDir tmp;
  const std::string model = niqe_model_for_tests(tmp);
  const std::string lq = tmp.subdir("flat");
  for (const char* name : {"a.png", "b.png"}) {
    data::Image flat(200, 150, 3, 8);
    for (float& v : flat.pixels) v = 0.5f;
    data::write_image(lq + "/" + name, flat);
  }
  json c = test::tiny_train_config("niqe_inf");
  c["datasets"]["val"] = {{"type", "LQOnlyDataset"}, {"dataroot_lq", lq}};
  c["val"]["metrics"] = {{"niqe", {{"type", "calculate_niqe"}, {"crop_border", 100}, {"pris_params", model}}}};
  c["train"]["stages"] = json::array({c["train"]["stages"][0]});
  c = train::validate_config(c);
  REQUIRE(train::run_training(c, {}) == 0);
  int infinite = 0;
  for (const json& ev : test::train_events("niqe_inf"))
    if (ev["event"] == "val") infinite += ev["val_niqe"] == "inf";
  REQUIRE(infinite == 2);
  const std::string state = test::train_exp_dir("niqe_inf") + "/training_states/psnr_4.state";
  REQUIRE(train::run_training(c, {"", state}) == 0);
  CHECK_THAT(test::read_text(test::train_exp_dir("niqe_inf") + "/train.log"), Catch::Contains("(best inf @4)"));
}
