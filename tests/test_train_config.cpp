// Config validation, overrides, error messages and the generated key reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "engine/error.h"
#include "engine/suggest.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "kernels/kernel_choice.h"
#include "kernels/registry.h"
#include "layers/precision.h"
#include "data/image_io.h"
#include "support/data_support.h"
#include "support/scoped_env.h"
#include "train/config.h"
#include "train/config_types.h"
#include "train/yaml/options_file.h"
#include "nets/size_options.h"

using namespace sr::train;

namespace {
const std::string kEsrgan = std::string(SRENGINE_SOURCE_DIR) + "/configs/esrgan_x4.json";

json esrgan() { return read_config_file(kEsrgan); }

std::string error_of(const json& c) {
  try {
    validate_config(c);
  } catch (const sr::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("config/esrgan_x4_is_valid_and_gets_defaults") {
  json c = load_config(kEsrgan, {});
  CHECK(c["train"]["stages"].size() == 2);
  CHECK(c["train"]["stages"][0]["optim_g"]["eps"] == 1e-8);            // default filled in
  CHECK(c["train"]["stages"][1]["gan_opt"]["gan_type"] == "hinge");
  CHECK(c["path"]["experiments_root"] == "experiments");
  CHECK(c["datasets"]["train"]["filename_tmpl"] == "{}");
  // Relative dataset folders are resolved from the config's folder.
  CHECK(c["datasets"]["train"]["dataroot_gt"].get<std::string>().find("/datasets/train_photos") != std::string::npos);
}

TEST_CASE("config/set_overrides_keys_and_list_elements") {
  json c = load_config(kEsrgan, {"train.stages.0.total_iter=100", "name=quick run", "datasets.train.gt_size=64",
                                 "val.metrics.psnr.test_y_channel=true"});
  CHECK(c["train"]["stages"][0]["total_iter"] == 100);
  CHECK(c["name"] == "quick run");  // not JSON: taken as a string
  CHECK(c["datasets"]["train"]["gt_size"] == 64);
  CHECK(c["val"]["metrics"]["psnr"]["test_y_channel"] == true);
  json raw = esrgan();
  CHECK_THROWS_WITH(apply_override(raw, "train.stages.5.total_iter=1"), Catch::Contains("index 5 out of range"));
  CHECK_THROWS_WITH(apply_override(raw, "noequals"), Catch::Contains("key.path=value"));
}

TEST_CASE("config/unknown_key_names_the_nearest_valid_key") {
  json c = esrgan();
  c["train"]["stages"][0]["totl_iter"] = 5;
  const std::string e = error_of(c);
  CHECK_THAT(e, Catch::Contains("train.stages.0.totl_iter") && Catch::Contains("did you mean 'total_iter'"));
  json d = esrgan();
  d["datasets"]["train"]["use_hfilp"] = true;
  CHECK_THAT(error_of(d), Catch::Contains("datasets.train.use_hfilp") && Catch::Contains("use_hflip"));
}

TEST_CASE("config/wrong_types_and_impossible_values") {
  json c = esrgan();
  c["train"]["stages"][0]["total_iter"] = "many";
  CHECK_THAT(error_of(c), Catch::Contains("train.stages.0.total_iter") && Catch::Contains("integer"));
  c = esrgan();
  c["datasets"]["train"]["gt_size"] = 130;
  CHECK_THAT(error_of(c), Catch::Contains("datasets.train.gt_size") && Catch::Contains("multiple of scale 4"));
  c = esrgan();
  c["datasets"]["train"]["gt_size"] = 132;  // a multiple of 4 but not of 8
  CHECK_THAT(error_of(c), Catch::Contains("UNetDiscriminatorSN") && Catch::Contains("multiples of 8"));
  c = esrgan();
  c["train"]["stages"][1]["gan_opt"]["gan_type"] = "hinje";
  CHECK_THAT(error_of(c), Catch::Contains("gan_type") && Catch::Contains("did you mean 'hinge'"));
  c = esrgan();
  c["train"]["stages"][0]["optim_g"]["lr"] = -1;
  CHECK_THAT(error_of(c), Catch::Contains("optim_g.lr") && Catch::Contains(">= 0"));
  c = esrgan();
  c.erase("network_d");
  CHECK_THAT(error_of(c), Catch::Contains("network_d"));
  c = esrgan();
  c["train"]["stages"][1]["name"] = "psnr";
  CHECK_THAT(error_of(c), Catch::Contains("repeats stage name 'psnr'"));
}

// The top-level scale against each generator's factors (BasicSR's): RRDBNet 1, 2, 4;
// SRVGGNetCompact 2, 3, 4; EDSR 2, 3, 4, 8. The net's own key takes the scale when absent.
TEST_CASE("config/scale_against_each_generators_factors") {
  const auto with = [](int64_t scale, const json& net) {
    json c = esrgan();
    c["scale"] = scale;
    c["network_g"] = net;
    c["datasets"]["train"]["gt_size"] = 48;  // a multiple of 3, 4 and 8
    return c;
  };
  const json rrdb = {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}};
  const json srvgg = {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}};
  const json edsr = {{"type", "EDSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}};
  CHECK(parse_config(validate_config(with(3, srvgg))).scale == 3);
  CHECK(validate_config(with(3, srvgg))["network_g"]["upscale"] == 3);
  CHECK(validate_config(with(3, edsr))["network_g"]["upscale"] == 3);
  CHECK(validate_config(with(8, edsr))["network_g"]["upscale"] == 8);
  CHECK(validate_config(with(1, rrdb))["network_g"]["scale"] == 1);
  CHECK_THAT(error_of(with(3, rrdb)), Catch::Contains("'scale' is 3, which RRDBNet does not upscale by (it takes 1, 2 or 4)"));
  CHECK_THAT(error_of(with(8, srvgg)),
             Catch::Contains("'scale' is 8, which SRVGGNetCompact does not upscale by (it takes 2, 3 or 4)"));
  CHECK_THAT(error_of(with(1, edsr)), Catch::Contains("'scale' is 1, which EDSR does not upscale by (it takes 2, 3, 4 or 8)"));
  CHECK_THAT(error_of(with(5, edsr)), Catch::Contains("'scale' is 5, must be 1, 2, 3, 4 or 8"));
  CHECK_THAT(error_of(with(16, edsr)), Catch::Contains("scale") && Catch::Contains("<= 8"));
  // gt_size: the suggestions are multiples of the scale, and of 8 too when the U-Net
  // discriminator trains (esrgan_x4.json's GAN stage): at x3, of 24.
  json odd = with(3, srvgg);
  odd["datasets"]["train"]["gt_size"] = 64;
  CHECK_THAT(error_of(odd), Catch::Contains("'datasets.train.gt_size' is 64, not a multiple of scale 3 (and of 8 for "
                                            "UNetDiscriminatorSN) (use 48 or 72)"));
  odd["datasets"]["train"]["gt_size"] = 66;
  CHECK_THAT(error_of(odd), Catch::Contains("'datasets.train.gt_size' is 66: UNetDiscriminatorSN needs input sides "
                                            "that are multiples of 8 (use 48 or 72)"));
  odd["train"]["stages"].erase(1);  // PSNR only: no discriminator trains
  odd["datasets"]["train"]["gt_size"] = 64;
  CHECK_THAT(error_of(odd), Catch::Contains("'datasets.train.gt_size' is 64, not a multiple of scale 3 (use 63 or 66)"));
  odd["datasets"]["train"]["gt_size"] = 2;
  CHECK_THAT(error_of(odd), Catch::Contains("'datasets.train.gt_size' is 2, not a multiple of scale 3 (use 3)"));
}

// Without val.metrics, PSNR and SSIM crop `scale` pixels from each border (BasicSR's option
// files set crop_border to the scale); given metrics keep their own crop_border.
TEST_CASE("config/default_metrics_crop_the_scale") {
  for (int64_t scale : {2, 3, 4}) {
    json c = esrgan();
    c["scale"] = scale;
    c["network_g"]["scale"] = scale == 3 ? 4 : scale;  // RRDBNet has no x3: SRVGGNetCompact below
    if (scale == 3) c["network_g"] = {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}};
    c["datasets"]["train"]["gt_size"] = 48;
    c["val"].erase("metrics");
    const json v = validate_config(c);
    CHECK(v["val"]["metrics"]["psnr"]["crop_border"] == scale);
    CHECK(v["val"]["metrics"]["ssim"]["crop_border"] == scale);
    CHECK(validate_config(v)["val"]["metrics"]["psnr"]["crop_border"] == scale);  // a saved config.json
  }
  json n = esrgan();  // metrics: null is absent too; {} stays none
  n["scale"] = 2;
  n["network_g"]["scale"] = 2;
  n["val"]["metrics"] = nullptr;
  CHECK(validate_config(n)["val"]["metrics"]["psnr"]["crop_border"] == 2);
  n["val"]["metrics"] = json::object();
  CHECK(validate_config(n)["val"]["metrics"].empty());
  json c = esrgan();  // its own metrics: crop_border 4 as written
  c["scale"] = 2;
  c["network_g"]["scale"] = 2;
  CHECK(validate_config(c)["val"]["metrics"]["psnr"]["crop_border"] == 4);
}

// One run lists every problem: schema ones (unknown key, wrong type, bad choice, missing
// required key) and cross-key ones (gt_size vs the discriminator, a missing folder)
// together, numbered.
TEST_CASE("config/every_problem_in_one_run") {
  json c = esrgan();
  c["train"]["stages"][0]["totl_iter"] = 5;                        // unknown key
  c["datasets"]["train"]["batch_size_per_gpu"] = "sixteen";         // wrong type
  c["train"]["stages"][1]["gan_opt"]["gan_type"] = "hinje";        // not a choice
  c["train"]["stages"][1].erase("name");                           // missing required key
  c["datasets"]["train"]["gt_size"] = 132;                         // not a multiple of 8 (UNet D)
  c["datasets"]["val"]["dataroot_gt"] = "/nonexistent/val_gt";     // missing folder
  const std::string e = error_of(c);
  INFO(e);
  CHECK_THAT(e, Catch::StartsWith("config: 6 problems:"));
  CHECK_THAT(e, Catch::Contains(". config: unknown key 'train.stages.0.totl_iter'") &&
                    Catch::Contains("did you mean 'total_iter'"));
  CHECK_THAT(e, Catch::Contains("'datasets.train.batch_size_per_gpu' must be an integer, got \"sixteen\""));
  CHECK_THAT(e, Catch::Contains("'train.stages.1.gan_opt.gan_type' is 'hinje'") &&
                    Catch::Contains("did you mean 'hinge'"));
  CHECK_THAT(e, Catch::Contains("missing required key 'train.stages.1.name'"));
  CHECK_THAT(e, Catch::Contains("'datasets.train.gt_size' is 132: UNetDiscriminatorSN needs input sides that are "
                                "multiples of 8"));
  CHECK_THAT(e, Catch::Contains("'datasets.val.dataroot_gt': '/nonexistent/val_gt' does not exist"));
  // One problem keeps its plain message.
  json one = esrgan();
  one["datasets"]["train"]["gt_size"] = 132;
  CHECK_THAT(error_of(one), Catch::StartsWith("config: 'datasets.train.gt_size' is 132"));
}

TEST_CASE("config/missing_dataset_folder_names_key_and_path") {
  json c = esrgan();
  c["datasets"]["train"]["dataroot_gt"] = "/nonexistent/folder";
  CHECK_THAT(error_of(c), Catch::Contains("datasets.train.dataroot_gt") && Catch::Contains("/nonexistent/folder"));
  c = esrgan();
  c["datasets"]["eval"] = c["datasets"]["val"];
  c["datasets"].erase("val");
  CHECK_THAT(error_of(c), Catch::Contains("datasets.eval"));
}

// An empty dataset path is the key left out (BasicSR's ~): an empty meta_info file means
// none, also beside meta_info; a folder the type needs is reported missing (it resolved to the
// config's own folder, and the run trained on whatever images sat beside the config); one the
// type does not read (dataroot_lq of GTOnlyBicubicDataset) is ignored.
TEST_CASE("config/empty_dataset_paths") {
  const std::string tiny_cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  const json c = load_config(tiny_cfg, {"datasets.val.meta_info_file="});
  CHECK_FALSE(c["datasets"]["val"].contains("meta_info_file"));
  const json both = load_config(tiny_cfg, {"datasets.val.meta_info_file=", "datasets.val.meta_info=val_one.txt"});
  CHECK(both["datasets"]["val"].contains("meta_info"));
  CHECK_FALSE(load_config(tiny_cfg, {"datasets.train.dataroot_lq="})["datasets"]["train"].contains("dataroot_lq"));
  CHECK_THROWS_WITH(load_config(tiny_cfg, {"datasets.train.dataroot_gt="}),
                    Catch::Contains("missing required key 'datasets.train.dataroot_gt'"));
}

TEST_CASE("config/bad_file_errors_name_the_file") {
  CHECK_THROWS_WITH(read_config_file("/nonexistent.json"), Catch::Contains("/nonexistent.json"));
  const std::string path = std::string(SRENGINE_BINARY_DIR) + "/bad_config.json";
  std::ofstream(path) << "{\"name\": \"x\",, }";
  CHECK_THROWS_WITH(read_config_file(path), Catch::Contains("bad_config.json") && Catch::Contains("not valid JSON"));
}

TEST_CASE("config/docs_match_the_schema") {
  std::ifstream in(std::string(SRENGINE_SOURCE_DIR) + "/docs/CONFIG.md");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  INFO("docs/CONFIG.md is stale: regenerate it with `build/srengine config --doc > docs/CONFIG.md`");
  CHECK(ss.str() == config_reference_markdown());
}

TEST_CASE("config/edit_distance") {
  CHECK(sr::edit_distance("kitten", "sitting") == 3);
  CHECK(sr::edit_distance("", "abc") == 3);
  CHECK(sr::edit_distance("same", "same") == 0);
}

// conv_impl: the schema's choices are kernel_choice's names (one list), so every variant a
// build can run (igemm_v2, wgmma, ...) can be named in a config, and a typo is refused by the
// schema with the valid names.
TEST_CASE("config/conv_impl_key") {
  json c = esrgan();
  for (const std::string& name : sr::kernels::conv_impl_names()) {
    INFO(name);
    c["conv_impl"] = name;
    CHECK(parse_config(validate_config(c)).conv_impl == name);
    CHECK_NOTHROW(sr::kernels::kernel_choice(name, "fused"));
  }
  for (const char* name : {"wgmma", "igemm_v2", "cudnn_fp32"}) {
    const auto& names = sr::kernels::conv_impl_names();
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }
  c["conv_impl"] = "wgma";
  const std::string e = error_of(c);
  INFO(e);
  CHECK_THAT(e, Catch::Contains("conv_impl") && Catch::Contains("wgma") && Catch::Contains("wgmma"));
}

TEST_CASE("config/precision_key") {
  json c = esrgan();
  // Absent: the device's own math, exactly as before the key existed.
  CHECK(parse_config(validate_config(c)).precision == sr::Precision::device_default);
  const std::pair<const char*, sr::Precision> values[] = {{"default", sr::Precision::device_default},
                                                          {"fp32", sr::Precision::fp32},
                                                          {"tf32", sr::Precision::tf32},
                                                          {"bf16", sr::Precision::bf16},
                                                          {"fp16", sr::Precision::fp16}};
  for (const auto& [name, value] : values) {
    c["precision"] = name;
    CHECK(parse_config(validate_config(c)).precision == value);
    CHECK(std::string(sr::precision_name(value)) == name);
  }
  for (const char* bad : {"fp8", "half", "BF16", "float32"}) {
    c["precision"] = bad;
    const std::string e = error_of(c);
    INFO(e);
    CHECK_THAT(e, Catch::Contains("precision") && Catch::Contains(bad) && Catch::Contains("fp32") &&
                      Catch::Contains("tf32") && Catch::Contains("bf16") && Catch::Contains("fp16") &&
                      Catch::Contains("default"));
  }
  // train.loss_scale belongs to fp16: refused with any other precision, naming both keys.
  c["train"]["loss_scale"] = {{"init", 1024}};
  for (const char* other : {"default", "fp32", "tf32", "bf16"}) {
    c["precision"] = other;
    const std::string e = error_of(c);
    INFO(e);
    CHECK_THAT(e, Catch::Contains("train.loss_scale") && Catch::Contains("precision") &&
                      Catch::Contains(std::string("'") + other + "'"));
  }
  c["precision"] = "fp16";
  const auto parsed = parse_config(validate_config(c));
  CHECK(parsed.train.loss_scale.init == 1024);
  CHECK(parsed.train.loss_scale.growth_factor == 2);  // the other fields keep their defaults
  CHECK(parsed.train.loss_scale.backoff_factor == 0.5);
  CHECK(parsed.train.loss_scale.growth_interval == 2000);
  for (const auto& [key, value] : std::vector<std::pair<const char*, json>>{
           {"init", 0}, {"backoff_factor", 1.0}, {"backoff_factor", 0}, {"growth_factor", 0.5}, {"growth_interval", 0}}) {
    json d = c;
    d["train"]["loss_scale"][key] = value;
    const std::string e = error_of(d);
    INFO(e);
    CHECK_THAT(e, Catch::Contains(std::string("loss_scale.") + key));
  }
  c["train"].erase("loss_scale");
  CHECK(parse_config(validate_config(c)).train.loss_scale.init == 65536);  // fp16 without the key: the defaults

  // What the device cannot run is an error naming the key, the value and what is missing.
  if (sr::cpu::cpu_has_avx512_bf16()) {
    CHECK_NOTHROW(sr::check_precision_supported(sr::Precision::bf16, sr::Device::cpu()));
  } else {
    CHECK_THROWS_WITH(sr::check_precision_supported(sr::Precision::bf16, sr::Device::cpu()),
                      Catch::Contains("precision 'bf16'") && Catch::Contains("avx512_bf16"));
  }
  for (sr::Precision p : {sr::Precision::device_default, sr::Precision::fp32, sr::Precision::tf32, sr::Precision::fp16})
    CHECK_NOTHROW(sr::check_precision_supported(p, sr::Device::cpu(), "cudnn"));  // the CPU ignores conv_impl
  // CUDA / simt: every precision with the native kernels; cuDNN only fp32 / tf32 / default,
  // and the refusal names both keys and both values.
  for (sr::Precision p : {sr::Precision::device_default, sr::Precision::fp32, sr::Precision::tf32,
                          sr::Precision::bf16, sr::Precision::fp16})
    CHECK_NOTHROW(sr::check_precision_supported(p, sr::Device::cuda(0), "native"));
  // (The conv_impl names resolve against the CUDA rows of the registry: a build without
  // them accepts and ignores a GPU config's conv_impl, kernels/kernel_choice.h.)
  sr::test::ScopedEnv env;
  env.unset(sr::kernels::override_env("conv2d"));
  if (!sr::kernels::variants_of("conv2d", "cuda").empty()) {
    for (sr::Precision p : {sr::Precision::device_default, sr::Precision::fp32, sr::Precision::tf32}) {
      try {
        sr::check_precision_supported(p, sr::Device::cuda(0), "cudnn");
      } catch (const sr::Error& e) {
        // Only a build without cuDNN refuses the conv_impl itself.
        CHECK_THAT(e.what(), Catch::Contains("conv_impl") && Catch::Contains("cudnn"));
      }
    }
    for (sr::Precision p : {sr::Precision::bf16, sr::Precision::fp16}) {
      try {
        sr::check_precision_supported(p, sr::Device::cuda(0), "cudnn");
        FAIL("no error for precision " << sr::precision_name(p) << " with conv_impl cudnn");
      } catch (const sr::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("conv_impl") && Catch::Contains("'cudnn'") &&
                                 Catch::Contains(std::string("precision '") + sr::precision_name(p) + "'"));
      }
    }
    // Where the environment chose cuDNN, the refusal names the variable, not a conv_impl the
    // caller (infer, the C API) has no way to set; `what` names the caller's setting.
    bool has_cudnn = false;
    for (const auto& v : sr::kernels::variants_of("conv2d", "cuda")) has_cudnn |= std::string(v.name) == "cudnn";
    if (has_cudnn) {
      env.set(sr::kernels::override_env("conv2d"), "cudnn");
      try {
        sr::check_precision_supported(sr::Precision::fp16, sr::Device::cuda(0), "native", "infer: --half");
        FAIL("no error for --half under SRENGINE_CONV_IMPL=cudnn");
      } catch (const sr::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("infer: --half 'fp16'") && Catch::Contains("SRENGINE_CONV_IMPL=cudnn") &&
                                 !Catch::Contains("conv_impl 'native'"));
      }
    }
  }
}

