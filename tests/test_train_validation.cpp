// Validation during training (train/validation.h, train/validator.h): a val image of any
// size is measured the way `srengine test` runs it (padded to the size the net needs, output
// cropped back), and a validation that fails stops the run only after the training state of
// its iteration is saved, unless the weights diverged.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "data/dataset.h"
#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/safetensors.h"
#include "infer/tiled_upscale.h"
#include "nets/factory.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/config_types.h"
#include "train/trainer.h"
#include "train/validation.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

// The tiny config's psnr stage alone, `iters` iterations, validated at `val_freq` on the
// images of `val_dir`, at `scale` (RRDBNet x2 unshuffles its input by 2, x1 by 4).
json validation_run(const std::string& run, int scale, const std::string& val_dir, int iters, int val_freq) {
  json c = test::tiny_train_config(
      run, {"scale=" + std::to_string(scale), "network_g.scale=" + std::to_string(scale),
            "train.stages.0.total_iter=" + std::to_string(iters), "val.val_freq=" + std::to_string(val_freq),
            "logger.save_checkpoint_freq=1000", "datasets.val.dataroot_gt=" + val_dir});
  c["datasets"]["val"].erase("meta_info_file");
  c["train"]["stages"].erase(1);
  return c;
}

}  // namespace

// RRDBNet x2 and x1 with val images whose LQ sides (19x15, 37x29) are not multiples of the
// unshuffle factor: BasicSR's validation stops with a shape error there. The saved SR image is
// the one infer::upscale_image makes from the same LQ with the iteration's EMA weights, bit
// for bit, and the PSNR is finite.
TEST_CASE("train/validation_takes_any_image_size") {
  for (const int scale : {2, 1}) {
    INFO("scale " << scale);
    test::TempDir dir;
    const std::string val_dir = dir.subdir("val");
    std::mt19937_64 rng(scale);
    const int w = scale == 2 ? 38 : 37, h = scale == 2 ? 30 : 29;
    data::write_image(val_dir + "/odd.png", test::random_image(rng, w, h, 3));
    const std::string run = "val_any_size_x" + std::to_string(scale);
    const json c = validation_run(run, scale, val_dir, 2, 2);
    REQUIRE(run_training(c, {}) == 0);

    int vals = 0;
    for (const json& e : test::train_events(run))
      if (e["event"] == "val") {
        ++vals;
        CHECK(std::isfinite(e["val_psnr"].get<double>()));
      }
    CHECK(vals == 1);

    const std::string exp = test::train_exp_dir(run);
    const data::Image saved = data::read_image(exp + "/visualization/one_photo/odd_psnr_2.png");  // the set's name
    CHECK(saved.width == w);
    CHECK(saved.height == h);
    const Config cfg = parse_config(c);
    data::Dataset ds(cfg.eval_datasets().at(0)->data);
    const data::ValSample s = ds.load_val(0);
    std::unique_ptr<Module> net = build_network(c["network_g"]);
    net->load_state_dict(read_safetensors(exp + "/models/net_g_ema_psnr_2.safetensors").tensors, true);
    net->train(false);
    NoGradGuard no_grad;
    const data::Image want = data::tensor_to_image(infer::upscale_image(*net, s.lq, infer::TileOptions{}));
    // The PNG holds what the image writer makes of want's samples: clamped to [0, 1], 8 bits.
    REQUIRE(saved.pixels.size() == want.pixels.size());
    int differing = 0;
    for (size_t i = 0; i < saved.pixels.size(); ++i)
      differing += std::lround(saved.pixels[i] * 255.f) != std::lround(std::clamp(want.pixels[i], 0.f, 1.f) * 255.f);
    CHECK(differing == 0);
  }
}

// A val image whose header is sound (the check before the first iteration reads headers) and
// whose pixel data is cut short: the validation at iteration 3, between checkpoints, fails.
// The run stops with an error naming the file, after saving the training state of iteration
// 3; once the image is whole again, --resume auto goes on from there to the end.
TEST_CASE("train/failed_validation_saves_the_training_state_first") {
  test::TempDir dir;
  const std::string val_dir = dir.subdir("val"), png = val_dir + "/cut.png";
  std::mt19937_64 rng(5);
  const data::Image img = test::random_image(rng, 32, 32, 3);
  data::write_image(png, img);
  fs::resize_file(png, fs::file_size(png) / 2);
  const json c = validation_run("val_fails", 4, val_dir, 6, 3);
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains("validation at iteration 3") && Catch::Contains("cut.png") &&
                                             Catch::Contains("the training state of iteration 3 was saved first") &&
                                             Catch::Contains("training_states/psnr_3.state"));
  const std::string exp = test::train_exp_dir("val_fails");
  CHECK(fs::exists(exp + "/training_states/psnr_3.state"));
  CHECK(fs::exists(exp + "/models/net_g_psnr_3.safetensors"));

  data::write_image(png, img);
  TrainOptions resume;
  resume.resume = "auto";
  REQUIRE(run_training(c, resume) == 0);
  CHECK(fs::exists(exp + "/models/net_g_psnr_final.safetensors"));
  int vals = 0;
  for (const json& e : test::train_events("val_fails")) vals += e["event"] == "val";
  CHECK(vals == 1);  // iteration 6's; iteration 3's failed and is not repeated
}

