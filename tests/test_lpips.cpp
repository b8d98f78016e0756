// LPIPS (nets/lpips.h, infer/lpips_score.h): scores against tests/python/lpips_reference.py (PyTorch,
// float64 and float32) with VGG16 and AlexNet, the weights files it reads and refuses, the sizes it
// measures, `srengine metrics --lpips`, and calculate_lpips as a validation metric in training. The
// weights are random (LPIPS's real ones are not in the repository), made by the reference script;
// the tests skip with a warning where python3-torch is missing.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image_io.h"
#include "data/imresize.h"
#include "engine/pth_reader.h"
#include "engine/safetensors.h"
#include "infer/lpips_score.h"
#include "nets/lpips.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/config.h"
#include "train/networks.h"
#include "train/trainer.h"
#include "train/validation.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

bool lpips_python_available() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch, numpy, PIL' > /dev/null 2>&1") == 0;
  if (!ok) WARN("SKIPPED: /usr/bin/python3 with python3-torch, python3-numpy and python3-pil is needed (tools/setup.sh)");
  return ok;
}

std::string lpips_script() { return std::string(SRENGINE_SOURCE_DIR) + "/tests/python/lpips_reference.py"; }

// lin.pth, backbone.pth and whole.pth of random LPIPS weights for `net` in dir/<net>.
std::string make_lpips_weights(const test::TempDir& tmp, const std::string& net, int seed = 0) {
  const std::string dir = tmp.subdir(net + std::to_string(seed));
  const std::string cmd = "/usr/bin/python3 " + lpips_script() + " make-weights " + net + " " + dir + " --seed " +
                          std::to_string(seed) + " > " + dir + "/log.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return dir;
}

// GT crops of the val photos and SR images made from them: noise, and a bicubic x1/2 then x2.
std::vector<std::pair<std::string, std::string>> write_lpips_pairs(const std::string& dir, int w, int h) {
  const std::string src = std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos";
  std::mt19937_64 rng(11);
  std::normal_distribution<float> noise(0.f, 0.02f);
  std::vector<std::pair<std::string, std::string>> pairs;
  int i = 0;
  for (const char* name : {"mate_ladybird.png", "skimage_coffee.png"}) {
    const data::Image full = data::read_image(src + "/" + name);
    data::Image gt(w, h, 3, 8);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) gt.at(y, x, c) = full.at(y + 40, x + 60, c);
    data::Image sr = gt;
    if (i == 0) {
      for (float& v : sr.pixels) v = std::min(1.f, std::max(0.f, v + noise(rng)));
    } else {
      const data::Image blurred = data::imresize(data::imresize(gt, 0.5), 2.0);  // odd sides come back one larger
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          for (int c = 0; c < 3; ++c) sr.at(y, x, c) = blurred.at(y, x, c);
    }
    const std::string g = dir + "/gt" + std::to_string(i) + ".png", s = dir + "/sr" + std::to_string(i) + ".png";
    data::write_image(g, gt);
    data::write_image(s, sr);
    pairs.push_back({g, s});
    ++i;
  }
  return pairs;
}

// The reference's score of each SR image, by path.
std::map<std::string, double> reference_lpips(const std::string& weights, int crop,
                                              const std::vector<std::pair<std::string, std::string>>& pairs,
                                              const std::string& flags, const test::TempDir& tmp) {
  std::string cmd = "/usr/bin/python3 " + lpips_script() + " score " + weights + "/lin.pth " + weights +
                    "/backbone.pth " + std::to_string(crop);
  for (const auto& [g, s] : pairs) cmd += " " + g + " " + s;
  cmd += " " + flags + " > " + tmp.file("ref.txt") + " 2> " + tmp.file("ref_err.txt");
  const int rc = std::system(cmd.c_str());
  INFO(cmd << "\n" << test::read_text(tmp.file("ref_err.txt")));
  REQUIRE(rc == 0);
  std::map<std::string, double> out;
  std::istringstream in(test::read_text(tmp.file("ref.txt")));
  std::string path, value;
  while (in >> path >> value) out[path] = std::stod(value);
  REQUIRE(out.size() == pairs.size());
  return out;
}

double relative_difference(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

}  // namespace