// `srengine config --check` runs what `srengine train` checks before its first iteration
// (check_before_training): a config whose keys are all valid but whose network cannot be
// built, whose pretrained weights do not fit, or whose validation image cannot be measured
// is refused with the reason, not "ok". Each case is an error of its own, on the tiny config.
TEST_CASE("config/check_runs_what_train_checks_before_its_first_iteration") {
  if (!std::filesystem::exists(sr::test::srengine_exe())) {
    WARN("SKIPPED: " << sr::test::srengine_exe() << " is not built");
    return;
  }
  sr::test::TempDir dir;
  const std::string val_dir = dir.subdir("small_val");
  std::mt19937_64 rng(2);
  sr::data::write_image(val_dir + "/small.png", sr::test::random_image(rng, 16, 12, 3));
  std::ofstream(dir.file("small_meta.txt")) << "small.png\n";
  const std::string tiny_cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  auto check = [&](const std::string& sets, int* rc) {
    const std::string out = dir.file("check.txt");
    const std::string cmd = sr::test::srengine_exe() + " config --check " + tiny_cfg + sets + " > " + out + " 2>&1";
    *rc = std::system(cmd.c_str());
    return sr::test::read_text(out);
  };
  int rc = 0;
  CHECK_THAT(check("", &rc), Catch::Contains("train_tiny.json: ok"));
  CHECK(rc == 0);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {" --set network_g.type=Nope", "network_g: network: unknown type 'Nope'"},
      {" --set network_g.num_feat=-3", "network_g: RRDBNet: num_feat must be at least 1, got -3"},
      {" --set network_d.foo=1", "stage 'gan' (srgan) needs network_d: network UNetDiscriminatorSN: unknown key 'foo'"},
      {" --set path.pretrain_network_g=" + std::string(SRENGINE_SOURCE_DIR) +
           "/tests/fixtures/nets/srvgg_compact_x4.safetensors --set path.param_key_g=auto",
       "network_g: RRDBNet: cannot load"},
      {" --set datasets.val.dataroot_gt=" + val_dir +
           " --set datasets.val.meta_info_file=" + dir.file("small_meta.txt"),
       "small.png' (16x12 when measured) cannot be measured by 'val.metrics.ssim'"},
      // Perceptual options are checked without the VGG weights file too.
      {" --set 'train.stages.1.perceptual_opt={\"layer_weights\": {\"conv5_5\": 1}}'",
       "stage 'gan': perceptual_opt.layer_weights: 'conv5_5' is not a VGG19 layer (did you mean 'conv5_"},
      {" --set 'train.stages.1.perceptual_opt={\"layer_weights\": {\"conv5_4\": 1}, \"style_weight\": 0.001}'",
       "perceptual_opt.style_weight (0.001): the Gram-matrix style loss is not implemented"},
      // Every independent check reports: D's missing weights and G's in one run.
      {" --set path.pretrain_network_g=/nonexistent/g.pth --set path.pretrain_network_d=/nonexistent/d.pth",
       "2 problems:\n  1. stage 'gan' (srgan) needs network_d: weights '/nonexistent/d.pth': cannot open: no such "
       "file\n  2. network_g: weights '/nonexistent/g.pth'"},
  };
  for (const auto& [sets, message] : refused) {
    const std::string out = check(sets, &rc);
    INFO(sets << ":\n" << out);
    CHECK(rc != 0);
    CHECK_THAT(out, Catch::Contains(message));
  }
}