// A generator whose output is not finite at validation (a learning rate of 1e30 blows the
// weights up in one Adam step): the run stops saying the weights diverged, and leaves no
// training state of those weights for --resume auto to pick.
TEST_CASE("train/diverged_validation_saves_nothing") {
  test::TempDir dir;
  const std::string val_dir = dir.subdir("val");
  std::mt19937_64 rng(6);
  data::write_image(val_dir + "/photo.png", test::random_image(rng, 32, 32, 3));
  json c = validation_run("val_diverged", 4, val_dir, 4, 1);
  c["train"]["stages"][0]["optim_g"]["lr"] = 1e30;
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains("validation at iteration 1") &&
                                             Catch::Contains("the weights diverged") &&
                                             !Catch::Contains("was saved first"));
  CHECK_FALSE(fs::exists(test::train_exp_dir("val_diverged") + "/training_states/psnr_1.state"));
}

// A paired val set (filename_tmpl '{}x4') with val.suffix: the SR image is named as BasicSR
// names it, by the LQ file's stem, in the set's named folder, with the suffix after a '_'
// (visualization/one_photo/im0x4_psnr_2_mysfx.png). val.metrics {} measures nothing: the
// run validates, logs no metric and still writes the image.
TEST_CASE("train/validation_names_sr_images_by_set_name_lq_stem_and_suffix") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  std::mt19937_64 rng(8);
  data::write_image(gt + "/im0.png", test::random_image(rng, 32, 24, 3));
  data::write_image(lq + "/im0x4.png", test::random_image(rng, 8, 6, 3));
  json c = validation_run("val_names", 4, gt, 2, 2);
  c["datasets"]["val"]["type"] = "PairedImageDataset";
  c["datasets"]["val"]["dataroot_lq"] = lq;
  c["datasets"]["val"]["filename_tmpl"] = "{}x4";
  c["datasets"]["val"]["name"] = "one_photo";
  c["val"]["suffix"] = "mysfx";
  c["val"]["metrics"] = json::object();
  REQUIRE(run_training(c, {}) == 0);
  const std::string vis = test::train_exp_dir("val_names") + "/visualization";
  CHECK(fs::exists(vis + "/one_photo/im0x4_psnr_2_mysfx.png"));
  CHECK_FALSE(fs::exists(vis + "/val"));
  int vals = 0;
  for (const json& e : test::train_events("val_names"))
    if (e["event"] == "val") {
      ++vals;
      CHECK_FALSE(e.contains("val_psnr"));
    }
  CHECK(vals == 1);
}

// ValidationResult::by_set (TensorBoard's metrics/<name>/<metric>): sets by name, and two sets
// sharing a name each as name(key), so neither set's means replace the other's (one set's
// name may even be the other's key).
TEST_CASE("train/validation_means_by_set_name_keep_every_set") {
  test::TempDir dir;
  std::mt19937_64 rng(12);
  const std::string a = dir.subdir("a"), b = dir.subdir("b");
  data::write_image(a + "/x.png", test::random_image(rng, 32, 32, 3));
  data::write_image(b + "/y.png", test::random_image(rng, 32, 32, 3));
  json c = validation_run("val_by_set", 4, a, 2, 2);
  c["val"]["save_img"] = false;
  c["datasets"]["val_2"] = c["datasets"]["val"];
  c["datasets"]["val_2"]["dataroot_gt"] = b;
  c["datasets"]["val"]["name"] = "val_2";
  c["datasets"]["val_2"]["name"] = "val_2";
  const Config cfg = parse_config(c);
  std::unique_ptr<Module> net = build_network(c["network_g"]);
  ValidationResult v = validate(*net, cfg, dir.subdir("exp"), "t", Device::cpu());
  REQUIRE(v.by_set.size() == 2);
  CHECK(v.by_set.at("val_2(val)").at("psnr") == v.means.at("val_psnr"));
  CHECK(v.by_set.at("val_2(val_2)").at("psnr") == v.means.at("val_2_psnr"));
  CHECK(v.means.at("val_psnr") != v.means.at("val_2_psnr"));
  c["datasets"]["val_2"]["name"] = "other";
  v = validate(*net, parse_config(c), dir.subdir("exp2"), "t", Device::cpu());
  CHECK(v.by_set.at("val_2").at("psnr") == v.means.at("val_psnr"));
  CHECK(v.by_set.at("other").at("psnr") == v.means.at("val_2_psnr"));
}