TEST_CASE("lpips/matches_the_torch_reference") {
  if (!lpips_python_available()) return;
  test::TempDir tmp;
  const auto pairs = write_lpips_pairs(tmp.path(), 61, 45);
  for (const std::string net : {"vgg", "alex"}) {
    for (int crop : {0, 3}) {
      INFO(net << " crop " << crop);
      const std::string w = make_lpips_weights(tmp, net, crop);
      auto lpips = Lpips::from_files(w + "/lin.pth", w + "/backbone.pth");
      CHECK(lpips_net_name(lpips->net()) == net);
      const auto f32 = reference_lpips(w, crop, pairs, "", tmp);
      const auto f64 = reference_lpips(w, crop, pairs, "--float64", tmp);
      const auto planted = reference_lpips(w, crop, pairs, "--float64 --variant no_scaling", tmp);
      auto lpips64 = Lpips::from_files(w + "/whole.pth", "");  // one LPIPS state dict: the same weights
      lpips64->to(DType::f64);
      for (const auto& [g, s] : pairs) {
        const data::Image gt = data::read_image(g), sr = data::read_image(s);
        const double v32 = calculate_lpips(gt, sr, crop, *lpips), v64 = calculate_lpips(gt, sr, crop, *lpips64);
        INFO(s << ": float32 " << v32 << " float64 " << v64 << " reference " << f64.at(s));
        CHECK(v64 > 0);
        CHECK(relative_difference(v64, f64.at(s)) < 1e-9);
        CHECK(relative_difference(v32, f32.at(s)) < 1e-5);
        // The check sees a missing scaling layer (lpips' version 0.0).
        CHECK(relative_difference(planted.at(s), f64.at(s)) > 1e-3);
      }
    }
  }
}

TEST_CASE("lpips/identical_images_score_zero_and_the_order_does_not_matter") {
  if (!lpips_python_available()) return;
  test::TempDir tmp;
  const auto pairs = write_lpips_pairs(tmp.path(), 40, 33);
  const std::string w = make_lpips_weights(tmp, "alex");
  auto lpips = Lpips::from_files(w + "/lin.pth", w + "/backbone.pth");
  const data::Image gt = data::read_image(pairs[0].first), sr = data::read_image(pairs[0].second);
  CHECK(calculate_lpips(gt, gt, 0, *lpips) == 0.0);
  CHECK(calculate_lpips(gt, sr, 0, *lpips) == calculate_lpips(sr, gt, 0, *lpips));
  // A batch gives each image its own distance, equal to the image alone.
  const Tensor a = data::image_to_tensor(gt), b = data::image_to_tensor(sr);
  auto signed_unit = [](const Tensor& t) {
    std::vector<double> v = t.to_vector();
    for (double& x : v) x = x * 2 - 1;
    return v;
  };
  std::vector<double> ab = signed_unit(a), ba = signed_unit(b);
  std::vector<double> first = ab, second = ba;
  first.insert(first.end(), ba.begin(), ba.end());
  second.insert(second.end(), ab.begin(), ab.end());
  const Shape two{2, 3, a.size(2), a.size(3)}, one{1, 3, a.size(2), a.size(3)};
  const std::vector<double> batch = lpips->distance(Tensor::from_vector(first, two), Tensor::from_vector(second, two));
  const std::vector<double> alone = lpips->distance(Tensor::from_vector(ab, one), Tensor::from_vector(ba, one));
  REQUIRE(batch.size() == 2);
  // (A batch may block the convolutions otherwise: equal to rounding.)
  CHECK(batch[0] == Approx(alone[0]).epsilon(1e-6));
  CHECK(batch[1] == Approx(alone[0]).epsilon(1e-6));
}