// datasets.<name>.color y gives one-channel images: network_g must take and give one channel
// (network_d take one) and the parts that take RGB only (VGG19's perceptual loss, LPIPS,
// Real-ESRGAN's degradations) are refused; every problem names the dataset's color key and the
// other key. A network of one channel on colour data is refused the same way.
TEST_CASE("config/color_y_needs_one_channel_networks") {
  json c = esrgan();
  c["datasets"]["train"]["color"] = "y";
  c["datasets"]["val"]["color"] = "y";
  const std::string e = error_of(c);
  INFO(e);
  CHECK_THAT(e, Catch::Contains("'datasets.train.color' is 'y' (one-channel BT.601 Y images), but "
                                "'network_g.num_in_ch' is 3: the network must take the images it is given (set "
                                "network_g.num_in_ch and network_g.num_out_ch to 1, or color rgb)"));
  CHECK_THAT(e, Catch::Contains("'datasets.val.color' is 'y' (one-channel BT.601 Y images), but "
                                "'network_g.num_in_ch' is 3"));
  CHECK_THAT(e, Catch::Contains("'datasets.train.color' is 'y' (one-channel BT.601 Y images), but "
                                "'network_d.num_in_ch' is 3: the discriminator judges the training images"));
  CHECK_THAT(e, Catch::Contains("'datasets.train.color' is 'y', but 'train.stages.1.perceptual_opt' is set: the "
                                "perceptual loss's VGG19 takes RGB images"));
  // One channel in, three out: the output is compared with one-channel GT.
  c["network_g"]["num_in_ch"] = 1;
  CHECK_THAT(error_of(c), Catch::Contains("'datasets.train.color' is 'y' (one-channel BT.601 Y images), but "
                                          "'network_g.num_out_ch' is 3: the network's output is compared with GT "
                                          "images of 1 channel"));
  c["network_g"]["num_out_ch"] = 1;
  c["network_d"]["num_in_ch"] = 1;
  c["train"]["stages"][1].erase("perceptual_opt");
  CHECK(error_of(c) == "");
  CHECK(parse_config(validate_config(c)).datasets.at(0).data.color == sr::data::DataColor::y);
  // Defaults count: MSRResNet's num_in_ch is 3 when left out; SwinIR's key is in_chans.
  json m = c;
  m["network_g"] = {{"type", "MSRResNet"}, {"num_feat", 8}, {"num_block", 1}};
  CHECK_THAT(error_of(m), Catch::Contains("but 'network_g.num_in_ch' is 3"));
  m["network_g"] = {{"type", "SwinIR"}, {"upscale", 4}};
  CHECK_THAT(error_of(m), Catch::Contains("but 'network_g.in_chans' is 3: the network must take the images it is "
                                          "given (set network_g.in_chans to 1, or color rgb)"));
  // A one-channel network on colour data.
  json rgb = c;
  rgb["datasets"]["train"]["color"] = "rgb";
  rgb["datasets"]["val"].erase("color");  // the default
  const std::string r = error_of(rgb);
  CHECK_THAT(r, Catch::Contains("'datasets.train.color' is 'rgb' (three-channel images), but 'network_g.num_in_ch' is "
                                "1: the network must take the images it is given (set network_g.num_in_ch and "
                                "network_g.num_out_ch to 3, or color y to train on the Y channel)"));
  CHECK_THAT(r, Catch::Contains("'datasets.val.color' is 'rgb'"));
  // LPIPS measures RGB; a RealESRGANDataset degrades colour images; an unknown value is the schema's.
  json lp = c;
  lp["val"]["metrics"] = {{"lpips", {{"type", "calculate_lpips"}}}};
  CHECK_THAT(error_of(lp), Catch::Contains("'datasets.val.color' is 'y', but 'val.metrics.lpips' is LPIPS, whose "
                                           "network measures RGB images"));
  // Real-ESRGAN's stages sharpen RGB GT batches (gt_usm): refused on Y data, whatever the set type.
  json usm = c;
  usm["train"]["stages"][1]["type"] = "realesrgan";
  CHECK_THAT(error_of(usm), Catch::Contains("'datasets.train.color' is 'y', but 'train.stages.1.type' is a "
                                            "Real-ESRGAN stage, which sharpens its RGB GT batches"));
  json synth = c;
  synth["datasets"]["train"]["type"] = "RealESRGANDataset";
  CHECK_THAT(error_of(synth), Catch::Contains("'datasets.train.color' is 'y', but a RealESRGANDataset synthesises its "
                                              "LQ from colour images"));
  json typo = c;
  typo["datasets"]["train"]["color"] = "Y";
  CHECK_THAT(error_of(typo), Catch::Contains("'datasets.train.color' is 'Y', expected one of: rgb, y"));
}