// Two val sets whose SR images would share visualization/<folder> (one set's name is the
// other's key), or two images of a set with one SR name, are refused before the first
// iteration, naming both.
TEST_CASE("train/validation_refuses_shared_output_names") {
  test::TempDir dir;
  const std::string val_dir = dir.subdir("val");
  std::mt19937_64 rng(9);
  data::write_image(val_dir + "/a.png", test::random_image(rng, 32, 32, 3));
  json c = validation_run("val_shared", 4, val_dir, 2, 2);
  c["datasets"]["val2"] = c["datasets"]["val"];
  c["datasets"]["val2"]["name"] = "";
  c["datasets"]["val"]["name"] = "val2";
  test::require_error([&] { check_validation_sets(parse_config(c)); },
                      {"validation: datasets.val and datasets.val2 would both write their SR images to "
                       "visualization/val2"});
  // val.save_img false: nothing is written, nothing can collide.
  c["val"]["save_img"] = false;
  check_validation_sets(parse_config(c));
  c["val"]["save_img"] = true;
  c["datasets"].erase("val2");
  c["datasets"]["val"]["name"] = "";
  data::write_image(val_dir + "/a.bmp", test::random_image(rng, 32, 32, 3));
  test::require_error([&] { check_validation_sets(parse_config(c)); },
                      {"validation set 'datasets.val': inputs '" + val_dir + "/a.bmp' and '" + val_dir +
                       "/a.png' would both be written to 'visualization/val/a_<stage>_<iter>.png'"});
}

// BasicSR's `color: y` recipe (ECBSR's): train and val sets on the Y channel, a one-channel
// generator. Validation measures its one-channel output against the Y of the GT on 8-bit
// levels, test_y_channel leaves a one-channel image as it is (BasicSR's to_y_channel), and the
// saved SR image is gray. The expected PSNR is computed here from the colour val sample, its Y
// taken by hand, so a conversion skipped or done on the wrong channels fails.
TEST_CASE("train/validation_of_a_color_y_set_measures_psnr_on_y") {
  const std::string run = "val_color_y";
  json c = test::tiny_train_config(
      run, {R"(network_g={"type": "MSRResNet", "num_in_ch": 1, "num_out_ch": 1, "num_feat": 4, "num_block": 1})",
            "network_d.num_in_ch=1", "datasets.train.color=y", "datasets.val.color=y", "train.stages.0.total_iter=2",
            "val.val_freq=2", "logger.save_checkpoint_freq=2",
            R"(val.metrics={"psnr": {"type": "calculate_psnr", "crop_border": 4},
                            "psnr_y": {"type": "calculate_psnr", "crop_border": 4, "test_y_channel": true}})"});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  double psnr = NAN, psnr_y = NAN;
  for (const json& e : test::train_events(run))
    if (e["event"] == "val") psnr = e["val_psnr"], psnr_y = e["val_psnr_y"];
  REQUIRE(std::isfinite(psnr));
  CHECK(psnr_y == psnr);

  // The colour sample, and its Y by hand: Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, summed
  // in float64 in BasicSR's order (B, G, R).
  json rgb_config = c;
  rgb_config["datasets"]["val"]["color"] = "rgb";
  const data::Dataset rgb_set(parse_config(rgb_config).eval_datasets().at(0)->data);
  const data::ValSample s = rgb_set.load_val(0);
  auto y_of = [](const Tensor& t) {
    const int64_t h = t.size(2), w = t.size(3), plane = h * w;
    Tensor y = Tensor::empty({1, 1, h, w});
    const float* p = t.data<float>();
    for (int64_t i = 0; i < plane; ++i)
      y.data<float>()[i] = (float)((24.966 * p[2 * plane + i] + 128.553 * p[plane + i] + 65.481 * p[i] + 16.0) / 255.0);
    return y;
  };
  const Tensor gt_y = y_of(s.gt), lq_y = y_of(s.lq);
  const std::string exp = test::train_exp_dir(run);
  std::unique_ptr<Module> net = build_network(c["network_g"]);
  net->load_state_dict(read_safetensors(exp + "/models/net_g_ema_psnr_2.safetensors").tensors, true);
  net->train(false);
  NoGradGuard no_grad;
  const Tensor sr = infer::upscale_image(*net, lq_y, infer::TileOptions{});
  REQUIRE(sr.shape() == gt_y.shape());
  const int64_t h = gt_y.size(2), w = gt_y.size(3);
  double se = 0;
  for (int64_t y = 4; y < h - 4; ++y)
    for (int64_t x = 4; x < w - 4; ++x) {
      const double d = (double)data::quantize_u8(sr.data<float>()[y * w + x]) -
                       (double)data::quantize_u8(gt_y.data<float>()[y * w + x]);
      se += d * d;
    }
  const double want = 10 * std::log10(255.0 * 255.0 / (se / double((h - 8) * (w - 8))));
  CHECK(psnr == Approx(want).epsilon(1e-9));

  const data::Image saved = data::read_image(exp + "/visualization/one_photo/skimage_coffee_psnr_2.png");
  CHECK(saved.channels == 1);
  CHECK(saved.width == w);
}