TEST_CASE("lpips/weights_files_are_checked") {
  if (!lpips_python_available()) return;
  test::TempDir tmp;
  const std::string vgg = make_lpips_weights(tmp, "vgg"), alex = make_lpips_weights(tmp, "alex");
  // The backbone is needed unless the file holds it; the message names torchvision's file.
  test::require_error([&] { Lpips::from_files(vgg + "/lin.pth", ""); },
                      {vgg + "/lin.pth", "not the backbone", "vgg16-397923af.pth"});
  test::require_error([&] { Lpips::from_files(alex + "/lin.pth", ""); }, {"alexnet-owt-7be5be79.pth"});
  // VGG16's linear layers with AlexNet's backbone: the missing convs are listed.
  test::require_error([&] { Lpips::from_files(vgg + "/lin.pth", alex + "/backbone.pth"); },
                      {alex + "/backbone.pth", "VGG16 backbone", "features.2.weight"});
  // Linear layers of other widths, a missing one, a non-finite value.
  const NamedTensors lin = read_weights_file(alex + "/lin.pth");
  NamedTensors odd = lin, short_one = lin, nan = lin;
  odd[2].second = Tensor::zeros({1, 100, 1, 1});
  write_safetensors(tmp.file("odd.safetensors"), odd);
  test::require_error([&] { Lpips::from_files(tmp.file("odd.safetensors"), alex + "/backbone.pth"); },
                      {"odd.safetensors", "64, 192, 100, 256, 256", "neither VGG16", "AlexNet"});
  short_one.erase(short_one.begin() + 4);
  write_safetensors(tmp.file("short.safetensors"), short_one);
  test::require_error([&] { Lpips::from_files(tmp.file("short.safetensors"), alex + "/backbone.pth"); },
                      {"short.safetensors", "no linear layer 4", "lin4.model.1.weight"});
  std::vector<double> v = nan[1].second.to_vector();
  v[7] = NAN;
  nan[1].second = Tensor::from_vector(v, nan[1].second.shape());
  write_safetensors(tmp.file("nan.safetensors"), nan);
  test::require_error([&] { Lpips::from_files(tmp.file("nan.safetensors"), alex + "/backbone.pth"); },
                      {"nan.safetensors", "lin1.model.1.weight", "non-finite"});
  test::require_error([&] { Lpips::from_files(alex + "/backbone.pth", ""); }, {"no linear layer 0"});
  test::require_error([&] { Lpips::from_files(tmp.file("none.pth"), ""); }, {"none.pth"});
}

TEST_CASE("lpips/sizes_the_backbones_need") {
  // VGG16 pools four times before relu5_3: 16 pixels a side. AlexNet's 11x11 stride-4 conv and two
  // 3x3 stride-2 pools before relu5: 31.
  CHECK_NOTHROW(check_lpips_size(16, 16, 0, LpipsNet::vgg));
  test::require_error([&] { check_lpips_size(15, 40, 0, LpipsNet::vgg); }, {"15x40", "at least 16", "vgg"});
  CHECK_NOTHROW(check_lpips_size(31, 31, 0, LpipsNet::alex));
  test::require_error([&] { check_lpips_size(40, 30, 0, LpipsNet::alex); }, {"40x30", "at least 31", "alex"});
  CHECK_NOTHROW(check_lpips_size(20, 20, 2, LpipsNet::vgg));
  test::require_error([&] { check_lpips_size(20, 21, 3, LpipsNet::vgg); }, {"14x15", "20x21", "crop_border 3"});
  test::require_error([&] { check_lpips_size(6, 6, 3, LpipsNet::vgg); }, {"crop_border 3 leaves nothing"});
  if (!lpips_python_available()) return;
  // The smallest sizes measure (the checks above are the nets' real limits, not guesses).
  test::TempDir tmp;
  for (const std::string net : {"vgg", "alex"}) {
    const std::string w = make_lpips_weights(tmp, net);
    auto lpips = Lpips::from_files(w + "/lin.pth", w + "/backbone.pth");
    const int side = net == "vgg" ? 16 : 31;
    std::mt19937_64 rng(3);
    const data::Image a = test::random_image(rng, side, side + 1, 3), b = test::random_image(rng, side, side + 1, 3);
    CHECK(std::isfinite(calculate_lpips(a, b, 0, *lpips)));
    const data::Image c = test::random_image(rng, side - 1, side, 3), d = test::random_image(rng, side - 1, side, 3);
    test::require_error([&] { calculate_lpips(c, d, 0, *lpips); }, {"too small"});
  }
}

