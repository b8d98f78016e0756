// BasicSR / Real-ESRGAN option files (tests/fixtures/yaml/: the published keys and values,
// written for these tests): YAML reading (!!float, ~, anchors), translation to srengine's
// config, one error for every problem, the notes of ignored keys, and the CLI.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/error.h"
#include "data/dataset.h"
#include "support/data_support.h"
#include "train/basicsr_options.h"
#include "train/config.h"
#include "train/config_types.h"
#include "train/yaml/options_file.h"
#include "train/yaml/read_yaml.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "data/image_io.h"
#include "nets/rrdbnet.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

const std::string kRepo = SRENGINE_SOURCE_DIR;
std::string fixture(const std::string& name) { return kRepo + "/tests/fixtures/yaml/" + name; }
const std::string kTrainPhotos = kRepo + "/datasets/train_photos";
const std::string kValPhotos = kRepo + "/datasets/val_photos";

// The published files name DIV2K / Set5 folders: point a dataset at the embedded GT-only
// photographs (LQ made by bicubic).
std::vector<std::string> embedded(const std::string& set, const std::string& folder) {
  return {"datasets." + set + ".type=GTOnlyBicubicDataset", "datasets." + set + ".dataroot_gt=" + folder,
          "datasets." + set + ".dataroot_lq=null"};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string error_of(const std::string& path, const std::vector<std::string>& overrides = {},
                     ConfigUse use = ConfigUse::train) {
  try {
    load_config_or_options(path, overrides, use);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// `srengine <args>` with each override as --set, its output in `log`; the exit status.
int run_srengine(const std::string& args, const std::vector<std::string>& sets, const std::string& log) {
  std::string cmd = test::srengine_exe() + " " + args;
  for (const auto& s : sets) cmd += " --set '" + s + "'";
  return std::system((cmd + " > " + log + " 2>&1").c_str());
}

// train_RRDBNet_PSNR_x4.yml made a tiny run (--set): the embedded photos, a tiny network,
// `iters` iterations validated at the end, a checkpoint every `save_freq`.
std::vector<std::string> tiny_psnr_run(const std::string& name, const std::string& root, int iters, int save_freq) {
  const std::string n = std::to_string(iters);
  return embedded("train", kTrainPhotos) + embedded("val", kValPhotos) +
         std::vector<std::string>{"datasets.val.meta_info_file=" + kRepo + "/tests/fixtures/val_one.txt",
                                  "datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                                  "datasets.train.num_worker_per_gpu=1", "datasets.train.dataset_enlarge_ratio=1",
                                  "network_g.num_feat=8", "network_g.num_block=1", "network_g.num_grow_ch=4",
                                  "train.stages.0.total_iter=" + n, "train.stages.0.scheduler.periods=[" + n + "]",
                                  "train.stages.0.scheduler.restart_weights=[1]", "val.val_freq=" + n,
                                  "logger.print_freq=1", "logger.save_checkpoint_freq=" + std::to_string(save_freq),
                                  "device=cpu", "name=" + name, "path.experiments_root=" + root};
}

bool yaml_or_skip() {
  if (yaml_reader_built()) return true;
  WARN("SKIPPED: this build has no yaml-cpp (libyaml-cpp-dev)");
  return false;
}

}  // namespace

TEST_CASE("yaml/rrdbnet_psnr_translates_and_validates") {
  if (!yaml_or_skip()) return;
  const auto overrides = embedded("train", kTrainPhotos) + embedded("val", kValPhotos) +
                         std::vector<std::string>{"train.stages.0.total_iter=100"};
  const LoadedConfig l = load_config_or_options(fixture("train_RRDBNet_PSNR_x4.yml"), overrides, ConfigUse::train);
  const json& c = l.config;
  CHECK(c["name"] == "051_RRDBNet_PSNR_x4_f64b23_DIV2K_1000k_B16G1_wandb");
  REQUIRE(c["train"]["stages"].size() == 1);
  const json& s = c["train"]["stages"][0];
  CHECK(s["type"] == "sr");
  CHECK(s["total_iter"] == 100);
  CHECK(s["optim_g"]["lr"] == 2e-4);
  CHECK(s["optim_g"]["betas"] == json::array({0.9, 0.99}));
  CHECK(s["scheduler"]["type"] == "CosineAnnealingRestartLR");
  CHECK(s["scheduler"]["periods"] == json::array({250000, 250000, 250000, 250000}));
  CHECK(s["scheduler"]["eta_min"] == 1e-7);
  CHECK(s["pixel_opt"]["type"] == "L1Loss");
  CHECK(c["train"]["ema_decay"] == 0.999);
  CHECK(c["val"]["val_freq"] == 5000);
  CHECK(c["val"]["save_img"] == false);
  CHECK(c["val"]["metrics"].size() == 1);
  CHECK(c["val"]["metrics"]["psnr"]["crop_border"] == 4);
  CHECK(c["logger"]["save_checkpoint_freq"] == 5000);
  CHECK(c["network_g"]["num_block"] == 23);
  CHECK(c["network_g"]["scale"] == 4);
  CHECK(c["datasets"]["train"]["gt_size"] == 128);
  CHECK(c["datasets"]["train"]["dataset_enlarge_ratio"] == 100);
  CHECK(c["path"]["pretrain_network_g"] == "");  // `~`: none
  CHECK(c["device"] == "auto");
}

TEST_CASE("yaml/esrgan_translates_and_validates") {
  if (!yaml_or_skip()) return;
  const ConfigFile f = read_config_or_options(fixture("train_ESRGAN_x4.yml"));
  CHECK(f.problems.empty());
  const json& s = f.config["train"]["stages"][0];
  CHECK(s["type"] == "esrgan");
  CHECK(s["pixel_opt"]["loss_weight"] == 1e-2);
  CHECK(s["gan_opt"]["gan_type"] == "vanilla");
  CHECK(s["gan_opt"]["loss_weight"] == 5e-3);
  CHECK(s["perceptual_opt"]["layer_weights"] == json{{"conv5_4", 1}});
  CHECK(s["scheduler"]["milestones"] == json::array({50000, 100000, 200000, 300000}));
  CHECK(s["optim_d"]["lr"] == 1e-4);
  CHECK(f.config["network_d"]["type"] == "VGGStyleDiscriminator");
  // .pth weights pass through (the .pth reader loads them).
  CHECK(f.config["path"]["pretrain_network_g"] ==
        "experiments/051_RRDBNet_PSNR_x4_f64b23_DIV2K_1000k_B16G1_wandb/models/net_g_1000000.pth");
  // BasicSR downloads VGG19; here it is a file, and the user is told.
  bool vgg_note = false;
  for (const auto& n : f.notes) vgg_note |= n.find("perceptual_opt.vgg_weights=FILE") != std::string::npos;
  CHECK(vgg_note);
  const auto overrides = embedded("train", kTrainPhotos) + embedded("val", kValPhotos) +
                         std::vector<std::string>{"train.stages.0.total_iter=10"};
  const LoadedConfig l = load_config_or_options(fixture("train_ESRGAN_x4.yml"), overrides, ConfigUse::train);
  CHECK(l.config["train"]["stages"][0]["type"] == "esrgan");
  CHECK(l.config["train"]["stages"][0]["total_iter"] == 10);
  CHECK(l.config["network_d"]["type"] == "VGGStyleDiscriminator");
  CHECK(l.config["datasets"]["train"]["gt_size"] == 128);  // VGGStyleDiscriminator's input_size
}

TEST_CASE("yaml/test_esrgan_translates_and_validates") {
  if (!yaml_or_skip()) return;
  const auto overrides = embedded("test_1", kValPhotos) + embedded("test_2", kValPhotos);
  const LoadedConfig l = load_config_or_options(fixture("test_ESRGAN_x4.yml"), overrides, ConfigUse::test);
  const json& c = l.config;
  CHECK(c["datasets"].size() == 2);
  CHECK(c["datasets"]["test_1"]["name"] == "Set5");
  CHECK(c["datasets"]["test_2"]["name"] == "Set14");
  CHECK(c["path"]["param_key_g"] == "params_ema");
  CHECK(c["path"]["pretrain_network_g"] ==
        "experiments/pretrained_models/ESRGAN/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth");
  CHECK(c["val"]["suffix"] == "");  // `~`: the experiment name, as in BasicSR
  CHECK(c["val"]["metrics"]["ssim"]["type"] == "calculate_ssim");
  CHECK(c["val"]["metrics"]["ssim"]["crop_border"] == 4);
  // Without the overrides the published folders do not exist here: named in the error.
  CHECK_THAT(error_of(fixture("test_ESRGAN_x4.yml"), {}, ConfigUse::test),
             Catch::Contains("test_ESRGAN_x4.yml") && Catch::Contains("datasets/Set5/GTmod12"));
}

TEST_CASE("yaml/realesrnet_translates_to_the_realesrnet_stage") {
  if (!yaml_or_skip()) return;
  const ConfigFile f = read_config_or_options(fixture("train_realesrnet_x4plus.yml"));
  std::string notes;
  for (const auto& n : f.notes) notes += n + "\n";
  INFO(notes);
  CHECK(f.problems.empty());
  CHECK(f.config["train"]["stages"][0]["type"] == "realesrnet");
  CHECK(f.config["datasets"]["train"]["type"] == "RealESRGANDataset");
  CHECK(f.config["queue_size"] == 180);
  CHECK(f.config["resize_prob"] == json::array({0.2, 0.7, 0.1}));
  CHECK(f.config["gt_usm"] == true);
  CHECK(count(notes, "'datasets.train.blur_kernel_size' ignored") == 1);
  // Validates as it is except the DF2K folders, which do not exist here: named in the error.
  CHECK_THAT(error_of(fixture("train_realesrnet_x4plus.yml")),
             Catch::Contains("datasets/DF2K") && !Catch::Contains("unknown key") && !Catch::Contains("queue_size"));
  const LoadedConfig l = load_config_or_options(
      fixture("train_realesrnet_x4plus.yml"),
      {"datasets.train.dataroot_gt=" + kTrainPhotos, "datasets.train.meta_info=null", "train.stages.0.total_iter=10"},
      ConfigUse::train);
  const train::Config typed = train::parse_config(l.config);
  CHECK(typed.find_dataset("train")->data.type == data::DatasetType::realesrgan);
  CHECK(typed.find_dataset("train")->data.gt_size == 256);
  CHECK(typed.find_dataset("train")->data.degradation.order1.resize_range == data::degrade::Range{0.15, 1.5});
  // A RealESRGANModel file: its *_gt_usm switches land on the stage.
  const BasicsrTranslation t = translate_basicsr_options(
      {{"name", "x"}, {"model_type", "RealESRGANModel"}, {"l1_gt_usm", true}, {"percep_gt_usm", false},
       {"gan_gt_usm", true}, {"train", {{"total_iter", 5}}}},
      "g.yml");
  CHECK(t.problems.empty());
  CHECK(t.config["train"]["stages"][0]["type"] == "realesrgan");
  CHECK(t.config["train"]["stages"][0]["percep_gt_usm"] == false);
  CHECK(t.config["train"]["stages"][0]["gan_gt_usm"] == true);
}

TEST_CASE("yaml/cli_trains_from_realesrnet_yaml") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  // Real-ESRGAN's published file with the embedded photos, a tiny network and a few
  // iterations: no unsupported key, the pairs synthesised on the fly.
  const std::vector<std::string> sets = {
      "datasets.train.dataroot_gt=" + kTrainPhotos, "datasets.train.meta_info=null",
      "datasets.train.crop_pad_size=128", "datasets.train.gt_size=32",
      "datasets.train.batch_size_per_gpu=2", "datasets.train.num_worker_per_gpu=1", "queue_size=4",
      "network_g.num_feat=8", "network_g.num_block=1", "network_g.num_grow_ch=4", "path.pretrain_network_g=",
      "train.stages.0.total_iter=4", "logger.print_freq=1", "logger.save_checkpoint_freq=4", "device=cpu",
      "name=yaml_realesrnet", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_realesrnet_x4plus.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK_THAT(log, !Catch::Contains("not supported"));
  CHECK(fs::exists(tmp.path() + "/yaml_realesrnet/models/net_g_realesrnet_final.safetensors"));
}

TEST_CASE("yaml/five_mistakes_in_one_error") {
  if (!yaml_or_skip()) return;
  const std::string e = error_of(fixture("five_mistakes.yml"));
  INFO(e);
  CHECK_THAT(e, Catch::Contains("five_mistakes.yml"));
  CHECK_THAT(e, Catch::Contains("config: 5 problems:"));
  CHECK_THAT(e, Catch::Contains("'model_type' (\"VideoRecurrentModel\") is not a model srengine trains"));
  CHECK_THAT(e, Catch::Contains("'train.totl_iter' (10) is not supported here (did you mean 'total_iter'?)"));
  CHECK_THAT(e, Catch::Contains("'datasets.test_lq_only.type' is LQOnlyDataset (LQ images only, BasicSR's "
                                "SingleImageDataset): validation during training measures against GT"));
  CHECK_THAT(e, Catch::Contains("'train.stages.0.optim_g.lr' must be a number, got \"2e-4\""));
  CHECK_THAT(e, Catch::Contains("'scale' is 3, which RRDBNet does not upscale by (it takes 1, 2 or 4)"));
  CHECK(count(e, "\n  ") == 5);
  CHECK_THAT(e, Catch::EndsWith("\nhint: YAML reads 2e-4 as text (as BasicSR does: a float needs a dot and a signed "
                                "exponent, e.g. 1.0e+5): write !!float 2e-4"));
}

// Keys an option file leaves out mean BasicSR's (or torch's) defaults, not srengine's: no
// EMA, Adam's betas (0.9, 0.999), AdamW's weight decay 0.01, MultiStepLR's gamma 0.1, GANLoss's
// loss_weight 1, and G's weights read from 'params'. A GANLoss without gan_type is refused, as
// BasicSR refuses it.
TEST_CASE("yaml/left_out_keys_take_basicsr_defaults") {
  if (!yaml_or_skip()) return;
  const LoadedConfig l = load_config_or_options(fixture("defaults_left_out.yml"),
                                                embedded("train", kTrainPhotos), ConfigUse::train);
  const json& c = l.config;
  const json& s = c["train"]["stages"][0];
  CHECK(c["train"]["ema_decay"] == 0.0);
  CHECK(s["optim_g"]["betas"] == json::array({0.9, 0.999}));
  CHECK(s["optim_g"]["weight_decay"] == 0.0);
  CHECK(s["optim_g"]["lr"] == 1e-4);  // given: kept
  CHECK(s["optim_d"]["betas"] == json::array({0.9, 0.999}));
  CHECK(s["optim_d"]["weight_decay"] == 0.01);
  CHECK(s["scheduler"]["gamma"] == 0.1);
  CHECK(s["gan_opt"]["loss_weight"] == 1.0);
  CHECK(s["gan_opt"]["gan_type"] == "vanilla");
  CHECK(s["pixel_opt"]["loss_weight"] == 1e-2);
  CHECK(c["path"]["param_key_g"] == "params_or_bare");  // params, else srengine's bare keys

  json options = read_yaml_file(fixture("defaults_left_out.yml"));
  options["train"]["gan_opt"].erase("gan_type");
  const BasicsrTranslation t = translate_basicsr_options(options, "no_gan_type.yml");
  REQUIRE(t.problems.size() == 1);
  CHECK_THAT(t.problems[0], Catch::Contains("'train.gan_opt.gan_type' (null) is missing: BasicSR's GANLoss has no "
                                            "default"));
}

TEST_CASE("yaml/float_null_and_anchor_round_trip") {
  if (!yaml_or_skip()) return;
  const json y = read_yaml_file(fixture("anchors.yml"));
  CHECK(y["train"]["optim_g"]["lr"].is_number_float());
  CHECK(y["train"]["optim_g"]["lr"] == 2e-4);
  CHECK(y["manual_seed"].is_null());
  CHECK(y["val"]["suffix"].is_null());
  CHECK(y["train"]["optim_d"] == y["train"]["optim_g"]);                   // alias
  CHECK(y["datasets"]["val_b"]["dataroot_gt"] == y["datasets"]["val"]["dataroot_gt"]);  // merge
  CHECK(y["datasets"]["val_b"]["name"] == "val_b");                        // its own key wins
  const LoadedConfig l = load_config_or_options(fixture("anchors.yml"), {}, ConfigUse::train);
  CHECK(l.config["train"]["stages"][0]["total_iter"] == 10);  // !!float 1e1
  CHECK(l.config["manual_seed"] == 0);
  CHECK(l.config["datasets"]["val_b"]["name"] == "val_b");
  // srengine config --from-yaml writes JSON that validates to the same config.
  test::TempDir tmp;
  const std::string out = tmp.file("anchors.json");
  const std::string cmd = test::srengine_exe() + " config --from-yaml " + fixture("anchors.yml") + " --out " + out +
                          " 2> " + tmp.file("err.txt");
  REQUIRE(std::system(cmd.c_str()) == 0);
  json j = read_config_file(out);
  CHECK(j["train"]["stages"][0]["optim_g"]["lr"] == 2e-4);
  // Relative dataset paths are kept as written: resolved from the option file's folder.
  j["__config_dir__"] = kRepo + "/tests/fixtures/yaml";
  CHECK(validate_config(j) == l.config);
}

TEST_CASE("yaml/ignored_keys_produce_one_note_each") {
  if (!yaml_or_skip()) return;
  const ConfigFile f = read_config_or_options(fixture("train_RRDBNet_PSNR_x4.yml"));
  CHECK(f.problems.empty());
  std::string all;
  for (const auto& n : f.notes) all += n + "\n";
  INFO(all);
  for (const char* key : {"'num_gpu'", "'datasets.train.use_shuffle'", "'datasets.train.prefetch_mode'",
                          "'logger.wandb'", "'dist_params'"}) {
    CHECK(count(all, std::string(key) + " ignored: ") == 1);
  }
  CHECK(f.notes.size() == 5);
  CHECK(f.resume_state.empty());  // resume_state: ~ is a fresh start, as in BasicSR
  for (const auto& n : f.notes) CHECK_THAT(n, Catch::StartsWith("options '" + fixture("train_RRDBNet_PSNR_x4.yml")));
  CHECK(!f.config.contains("num_gpu"));
  CHECK(!f.config.contains("dist_params"));
  CHECK(!f.config["datasets"]["train"].contains("prefetch_mode"));
  CHECK(!f.config["logger"].contains("wandb"));
  // num_gpu 0 is BasicSR's CPU mode.
  const json cpu = translate_basicsr_options({{"name", "x"}, {"num_gpu", 0}}, "x.yml").config;
  CHECK(cpu["device"] == "cpu");
}

TEST_CASE("yaml/reader_errors_name_file_and_line") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  const std::string bad = tmp.file("bad.yml");
  std::ofstream(bad) << "name: x\nlr: !!float fast\n";
  test::require_error([&] { read_yaml_file(bad); }, {"bad.yml", "line 2", "'!!float fast' is not a number"});
  std::ofstream(bad) << "name: [x\n";
  test::require_error([&] { read_yaml_file(bad); }, {"bad.yml", "not valid YAML"});
  std::ofstream(bad) << "- a\n- b\n";
  test::require_error([&] { read_yaml_file(bad); }, {"bad.yml", "must hold a map"});
}

TEST_CASE("yaml/cli_trains_from_rrdbnet_psnr_yaml") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  // The published file, with the embedded photos, a tiny network and a few iterations.
  const std::vector<std::string> sets = tiny_psnr_run("yaml_psnr", tmp.path(), 3, 3);
  const int rc = run_srengine("train " + fixture("train_RRDBNet_PSNR_x4.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK_THAT(log, Catch::Contains("note: options '") && Catch::Contains("'dist_params' ignored"));
  const std::string weights = tmp.path() + "/yaml_psnr/models/net_g_sr_final.safetensors";
  REQUIRE(fs::exists(weights));
  // srengine test reads BasicSR's test file the same way, with the same --set.
  std::string test_cmd = test::srengine_exe() + " test " + fixture("test_ESRGAN_x4.yml") + " --weights " + weights +
                         " --output " + tmp.file("results") + " --set path.param_key_g=auto";
  for (const std::string s : {"network_g.num_feat=8", "network_g.num_block=1", "network_g.num_grow_ch=4"})
    test_cmd += " --set " + s;
  for (const std::string set : {"test_1", "test_2"})
    for (const auto& s : embedded(set, kValPhotos) + std::vector<std::string>{"datasets." + set + ".meta_info_file=" +
                                                                            kRepo + "/tests/fixtures/val_one.txt"})
      test_cmd += " --set '" + s + "'";
  test_cmd += " > " + tmp.file("test_log.txt") + " 2>&1";
  const int test_rc = std::system(test_cmd.c_str());
  INFO(test::read_text(tmp.file("test_log.txt")));
  REQUIRE(test_rc == 0);
  const json metrics = json::parse(test::read_text(tmp.file("results/metrics.json")));
  CHECK(metrics.contains("test_1"));
  CHECK(metrics.contains("test_2"));
  CHECK(metrics["test_1"]["mean"].contains("ssim"));
}

// BasicSR's EDSR-M x4 option file: its network_g (with the float img_range `255.` and the
// rgb_mean list) reaches srengine's EDSR as written, and the file trains through the CLI with
// the embedded photos, a tiny EDSR and no pretrained x2 model.
TEST_CASE("yaml/edsr_option_file_translates_and_trains") {
  if (!yaml_or_skip()) return;
  const auto photos = embedded("train", kTrainPhotos) + embedded("val", kValPhotos) +
                      std::vector<std::string>{"path.pretrain_network_g=null"};
  const LoadedConfig l = load_config_or_options(fixture("train_EDSR_Mx4.yml"), photos, ConfigUse::train);
  const json& g = l.config["network_g"];
  CHECK(g["type"] == "EDSR");
  CHECK(g["num_feat"] == 64);
  CHECK(g["num_block"] == 16);
  CHECK(g["upscale"] == 4);
  CHECK(g["res_scale"] == 1);
  CHECK(g["img_range"] == 255.0);
  CHECK(g["rgb_mean"] == json::array({0.4488, 0.4371, 0.4040}));
  CHECK(l.config["path"]["strict_load_g"] == false);
  const json& s = l.config["train"]["stages"][0];
  CHECK(s["optim_g"]["lr"] == 1e-4);
  CHECK(s["scheduler"]["type"] == "MultiStepLR");
  CHECK(s["scheduler"]["milestones"] == json::array({200000}));
  CHECK(l.config["datasets"]["train"]["gt_size"] == 192);

  test::TempDir tmp;
  const std::vector<std::string> sets =
      photos + std::vector<std::string>{"datasets.val.meta_info_file=" + kRepo + "/tests/fixtures/val_one.txt",
                                        "datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                                        "datasets.train.num_worker_per_gpu=1", "datasets.train.dataset_enlarge_ratio=1",
                                        "network_g.num_feat=8", "network_g.num_block=2",
                                        "train.stages.0.total_iter=2", "train.stages.0.scheduler.milestones=[1]",
                                        "val.val_freq=2", "logger.print_freq=1", "logger.save_checkpoint_freq=2",
                                        "device=cpu", "name=yaml_edsr", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_EDSR_Mx4.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  const SafetensorsFile w = read_safetensors(tmp.path() + "/yaml_edsr/models/net_g_sr_final.safetensors");
  CHECK(w.tensors.size() == 2 + 2 * 4 + 2 + 4 + 2);
  CHECK(w.get("upsample.2.weight").shape() == Shape{32, 8, 3, 3});
}

// BasicSR's Y-channel recipe (ECBSR's `color: y` on the train and val sets, a one-channel
// network; MSRResNet here): `color: y` becomes datasets.<name>.color y, and, shrunk, the file
// trains two iterations on the embedded photos, validating on Y and saving gray SR images.
// Another `color` value, and `mean` / `std`, are problems naming the key.
TEST_CASE("yaml/color_y_option_file_translates_and_trains") {
  if (!yaml_or_skip()) return;
  const auto photos = embedded("train", kTrainPhotos) + embedded("val", kValPhotos);
  const LoadedConfig l = load_config_or_options(fixture("train_MSRResNet_x4_color_y.yml"), photos, ConfigUse::train);
  CHECK(l.config["datasets"]["train"]["color"] == "y");
  CHECK(l.config["datasets"]["val"]["color"] == "y");
  CHECK(l.config["network_g"]["num_in_ch"] == 1);
  const Config typed = parse_config(l.config);
  for (const DatasetConfig& d : typed.datasets) CHECK(d.data.color == data::DataColor::y);

  test::TempDir tmp;
  const std::vector<std::string> sets =
      photos + std::vector<std::string>{"datasets.val.meta_info_file=" + kRepo + "/tests/fixtures/val_one.txt",
                                        "datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                                        "datasets.train.num_worker_per_gpu=1", "datasets.train.dataset_enlarge_ratio=1",
                                        "network_g.num_feat=8", "network_g.num_block=1",
                                        "train.stages.0.total_iter=2", "train.stages.0.scheduler.periods=[2]",
                                        "train.stages.0.scheduler.restart_weights=[1]", "val.val_freq=2",
                                        "logger.print_freq=1", "logger.save_checkpoint_freq=2", "device=cpu",
                                        "name=yaml_color_y", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_MSRResNet_x4_color_y.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  const std::string exp = tmp.path() + "/yaml_color_y";
  const SafetensorsFile w = read_safetensors(exp + "/models/net_g_sr_final.safetensors");
  CHECK(w.get("conv_first.weight").shape() == Shape{8, 1, 3, 3});
  CHECK(w.get("conv_last.weight").shape() == Shape{1, 8, 3, 3});
  const data::Image sr = data::read_image(exp + "/visualization/Set5/skimage_coffee_sr_2.png");
  CHECK(sr.channels == 1);
  // srengine test reads the same file (its val set): one-channel SR images, measured on Y.
  std::string test_cmd = test::srengine_exe() + " test " + fixture("train_MSRResNet_x4_color_y.yml") + " --weights " +
                         exp + "/models/net_g_sr_final.safetensors --output " + tmp.file("results") +
                         " --set path.param_key_g=auto";
  for (const std::string& s : embedded("val", kValPhotos) +
                                  std::vector<std::string>{"datasets.val.meta_info_file=" + kRepo +
                                                               "/tests/fixtures/val_one.txt",
                                                           "network_g.num_feat=8", "network_g.num_block=1"})
    test_cmd += " --set '" + s + "'";
  const int test_rc = std::system((test_cmd + " > " + tmp.file("test_log.txt") + " 2>&1").c_str());
  INFO(test::read_text(tmp.file("test_log.txt")));
  REQUIRE(test_rc == 0);
  const json metrics = json::parse(test::read_text(tmp.file("results/metrics.json")));
  CHECK(metrics["val"]["mean"]["psnr"].is_number());
  int written = 0;
  for (const auto& e : fs::directory_iterator(tmp.file("results/visualization/Set5"))) {
    CHECK(data::read_image(e.path().string()).channels == 1);
    ++written;
  }
  CHECK(written == 1);

  // color other than y: BasicSR leaves such images in colour, so the key would say nothing.
  const json rgb = {{"name", "x"}, {"model_type", "SRModel"}, {"train", {{"total_iter", 5}}},
                    {"datasets", {{"train", {{"type", "PairedImageDataset"}, {"color", "rgb"}, {"mean", {0.5}}}}}}};
  const BasicsrTranslation t = translate_basicsr_options(rgb, "rgb.yml");
  std::string problems;
  for (const auto& p : t.problems) problems += p + "\n";
  CHECK_THAT(problems, Catch::Contains("options 'rgb.yml': 'datasets.train.color' (\"rgb\") is not a colour space "
                                       "BasicSR converts to: only 'y'"));
  CHECK_THAT(problems, Catch::Contains("'datasets.train.mean' ([0.5]) changes what the network sees"));
  CHECK_FALSE(t.config["datasets"]["train"].contains("color"));
}

// BasicSR's SwinIR option file (model_type SwinIRModel) as written: SwinIR-M's network_g reaches
// the factory whole (img_size, depths, num_heads...), and, shrunk, it trains two iterations on
// the embedded photos with 8-pixel windows.
TEST_CASE("yaml/swinir_option_file_translates_and_trains") {
  if (!yaml_or_skip()) return;
  const auto photos = embedded("train", kTrainPhotos) + embedded("val", kValPhotos);
  const LoadedConfig l = load_config_or_options(fixture("train_SwinIR_SRx4_P48W8.yml"), photos, ConfigUse::train);
  const json& g = l.config["network_g"];
  CHECK(g["type"] == "SwinIR");
  CHECK(g["img_size"] == 48);
  CHECK(g["depths"] == json::array({6, 6, 6, 6, 6, 6}));
  CHECK(g["num_heads"] == json::array({6, 6, 6, 6, 6, 6}));
  CHECK(g["upsampler"] == "pixelshuffle");
  CHECK(l.config["train"]["stages"][0]["type"] == "sr");
  CHECK(l.config["train"]["stages"][0]["optim_g"]["lr"] == 2e-4);

  test::TempDir tmp;
  const std::vector<std::string> sets =
      photos + std::vector<std::string>{"datasets.val.meta_info_file=" + kRepo + "/tests/fixtures/val_one.txt",
                                        "datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                                        "datasets.train.num_worker_per_gpu=1", "network_g.embed_dim=8",
                                        "network_g.depths=[2]", "network_g.num_heads=[2]", "network_g.img_size=8",
                                        "network_g.window_size=4", "network_g.num_feat=8",
                                        "train.stages.0.total_iter=2", "train.stages.0.scheduler.milestones=[1]",
                                        "val.val_freq=2", "logger.print_freq=1", "logger.save_checkpoint_freq=2",
                                        "device=cpu", "name=yaml_swinir", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_SwinIR_SRx4_P48W8.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  const SafetensorsFile w = read_safetensors(tmp.path() + "/yaml_swinir/models/net_g_sr_final.safetensors");
  CHECK(w.get("layers.0.residual_group.blocks.1.attn_mask").shape() == Shape{4, 16, 16});
}

// HAT's option file (model_type HATModel, two validation sets, val.pbar, metrics' better) as
// written: HAT's network_g reaches the factory whole (window_size, compress_ratio, conv_scale,
// overlap_ratio...), and, shrunk, it trains two iterations on the embedded photos with 4-pixel
// windows and key windows of 6, both validation sets run, and the weights hold HAT's index buffers.
TEST_CASE("yaml/hat_option_file_translates_and_trains") {
  if (!yaml_or_skip()) return;
  const auto photos = embedded("train", kTrainPhotos) + embedded("val_1", kValPhotos) + embedded("val_2", kValPhotos);
  const LoadedConfig l = load_config_or_options(fixture("train_HAT_SRx2_from_scratch.yml"),
                                                photos + std::vector<std::string>{"datasets.train.meta_info_file=null"},
                                                ConfigUse::train);
  const json& g = l.config["network_g"];
  CHECK(g["type"] == "HAT");
  CHECK(g["window_size"] == 16);
  CHECK(g["compress_ratio"] == 3);
  CHECK(g["squeeze_factor"] == 30);
  CHECK(g["conv_scale"] == 0.01);
  CHECK(g["overlap_ratio"] == 0.5);
  CHECK(g["depths"] == json::array({6, 6, 6, 6, 6, 6}));
  CHECK(l.config["train"]["stages"][0]["type"] == "sr");

  test::TempDir tmp;
  const std::string one = "=" + kRepo + "/tests/fixtures/val_one.txt";
  const std::vector<std::string> sets =
      photos + std::vector<std::string>{"datasets.train.meta_info_file=null", "datasets.val_1.meta_info_file" + one,
                                        "datasets.val_2.meta_info_file" + one,
                                        "datasets.train.gt_size=16", "datasets.train.batch_size_per_gpu=2",
                                        "datasets.train.num_worker_per_gpu=1", "network_g.embed_dim=8",
                                        "network_g.depths=[2]", "network_g.num_heads=[2]", "network_g.img_size=8",
                                        "network_g.window_size=4", "network_g.num_feat=8",
                                        "network_g.compress_ratio=2", "network_g.squeeze_factor=4",
                                        "train.stages.0.total_iter=2", "train.stages.0.scheduler.milestones=[1]",
                                        "val.val_freq=2", "logger.print_freq=1", "logger.save_checkpoint_freq=2",
                                        "device=cpu", "name=yaml_hat", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_HAT_SRx2_from_scratch.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  const SafetensorsFile w = read_safetensors(tmp.path() + "/yaml_hat/models/net_g_sr_final.safetensors");
  CHECK(w.get("relative_position_index_OCA").shape() == Shape{16, 36});
  CHECK(w.get("layers.0.residual_group.overlap_attn.relative_position_bias_table").shape() == Shape{81, 2});
}

// HAT's Real-HAT recipes: RealHATGANModel is RealESRGANModel (the same synthesis, pool, *_gt_usm
// targets and losses) and RealHATMSEModel is RealESRNetModel, each with HAT as network_g. The
// GAN file as written translates to the realesrgan stage; shrunk (a tiny HAT and discriminator,
// no VGG loss, which needs VGG19's weights as a file), it trains two iterations on pairs
// synthesised from the embedded photos.
TEST_CASE("yaml/real_hat_gan_option_file_translates_and_trains") {
  if (!yaml_or_skip()) return;
  const ConfigFile f = read_config_or_options(fixture("train_Real_HAT_GAN_SRx4.yml"));
  CHECK(f.problems.empty());
  const json& st = f.config["train"]["stages"][0];
  CHECK(st["type"] == "realesrgan");
  CHECK(st["l1_gt_usm"] == true);
  CHECK(st["gan_gt_usm"] == false);
  CHECK(st["gan_opt"]["gan_type"] == "vanilla");
  CHECK(f.config["network_g"]["type"] == "HAT");
  CHECK(f.config["network_d"]["type"] == "UNetDiscriminatorSN");
  CHECK(f.config["datasets"]["train"]["type"] == "RealESRGANDataset");
  CHECK(f.config["queue_size"] == 180);
  // HAT's RealESRGANDataset reads meta_info only, as Real-ESRGAN's: the file's meta_info_file
  // (which names a list HAT's repository does not ship) is left out, so the folder is scanned.
  CHECK_FALSE(f.config["datasets"]["train"].contains("meta_info_file"));
  std::string gan_notes;
  for (const auto& n : f.notes) gan_notes += n + "\n";
  CHECK_THAT(gan_notes, Catch::Contains("datasets.train.meta_info_file") && Catch::Contains("reads meta_info only"));
  // The MSE model, the same file's keys read as RealESRNetModel's.
  const BasicsrTranslation mse = translate_basicsr_options(
      {{"name", "x"}, {"model_type", "RealHATMSEModel"}, {"gt_usm", true}, {"l1_gt_usm", true},
       {"train", {{"total_iter", 5}}}},
      "mse.yml");
  CHECK(mse.problems.empty());
  CHECK(mse.config["train"]["stages"][0]["type"] == "realesrnet");
  std::string notes;
  for (const auto& n : mse.notes) notes += n + "\n";
  CHECK_THAT(notes, Catch::Contains("RealHATMSEModel does not read it"));

  test::TempDir tmp;
  const std::vector<std::string> sets = {
      "datasets.train.dataroot_gt=" + kTrainPhotos, "datasets.train.gt_size=32",
      "datasets.train.batch_size_per_gpu=2", "datasets.train.num_worker_per_gpu=1", "queue_size=4",
      "network_g.embed_dim=8", "network_g.depths=[2]", "network_g.num_heads=[2]",
      "network_g.img_size=8", "network_g.window_size=4", "network_g.num_feat=8", "network_g.compress_ratio=2",
      "network_g.squeeze_factor=4", "network_d.num_feat=8", "path.pretrain_network_g=",
      "train.stages.0.perceptual_opt=null", "train.stages.0.total_iter=2", "logger.print_freq=1",
      "logger.save_checkpoint_freq=2", "device=cpu", "name=yaml_real_hat_gan", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_Real_HAT_GAN_SRx4.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(fs::exists(tmp.path() + "/yaml_real_hat_gan/models/net_g_realesrgan_final.safetensors"));
}

// path.resume_state names the state `srengine train` resumes from, as in BasicSR; a file that
// is not srengine's (a BasicSR pickle) is refused, naming the key.
TEST_CASE("yaml/resume_state_resumes_from_an_srengine_state") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  const std::vector<std::string> sets = tiny_psnr_run("yaml_resume", tmp.path(), 4, 2);
  REQUIRE(run_srengine("train " + fixture("train_RRDBNet_PSNR_x4.yml"), sets, tmp.file("log1.txt")) == 0);
  const std::string state = tmp.path() + "/yaml_resume/training_states/sr_2.state";
  REQUIRE(fs::exists(state));
  std::string text = test::read_text(fixture("train_RRDBNet_PSNR_x4.yml"));
  const size_t at = text.find("resume_state: ~");
  REQUIRE(at != std::string::npos);
  std::ofstream(tmp.file("resume.yml")) << text.substr(0, at) + "resume_state: " + state + text.substr(at + 15);
  REQUIRE(run_srengine("train " + tmp.file("resume.yml"), sets, tmp.file("log2.txt")) == 0);
  CHECK_THAT(test::read_text(tmp.file("log2.txt")),
             Catch::Contains("resuming from " + state + " (stage sr, iteration 2)") &&
                 Catch::Contains("iterations 3..4"));
  std::ofstream(tmp.file("pickle.state")) << "\x80\x02}q\x00.";
  std::ofstream(tmp.file("pickle.yml")) << text.substr(0, at) + "resume_state: " + tmp.file("pickle.state") +
                                               text.substr(at + 15);
  CHECK(run_srengine("train " + tmp.file("pickle.yml"), sets, tmp.file("log3.txt")) != 0);
  CHECK_THAT(test::read_text(tmp.file("log3.txt")),
             Catch::Contains("path.resume_state '" + tmp.file("pickle.state") + "'") &&
                 Catch::Contains("BasicSR's are Python pickles"));
  // --resume on the command line wins over the key, with a note.
  REQUIRE(run_srengine("train " + tmp.file("pickle.yml") + " --resume " + state, sets, tmp.file("log4.txt")) == 0);
  CHECK_THAT(test::read_text(tmp.file("log4.txt")), Catch::Contains("path.resume_state ignored: --resume"));
}

// BasicSR's debug mode: a name holding "debug" (or --debug, which prefixes debug_) logs every
// iteration and checkpoints and validates every 8.
TEST_CASE("yaml/debug_name_turns_on_basicsr_debug_mode") {
  const json base = {{"name", "RRDB_x4"}, {"val", {{"val_freq", 5000}}}, {"logger", {{"print_freq", 100}}}};
  const BasicsrTranslation plain = translate_basicsr_options(base, "x.yml");
  CHECK(plain.config["logger"]["print_freq"] == 100);
  json named = base;
  named["name"] = "debug_RRDB_x4";
  named["logger"]["use_tb_logger"] = true;  // BasicSR writes no TensorBoard files for debug runs
  const BasicsrTranslation debug = translate_basicsr_options(named, "x.yml");
  CHECK(debug.config["logger"]["print_freq"] == 1);
  CHECK(debug.config["logger"]["use_tb_logger"] == false);
  CHECK(debug.config["logger"]["save_checkpoint_freq"] == 8);
  CHECK(debug.config["val"]["val_freq"] == 8);
  REQUIRE(debug.notes.size() == 1);
  CHECK_THAT(debug.notes[0], Catch::Contains("BasicSR's debug mode") && Catch::Contains("no TensorBoard files"));
  // --debug on a JSON config: the name prefixed, the same frequencies, a note.
  const ConfigFile f = read_config_or_options(kRepo + "/tests/fixtures/train_tiny.json", ConfigUse::train, true);
  CHECK(f.config["name"] == "debug_tiny");
  CHECK(f.config["logger"]["print_freq"] == 1);
  CHECK(f.config["val"]["val_freq"] == 8);
  CHECK(f.notes.size() == 1);
}

// An option file switched to io_backend lmdb keeps its meta_info_file and filename_tmpl, which
// BasicSR then ignores (the keys come from each LMDB folder's meta_info.txt): dropped with a
// note each, where a JSON config setting them is an error (lmdb/dataset_errors_...).
TEST_CASE("yaml/lmdb_option_file_drops_meta_info_file_with_a_note") {
  const json set = {{"type", "PairedImageDataset"},
                    {"dataroot_gt", "gt.lmdb"},
                    {"dataroot_lq", "lq.lmdb"},
                    {"meta_info_file", "meta_info_DIV2K800sub_GT.txt"},
                    {"filename_tmpl", "{}x4"},
                    {"io_backend", {{"type", "lmdb"}}}};
  const BasicsrTranslation t = translate_basicsr_options({{"datasets", {{"train", set}}}}, "x.yml");
  const json& out = t.config["datasets"]["train"];
  CHECK_FALSE(out.contains("meta_info_file"));
  CHECK_FALSE(out.contains("filename_tmpl"));
  REQUIRE(t.notes.size() == 2);
  CHECK_THAT(t.notes[0] + t.notes[1], Catch::Contains("datasets.train.meta_info_file' ignored") &&
                                          Catch::Contains("datasets.train.filename_tmpl' ignored"));
  // On disk both keep their meaning.
  json disk = set;
  disk["io_backend"]["type"] = "disk";
  const BasicsrTranslation d = translate_basicsr_options({{"datasets", {{"train", disk}}}}, "x.yml");
  CHECK(d.config["datasets"]["train"]["filename_tmpl"] == "{}x4");
  CHECK(d.notes.empty());
}

// BasicSR's command-line spellings: -opt names the option file, --auto_resume is --resume
// auto, and its launcher options point to mpirun.
TEST_CASE("yaml/cli_takes_basicsr_spellings") {
  test::TempDir tmp;
  CHECK(run_srengine("train -opt " + tmp.file("missing.yml") + " --auto_resume", {}, tmp.file("a.txt")) != 0);
  CHECK_THAT(test::read_text(tmp.file("a.txt")), Catch::Contains(tmp.file("missing.yml")));
  CHECK(run_srengine("train x.yml --launcher pytorch", {}, tmp.file("b.txt")) != 0);
  CHECK_THAT(test::read_text(tmp.file("b.txt")), Catch::Contains("mpirun -np N"));
  CHECK(run_srengine("train --force_yml a=1 x.yml", {}, tmp.file("c.txt")) != 0);
  CHECK_THAT(test::read_text(tmp.file("c.txt")), Catch::Contains("--set key.path=value"));
}

TEST_CASE("yaml/gt_only_dataset_has_its_own_name") {
  // JSON: the new name, and the old one with a deprecation note.
  const std::string tiny = kRepo + "/tests/fixtures/train_tiny.json";
  const LoadedConfig now = load_config_or_options(tiny, {}, ConfigUse::train);
  CHECK(now.config["datasets"]["train"]["type"] == "GTOnlyBicubicDataset");
  CHECK(now.notes.empty());
  const LoadedConfig old = load_config_or_options(tiny, {"datasets.val.type=SingleImageDataset"}, ConfigUse::train);
  REQUIRE(old.notes.size() == 1);
  CHECK_THAT(old.notes[0], Catch::Contains("'datasets.val.type' SingleImageDataset is deprecated") &&
                               Catch::Contains("GTOnlyBicubicDataset"));
  CHECK(data::parse_dataset_type("GTOnlyBicubicDataset") == data::DatasetType::single);
  CHECK(data::parse_dataset_type("SingleImageDataset") == data::DatasetType::single);
  // YAML: BasicSR's meaning, LQ images only.
  const BasicsrTranslation t = translate_basicsr_options(
      {{"name", "x"}, {"datasets", {{"test_1", {{"type", "SingleImageDataset"}, {"dataroot_lq", "lq"}}}}}}, "t.yml");
  CHECK(t.problems.empty());
  CHECK(t.config["datasets"]["test_1"]["type"] == "LQOnlyDataset");
  CHECK(data::parse_dataset_type("LQOnlyDataset") == data::DatasetType::lq_only);
}

namespace {

// The 8-bit samples a PNG of the image holds (image_io.h: clamped, rounded half to even).
std::vector<uint8_t> as_u8(const data::Image& img) {
  std::vector<uint8_t> out;
  for (float v : img.pixels) out.push_back(data::quantize_u8(v));
  return out;
}

// A folder of LQ images of odd sizes with random pixels.
std::vector<std::string> write_lq_folder(const std::string& dir, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> names;
  const std::vector<std::pair<int, int>> sizes = {{11, 7}, {6, 9}, {8, 8}};
  for (size_t i = 0; i < sizes.size(); ++i) {
    names.push_back("img" + std::to_string(i) + ".png");
    data::write_image(dir + "/" + names.back(), test::random_image(rng, sizes[i].first, sizes[i].second, 3));
  }
  return names;
}

}  // namespace

TEST_CASE("yaml/lq_only_test_set_upscales_without_metrics") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  const std::string lq = tmp.subdir("lq");
  const uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  const std::vector<std::string> names = write_lq_folder(lq, seed);
  manual_seed(seed);
  RRDBNet net(3, 3, 4, 8, 1, 4);  // the fixture's network_g
  for (auto& [k, t] : net.state_dict())
    if (t.dim() == 4) kaiming_normal_(t, 0.2);  // larger than the default init: a visible output
  net.eval();
  write_safetensors(tmp.file("w.safetensors"), net.state_dict());

  // The file reads as an LQ-only set, for `srengine test` only.
  const std::string yml = fixture("test_lq_only_x4.yml");
  const LoadedConfig c = load_config_or_options(yml, {"datasets.test_1.dataroot_lq=" + lq}, ConfigUse::test);
  CHECK(c.config["datasets"]["test_1"]["type"] == "LQOnlyDataset");

  const std::string cmd = test::srengine_exe() + " test " + yml + " --weights " + tmp.file("w.safetensors") +
                          " --param-key bare --output " + tmp.file("out") + " --set datasets.test_1.dataroot_lq=" +
                          lq + " > " + tmp.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK_THAT(log, Catch::Contains("3 image(s) upscaled; no metrics: the set is LQ-only"));
  const json metrics = json::parse(test::read_text(tmp.file("out/metrics.json")));
  CHECK(!metrics["test_1"].contains("mean"));
  REQUIRE(metrics["test_1"]["images"].size() == names.size());
  // Each SR image is the network's output on its LQ image, computed here directly.
  NoGradGuard no_grad;
  for (size_t i = 0; i < names.size(); ++i) {
    INFO(names[i]);
    CHECK(metrics["test_1"]["images"][i]["name"] == names[i]);
    const data::Image in = data::read_image(lq + "/" + names[i]);
    const data::Image want = data::tensor_to_image(net.forward(data::image_to_tensor(in)));
    const std::string stem = fs::path(names[i]).stem().string();
    // The set's folder is its name (datasets.test_1.name: own_photos), as BasicSR's.
    const data::Image got =
        data::read_image(tmp.file("out/visualization/own_photos/" + stem + "_RRDBNet_x4_lq_only.png"));
    REQUIRE(got.width == 4 * in.width);
    REQUIRE(got.height == 4 * in.height);
    CHECK(as_u8(got) == as_u8(want));
  }
}

// srengine writes its networks with bare keys, where BasicSR's .pth files hold 'params': an
// option file that leaves param_key_g out (BasicSR's default, 'params') loads them, with a note;
// one that names a group the file lacks is refused with the groups found and the key to set;
// `bare` is accepted for param_key_g and param_key_d, and `~` (BasicSR: the whole file) means it.
TEST_CASE("yaml/left_out_param_key_g_loads_srengine_bare_weights") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  const std::string lq = tmp.subdir("lq");
  write_lq_folder(lq, 95);
  manual_seed(95);
  RRDBNet net(3, 3, 4, 8, 1, 4);  // the fixture's network_g
  const std::string w = tmp.file("w.safetensors");
  write_safetensors(w, net.state_dict());
  const std::string text = test::read_text(fixture("test_lq_only_x4.yml"));
  const std::string explicit_key = "  param_key_g: params_ema\n";
  REQUIRE(text.find(explicit_key) != std::string::npos);
  auto with_path_keys = [&](const std::string& name, const std::string& keys, const std::string& pretrained = "~") {
    std::string t = text;
    t.replace(t.find(explicit_key), explicit_key.size(), keys);
    const std::string none = "  pretrain_network_g: ~\n";
    REQUIRE(t.find(none) != std::string::npos);
    t.replace(t.find(none), none.size(), "  pretrain_network_g: " + pretrained + "\n");
    std::ofstream(tmp.file(name)) << t;
    return tmp.file(name);
  };
  const std::vector<std::string> set = {"datasets.test_1.dataroot_lq=" + lq};
  auto run_test = [&](const std::string& yml, const std::string& args, std::string* log) {
    const int rc = run_srengine("test " + yml + args + " --output " + tmp.file("out_" + fs::path(yml).stem().string()),
                                set, tmp.file("log.txt"));
    *log = test::read_text(tmp.file("log.txt"));
    return rc;
  };
  const std::string note = "has no 'params' tensors (BasicSR's default when path.param_key_g (or --param-key) is "
                           "left out), only bare keys, as srengine writes them: loading those";
  std::string log;

  const std::string absent = with_path_keys("absent.yml", "");
  CHECK(load_config_or_options(absent, set, ConfigUse::test).config["path"]["param_key_g"] == "params_or_bare");
  {
    const int rc = run_test(absent, " --weights " + w, &log);
    INFO(log);
    CHECK(rc == 0);
    CHECK_THAT(log, Catch::Contains(note));
  }
  // The same file as path.pretrain_network_g.
  {
    const int rc = run_test(with_path_keys("pretrained.yml", "", w), "", &log);
    INFO(log);
    CHECK(rc == 0);
    CHECK_THAT(log, Catch::Contains(note));
  }
  // Chosen, and missing: the error names the groups found and what to set.
  {
    const int rc = run_test(fixture("test_lq_only_x4.yml"), " --weights " + w, &log);
    INFO(log);
    CHECK(rc != 0);
    CHECK_THAT(log, Catch::Contains("' has no tensors under 'params_ema.' (path.param_key_g (or --param-key) is "
                                    "'params_ema'); found: bare keys; set path.param_key_g (or --param-key) to bare "
                                    "(or auto) to load them"));
    const int cli_rc = run_test(absent, " --weights " + w + " --param-key params", &log);
    INFO(log);
    CHECK(cli_rc != 0);
    CHECK_THAT(log, Catch::Contains("(--param-key is 'params'); found: bare keys; set --param-key to bare"));
  }
  // bare (and ~, BasicSR's None) load the bare keys without a note.
  for (const std::string key : {"bare", "~"}) {
    const std::string yml = with_path_keys("bare.yml", "  param_key_g: " + key + "\n  param_key_d: " + key + "\n");
    const LoadedConfig c = load_config_or_options(yml, set, ConfigUse::test);
    CHECK(c.config["path"]["param_key_g"] == "bare");
    CHECK(c.config["path"]["param_key_d"] == "bare");
    const int rc = run_test(yml, " --weights " + w, &log);
    INFO(log);
    CHECK(rc == 0);
    CHECK_THAT(log, !Catch::Contains("note: weights"));
  }
  // BasicSR's D key: left out, params_or_bare; given, kept (srengine's JSON config has it too).
  CHECK(load_config_or_options(absent, set, ConfigUse::test).config["path"]["param_key_d"] == "params_or_bare");
  const BasicsrTranslation d = translate_basicsr_options({{"path", {{"param_key_d", "params_ema"}}}}, "d.yml");
  CHECK(d.problems.empty());
  CHECK(d.config["path"]["param_key_d"] == "params_ema");
}

// `val: {metrics: ~}` in a BasicSR option file measures nothing there (with_metrics is
// `metrics is not None`); srengine's null would be its default PSNR and SSIM, so the
// translation makes it {}: no metrics. Left out, the key keeps srengine's default.
TEST_CASE("yaml/null_or_absent_val_metrics_means_no_metrics") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  std::string text = test::read_text(fixture("test_lq_only_x4.yml"));
  const size_t at = text.find("  metrics:\n");
  REQUIRE(at != std::string::npos);
  text = text.substr(0, at) + "  metrics: ~\n";
  std::ofstream(tmp.file("none.yml")) << text;
  const std::vector<std::string> lq = {"datasets.test_1.dataroot_lq=" + tmp.subdir("lq")};
  const LoadedConfig none = load_config_or_options(tmp.file("none.yml"), lq, ConfigUse::test);
  CHECK(none.config["val"]["metrics"] == json::object());
  CHECK(parse_config(none.config).val.metrics.empty());
  // Left out, likewise (BasicSR reads val.get('metrics')).
  std::ofstream(tmp.file("absent.yml")) << text.substr(0, at);
  const LoadedConfig absent = load_config_or_options(tmp.file("absent.yml"), lq, ConfigUse::test);
  CHECK(parse_config(absent.config).val.metrics.empty());
}

TEST_CASE("yaml/lq_only_set_is_refused_where_gt_is_needed") {
  test::TempDir tmp;
  const std::string lq = tmp.subdir("lq");
  write_lq_folder(lq, 3);
  const std::string tiny = kRepo + "/tests/fixtures/train_tiny.json";
  // As a validation set of a training config: metrics need GT.
  const std::string val = test::require_error(
      [&] {
        load_config_or_options(tiny, {"datasets.val.type=LQOnlyDataset", "datasets.val.dataroot_lq=" + lq},
                               ConfigUse::train);
      },
      {"'datasets.val.type' is LQOnlyDataset", "validation during training measures against GT", "srengine test"});
  // As the training set: training needs GT.
  test::require_error(
      [&] {
        load_config_or_options(tiny, {"datasets.train.type=LQOnlyDataset", "datasets.train.dataroot_lq=" + lq},
                               ConfigUse::train);
      },
      {"'datasets.train.type' is LQOnlyDataset", "training needs GT images"});
  // The same set for `srengine test` is fine, and no GT folder is asked for.
  const LoadedConfig ok = load_config_or_options(
      tiny, {"datasets.val.type=LQOnlyDataset", "datasets.val.dataroot_lq=" + lq, "datasets.val.dataroot_gt=null"},
      ConfigUse::test);
  CHECK(!ok.config["datasets"]["val"].contains("dataroot_gt"));
  // Every other type still needs its GT folder.
  test::require_error([&] { load_config_or_options(tiny, {"datasets.val.dataroot_gt=null"}, ConfigUse::test); },
                      {"missing required key 'datasets.val.dataroot_gt'"});
  // The data layer refuses training samples and gives no GT.
  data::DataConfig dc;
  dc.type = data::DatasetType::lq_only;
  dc.dataroot_lq = lq;
  const data::Dataset ds(dc);
  REQUIRE(ds.size() == 3);
  std::vector<float> gt(3 * 128 * 128), lqp(3 * 32 * 32);
  test::require_error([&] { ds.load_train_sample(0, data::SampleDraw{}, gt.data(), lqp.data()); },
                      {lq, "LQ-only dataset", "training needs GT images"});
  const data::ValSample s = ds.load_val(0);
  CHECK(!s.gt.defined());
  CHECK(s.lq.size(3) == 11);
  CHECK(ds.probe_val(0) == std::pair<int, int>{44, 28});
}

TEST_CASE("yaml/notes_are_printed_by_rank_0_only") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  const std::string lq = tmp.subdir("lq");
  write_lq_folder(lq, 5);
  // What mpirun tells each process (train/comm.h detect_launch): every rank reads the file,
  // only rank 0 prints its notes.
  auto notes_of_rank = [&](int rank) {
    const std::string log = tmp.file("rank" + std::to_string(rank) + ".txt");
    const std::string cmd = "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + " " +
                            test::srengine_exe() + " config --check " + fixture("test_lq_only_x4.yml") +
                            " --set datasets.test_1.dataroot_lq=" + lq + " > " + log + " 2>&1";
    const int rc = std::system(cmd.c_str());
    const std::string text = test::read_text(log);
    INFO(text);
    CHECK(rc == 0);
    CHECK_THAT(text, Catch::Contains("test_lq_only_x4.yml: ok"));
    return count(text, "note: ");
  };
  CHECK(notes_of_rank(0) == 1);  // num_gpu: 0
  CHECK(notes_of_rank(1) == 0);
}

TEST_CASE("yaml/bench_train_reads_an_option_file") {
  if (!yaml_or_skip()) return;
  test::TempDir tmp;
  // The published PSNR file with the embedded photos and a tiny network: the workload the
  // bench lists is the one `srengine train` would run (the same reader and validator).
  const std::vector<std::string> sets = embedded("train", kTrainPhotos) + embedded("val", kValPhotos) +
      std::vector<std::string>{"datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                               "network_g.num_feat=8", "network_g.num_block=1", "network_g.num_grow_ch=4"};
  const std::string yml = fixture("train_RRDBNet_PSNR_x4.yml");
  const int rc =
      run_srengine("bench train --config " + yml + " --list-json " + tmp.file("list.json"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK_THAT(log, Catch::Contains("note: options '") && Catch::Contains("'dist_params' ignored"));
  const json list = json::parse(test::read_text(tmp.file("list.json")));
  const json want = load_config_or_options(yml, sets, ConfigUse::train).config;
  REQUIRE(list.size() == 2);  // the one stage, and infer
  CHECK(list[0]["type"] == "sr");
  CHECK(list[0]["batch"] == 2);
  CHECK(list[0]["network_g"] == want["network_g"]);
}

TEST_CASE("yaml/network_of_a_file_srengine_cannot_train") {
  if (!yaml_or_skip()) return;
  // Real-ESRGAN's RealESRNet file: whatever srengine makes of its model and datasets (here,
  // problems that stop `srengine train`), its network_g is an RRDBNet that infer, export and
  // convert build; only the keys describing the net are read.
  const std::string yml = fixture("train_realesrnet_x4plus.yml");
  const NetworkConfig n = read_generator_config(yml);
  CHECK(n.type == "RRDBNet");
  CHECK(n.args["num_block"] == 23);
  CHECK(n.args["num_grow_ch"] == 32);
  CHECK(n.args["scale"] == 4);
}

// BasicSR's ECBSR option file as written (ECBSR-M4C16 x4 on the Y channel, DIV2K from LMDB):
// network_g reaches the factory whole, color y reaches both sets; moved to the embedded photos
// on disk, it trains two iterations with one-channel batches and writes BasicSR's keys.
TEST_CASE("yaml/ecbsr_option_file_translates_and_trains") {
  if (!yaml_or_skip()) return;
  const auto photos = embedded("train", kTrainPhotos) + embedded("val", kValPhotos) +
                      std::vector<std::string>{"datasets.train.io_backend.type=disk"};
  const LoadedConfig l = load_config_or_options(fixture("train_ECBSR_x4_m4c16_prelu.yml"), photos, ConfigUse::train);
  const json& g = l.config["network_g"];
  CHECK(g["type"] == "ECBSR");
  CHECK(g["num_block"] == 4);
  CHECK(g["num_channel"] == 16);
  CHECK(g["with_idt"] == false);
  CHECK(g["act_type"] == "prelu");
  CHECK(g["scale"] == 4);
  CHECK(l.config["datasets"]["train"]["color"] == "y");
  CHECK(l.config["train"]["stages"][0]["type"] == "sr");

  test::TempDir tmp;
  const std::vector<std::string> sets =
      photos + std::vector<std::string>{"datasets.val.meta_info_file=" + kRepo + "/tests/fixtures/val_one.txt",
                                        "datasets.train.gt_size=32", "datasets.train.batch_size_per_gpu=2",
                                        "datasets.train.num_worker_per_gpu=1", "datasets.train.dataset_enlarge_ratio=1",
                                        "train.stages.0.total_iter=2", "train.stages.0.scheduler.milestones=[1]",
                                        "val.val_freq=2", "logger.print_freq=1", "logger.save_checkpoint_freq=2",
                                        "device=cpu", "name=yaml_ecbsr", "path.experiments_root=" + tmp.path()};
  const int rc = run_srengine("train " + fixture("train_ECBSR_x4_m4c16_prelu.yml"), sets, tmp.file("log.txt"));
  const std::string log = test::read_text(tmp.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  const SafetensorsFile w = read_safetensors(tmp.path() + "/yaml_ecbsr/models/net_g_sr_final.safetensors");
  CHECK(w.get("backbone.0.conv3x3.weight").shape() == Shape{16, 1, 3, 3});
  CHECK(w.get("backbone.5.conv1x1_3x3.k1").shape() == Shape{16, 32, 3, 3});
  CHECK(w.get("backbone.2.conv1x1_lpl.mask").shape() == Shape{16, 1, 3, 3});
}