// Schedules that cannot run as written (BasicSR fails, asserts or refuses the keyword) stop the
// run naming the full key; values the stage ends before reaching are notes naming the key, the
// values and total_iter. Stage 0 of train_tiny.json is 'psnr' (sr, total_iter 8), stage 1
// 'gan' (srgan, total_iter 6).
TEST_CASE("config/impossible_schedules_are_refused_naming_the_key") {
  const std::string tiny = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  auto error = [&](std::vector<std::string> sets) {
    try {
      load_config_or_options(tiny, sets, ConfigUse::train);
    } catch (const sr::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto notes = [&](std::vector<std::string> sets) {
    std::string all;
    for (const auto& n : load_config_or_options(tiny, sets, ConfigUse::train).notes) all += n + "\n";
    return all;
  };
  const std::string cos = "train.stages.0.scheduler.type=CosineAnnealingRestartLR";
  const std::string no_milestones = "train.stages.0.scheduler.milestones=null", no_gamma = "train.stages.0.scheduler.gamma=null";
  // 1. The cycles end before the stage.
  CHECK_THAT(error({cos, no_milestones, no_gamma, "train.stages.0.scheduler.periods=[5]"}),
             Catch::Contains("'train.stages.0.scheduler.periods' sum to 5, less than 'train.stages.0.total_iter' 8"));
  CHECK(error({cos, no_milestones, no_gamma, "train.stages.0.scheduler.periods=[5,3]",
               "train.stages.0.scheduler.restart_weights=[1,0.5]"}).empty());
  // 2. A milestone after total_iter never takes effect: a note; one at total_iter is fine.
  CHECK_THAT(notes({"train.stages.0.scheduler.milestones=[6,400]"}),
             Catch::Contains("'train.stages.0.scheduler.milestones' has 400 after 'train.stages.0.total_iter' 8") &&
                 Catch::Contains("never takes effect"));
  CHECK(notes({"train.stages.0.scheduler.milestones=[6,8]"}).empty());
  // 3. Keys of the other scheduler type.
  CHECK_THAT(error({"train.stages.0.scheduler.periods=[8]"}),
             Catch::Contains("'train.stages.0.scheduler.periods' is given, but 'train.stages.0.scheduler.type' is "
                             "MultiStepLR, which takes milestones, gamma, restarts and restart_weights"));
  CHECK_THAT(error({"train.stages.0.scheduler.eta_min=0"}), Catch::Contains("'train.stages.0.scheduler.eta_min' is given"));
  CHECK_THAT(error({cos, "train.stages.0.scheduler.periods=[8]", "train.stages.0.scheduler.gamma=0.1"}),
             Catch::Contains("'train.stages.0.scheduler.milestones' is given, but 'train.stages.0.scheduler.type' is "
                             "CosineAnnealingRestartLR, which takes periods, restart_weights and eta_min") &&
                 Catch::Contains("'train.stages.0.scheduler.gamma' is given"));
  // 4. Every length mismatch, naming both keys.
  CHECK_THAT(error({"train.stages.0.scheduler.restart_weights=[1,1]"}),
             Catch::Contains("'train.stages.0.scheduler.restart_weights' has 2 entries but "
                             "'train.stages.0.scheduler.restarts' has 0"));
  CHECK_THAT(error({"train.stages.0.scheduler.restarts=[5]", "train.stages.0.scheduler.restart_weights=[1,1,1]"}),
             Catch::Contains("'train.stages.0.scheduler.restart_weights' has 3 entries but "
                             "'train.stages.0.scheduler.restarts' has 1 entry"));
  CHECK_THAT(error({cos, no_milestones, no_gamma, "train.stages.0.scheduler.periods=[4,4]"}),
             Catch::Contains("'train.stages.0.scheduler.restart_weights' has 1 entry but "
                             "'train.stages.0.scheduler.periods' has 2 entries"));
  // 5. A warm-up as long as the stage is a note; a GAN stage that never updates G an error.
  CHECK_THAT(notes({"train.stages.0.warmup_iter=9"}),
             Catch::Contains("'train.stages.0.warmup_iter' is 9, not below 'train.stages.0.total_iter' 8") &&
                 Catch::Contains("never reaches its scheduled value"));
  CHECK_THAT(error({"train.stages.1.net_d_init_iters=6"}),
             Catch::Contains("'train.stages.1.net_d_init_iters' is 6, not below 'train.stages.1.total_iter' 6") &&
                 Catch::Contains("never update G"));
  CHECK(error({"train.stages.1.net_d_init_iters=5"}).empty());
  // 6. The full key path.
  CHECK_THAT(error({"train.stages.1.optim_d.betas=[0.9]"}),
             Catch::Contains("'train.stages.1.optim_d.betas' needs two values (beta1, beta2), got 1"));
}