TEST_CASE("cli/metrics_lpips") {
  if (!lpips_python_available()) return;
  test::TempDir tmp;
  const std::string gt = tmp.subdir("gt"), sr = tmp.subdir("sr");
  const auto pairs = write_lpips_pairs(tmp.path(), 48, 40);
  for (size_t i = 0; i < pairs.size(); ++i) {
    fs::copy_file(pairs[i].first, gt + "/img" + std::to_string(i) + ".png");
    fs::copy_file(pairs[i].second, sr + "/img" + std::to_string(i) + ".png");
  }
  const std::string w = make_lpips_weights(tmp, "vgg");
  const auto ref = reference_lpips(w, 2, pairs, "", tmp);
  const std::string exe = test::srengine_exe();
  const std::string cmd = exe + " metrics --gt " + gt + " --sr " + sr + " --crop-border 2 --lpips " + w +
                          "/lin.pth --lpips-backbone " + w + "/backbone.pth --json " + tmp.file("m.json") + " > " +
                          tmp.file("out.txt") + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string out = test::read_text(tmp.file("out.txt"));
  CHECK(out.find("LPIPS") != std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(test::read_text(tmp.file("m.json")));
  REQUIRE(j["images"].size() == 2);
  double mean = 0;
  for (size_t i = 0; i < 2; ++i) {
    const double v = j["images"][i]["lpips"];
    CHECK(relative_difference(v, ref.at(pairs[i].second)) < 1e-5);
    CHECK(j["images"][i].contains("psnr"));
    mean += v / 2;
  }
  CHECK(j["mean_lpips"].get<double>() == Approx(mean).epsilon(1e-12));
  // Misuse: LPIPS needs GT; a backbone without --lpips; a pair too small, found before measuring.
  auto fails_with = [&](const std::string& args, const std::string& text) {
    const std::string c = exe + " metrics " + args + " > " + tmp.file("err.txt") + " 2>&1";
    CHECK(std::system(c.c_str()) != 0);
    const std::string e = test::read_text(tmp.file("err.txt"));
    INFO(e);
    CHECK(e.find(text) != std::string::npos);
  };
  fails_with("--sr " + sr + " --lpips " + w + "/lin.pth --niqe x.npz", "--lpips compares SR with GT images");
  fails_with("--gt " + gt + " --sr " + sr + " --lpips-backbone " + w + "/backbone.pth", "give --lpips too");
  std::mt19937_64 rng(9);
  data::write_image(gt + "/small.png", test::random_image(rng, 14, 30, 3));
  data::write_image(sr + "/small.png", test::random_image(rng, 14, 30, 3));
  fails_with("--gt " + gt + " --sr " + sr + " --lpips " + w + "/lin.pth --lpips-backbone " + w + "/backbone.pth",
             gt + "/small.png");
}

TEST_CASE("config/lpips_metric_keys_are_checked") {
  if (!lpips_python_available()) return;
  test::TempDir tmp;
  const std::string w = make_lpips_weights(tmp, "alex");
  const train::json base = test::tiny_train_config("lpips_keys");
  auto with_metric = [&](const train::json& metric) {
    train::json c = base;
    c["val"]["metrics"] = {{"lp", metric}};
    return c;
  };
  auto error_of = [&](const train::json& c) { return test::require_error([&] { train::validate_config(c); }, {}); };
  CHECK_THAT(error_of(with_metric({{"type", "calculate_lpips"}})),
             Catch::Contains("'val.metrics.lp.lpips_weights' is required by calculate_lpips") &&
                 Catch::Contains("weights/v0.1/vgg.pth"));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_lpips"}, {"lpips_weights", w + "/lin.pth"}})),
             Catch::Contains("'val.metrics.lp.lpips_weights'") && Catch::Contains("alexnet-owt-7be5be79.pth"));
  const train::json ok = with_metric({{"type", "calculate_lpips"}, {"lpips_weights", w + "/lin.pth"},
                                      {"backbone_weights", w + "/backbone.pth"}});
  CHECK(train::validate_config(ok)["val"]["metrics"]["lp"]["better"] == "lower");
  train::json higher = ok;
  higher["val"]["metrics"]["lp"]["better"] = "higher";
  CHECK_THAT(error_of(higher), Catch::Contains("'val.metrics.lp.better' is higher"));
  train::json y = ok;
  y["val"]["metrics"]["lp"]["test_y_channel"] = true;
  CHECK_THAT(error_of(y), Catch::Contains("'val.metrics.lp.test_y_channel' is true") && Catch::Contains("RGB"));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_psnr"}, {"lpips_weights", w + "/lin.pth"}})),
             Catch::Contains("'val.metrics.lp.lpips_weights' is read by calculate_lpips only"));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_niqe"}, {"backbone_weights", w + "/backbone.pth"}})),
             Catch::Contains("'val.metrics.lp.backbone_weights' is read by calculate_lpips only"));
  CHECK_THAT(error_of(with_metric({{"type", "calculate_lpips"}, {"lpips_weights", tmp.file("none.pth")}})),
             Catch::Contains("'val.metrics.lp.lpips_weights': '" + tmp.file("none.pth") + "' does not exist"));
  // backbone_weights is optional, but given it must be a path that exists: one problem each.
  train::json empty = ok;
  empty["val"]["metrics"]["lp"]["backbone_weights"] = "";
  const std::string empty_error = error_of(empty);
  CHECK_THAT(empty_error, Catch::Contains("'val.metrics.lp.backbone_weights' must be the path of") &&
                              !Catch::Contains("required") && !Catch::Contains("not the backbone"));
  train::json gone = ok;
  gone["val"]["metrics"]["lp"]["backbone_weights"] = tmp.file("gone.pth");
  const std::string gone_error = error_of(gone);
  CHECK_THAT(gone_error, Catch::Contains("'val.metrics.lp.backbone_weights': '" + tmp.file("gone.pth") +
                                         "' does not exist") && !Catch::Contains("not the backbone"));
  test::write_text(tmp.file("junk.pth"), "junk junk junk junk");
  train::json junk = ok;
  junk["val"]["metrics"]["lp"]["backbone_weights"] = tmp.file("junk.pth");
  CHECK_THAT(error_of(junk), Catch::Contains("'val.metrics.lp.backbone_weights'") &&
                                 Catch::Contains(tmp.file("junk.pth") + "' is not a weights file"));
  // A training config whose metric files are missing still gives its network (infer --config).
  train::json elsewhere = with_metric({{"type", "calculate_lpips"}, {"lpips_weights", tmp.file("absent/vgg.pth")}});
  elsewhere.erase("__config_dir__");
  test::write_text(tmp.file("elsewhere.json"), elsewhere.dump());
  CHECK(train::read_json_generator_config(tmp.file("elsewhere.json")).type == "RRDBNet");
  // Relative paths are found beside the config.
  train::json rel = with_metric({{"type", "calculate_lpips"}, {"lpips_weights", "alex0/whole.pth"}});
  rel["__config_dir__"] = tmp.path();
  CHECK(train::validate_config(rel)["val"]["metrics"]["lp"]["lpips_weights"] == w + "/whole.pth");
}

TEST_CASE("train/lpips_validates_during_training") {
  if (!lpips_python_available()) return;
  test::TempDir tmp;
  const std::string w = make_lpips_weights(tmp, "alex");
  train::json c = test::tiny_train_config("lpips_val");
  c["val"]["metrics"] = {{"lpips", {{"type", "calculate_lpips"}, {"crop_border", 4}, {"lpips_weights", w + "/whole.pth"}}},
                         {"psnr", {{"type", "calculate_psnr"}, {"crop_border", 4}}}};
  c["train"]["stages"] = train::json::array({c["train"]["stages"][0]});
  c = train::validate_config(c);
  REQUIRE(train::run_training(c, {}) == 0);
  std::vector<train::json> vals;
  for (const train::json& ev : test::train_events("lpips_val"))
    if (ev["event"] == "val") vals.push_back(ev);
  REQUIRE(vals.size() == 2);
  for (const train::json& v : vals) {
    REQUIRE(v.contains("val_lpips"));
    CHECK(v["val_lpips"].get<double>() > 0);
    CHECK(v["val_lpips_bicubic"].get<double>() > 0);
  }
  const double best = std::min(vals[0]["val_lpips"].get<double>(), vals[1]["val_lpips"].get<double>());
  char expect[64];
  std::snprintf(expect, sizeof expect, "(best %.4f @%d)", best, best == vals[0]["val_lpips"].get<double>() ? 4 : 8);
  CHECK(test::read_text(test::train_exp_dir("lpips_val") + "/train.log").find(expect) != std::string::npos);
  // The value is the library's on the saved SR image against the (x4-cropped) GT.
  auto lpips = Lpips::from_files(w + "/whole.pth", "");
  const data::Image full = data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/skimage_coffee.png");
  const data::Image sr =
      data::read_image(test::train_exp_dir("lpips_val") + "/visualization/one_photo/skimage_coffee_psnr_8.png");
  REQUIRE((sr.width == full.width - full.width % 4 && sr.height == full.height - full.height % 4));
  data::Image gt(sr.width, sr.height, 3, 8);
  for (int y = 0; y < sr.height; ++y)
    for (int x = 0; x < sr.width; ++x)
      for (int ch = 0; ch < 3; ++ch) gt.at(y, x, ch) = full.at(y, x, ch);
  CHECK(vals[1]["val_lpips"].get<double>() == Approx(calculate_lpips(gt, sr, 4, *lpips)).epsilon(1e-9));
}
