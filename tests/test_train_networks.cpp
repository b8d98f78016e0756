// One network builder (train/networks.h): training, `srengine test`, `srengine infer
// --config`, infer::open_model (the C API and Python) and `srengine bench train` build
// network_g from the same validated, typed section, so the same weights give the same output
// everywhere, and the top-level scale reaches every one of them (an x2 config never
// builds an x4 net).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "infer/open_model.h"
#include "infer/tiled_upscale.h"
#include "layers/rrdb.h"
#include "support/data_support.h"
#include "support/scoped_env.h"
#include "support/train_support.h"
#include "train/config.h"
#include "train/config_types.h"
#include "train/networks.h"
#include "train/trainer.h"
#include "train/yaml/options_file.h"
#include "train/yaml/read_yaml.h"

using namespace sr;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// An x2 config whose network_g leaves its factor to the top-level scale (as BasicSR's
// files often do), with an LQ-only set for `srengine test`.
json x2_config(const json& network_g, const std::string& lq_dir) {
  return {{"name", "x2net"},
          {"scale", 2},
          {"manual_seed", 5},
          {"device", "cpu"},
          {"datasets", {{"test_1", {{"type", "LQOnlyDataset"}, {"dataroot_lq", lq_dir}}}}},
          {"network_g", network_g},
          {"train", {{"stages", json::array({{{"name", "s"}, {"type", "sr"}, {"total_iter", 1},
                                               {"pixel_opt", {{"type", "L1Loss"}}}}})}}}};
}

// The same config as a BasicSR option file (the train section in BasicSR's flat form).
std::string as_yaml(const json& network_g, const std::string& lq_dir) {
  std::string net = "network_g:\n";
  for (auto it = network_g.begin(); it != network_g.end(); ++it) net += "  " + it.key() + ": " + it.value().dump() + "\n";
  return "name: x2net\nmodel_type: SRModel\nscale: 2\nnum_gpu: 0\nmanual_seed: 5\n"
         "datasets:\n  test_1:\n    type: SingleImageDataset\n    dataroot_lq: " + lq_dir + "\n" + net +
         "train:\n  total_iter: 1\n  pixel_opt: {type: L1Loss, loss_weight: 1.0}\n";
}

// The 8-bit samples a PNG of the image holds (image_io.h: clamped, rounded half to even).
std::vector<uint8_t> as_u8(const data::Image& img) {
  std::vector<uint8_t> out;
  for (float v : img.pixels) out.push_back(data::quantize_u8(v));
  return out;
}

Tensor forward(Module& net, const Tensor& x) {
  NoGradGuard no_grad;
  return net.forward(x);
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::equal(ca.data<float>(), ca.data<float>() + ca.numel(), cb.data<float>());
}

// `srengine infer --config` (the trained config) with the saved weights upscales a 40x30 crop of
// a photo by `scale`, tiled (16 px cores, 10 px pads: more than the small test nets' reach) to
// the same pixels as untiled, within one 8-bit step (the blend sums two tiles' equal predictions).
void expect_tiled_infer_matches_whole(const json& c, const std::string& weights, int scale) {
  test::TempDir tmp;
  const std::string cfg = tmp.file("net.json");
  std::ofstream(cfg) << c.dump(2);
  const std::string in = std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png";
  const data::Image photo = data::read_image(in);
  data::Image crop;  // 40x30 of the photo keeps the test short
  crop.width = 40;
  crop.height = 30;
  crop.channels = photo.channels;
  for (int y = 0; y < crop.height; ++y)
    for (int x = 0; x < crop.width * crop.channels; ++x)
      crop.pixels.push_back(photo.pixels[(size_t)y * photo.width * photo.channels + x]);
  data::write_image(tmp.file("in.png"), crop);
  for (const std::string tile : {"0", "16"}) {
    const std::string cmd = test::srengine_exe() + " infer --config " + cfg + " --weights " + weights + " -i " +
                            tmp.file("in.png") + " -o " + tmp.file("t" + tile) + " --tile " + tile +
                            " --tile-pad 10 --device cpu > " + tmp.file("infer.log") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    INFO(cmd << "\n" << test::read_text(tmp.file("infer.log")));
    REQUIRE(rc == 0);
  }
  const data::Image whole = data::read_image(tmp.file("t0/in.png")), tiled = data::read_image(tmp.file("t16/in.png"));
  REQUIRE(whole.width == 40 * scale);
  REQUIRE(whole.height == 30 * scale);
  const std::vector<uint8_t> a = as_u8(whole), b = as_u8(tiled);
  REQUIRE(a.size() == b.size());
  int worst = 0, distinct = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
    distinct += a[i] != a[0];
  }
  CHECK(worst <= 1);
  CHECK(distinct > 1000);  // a picture, not a constant
}

}  // namespace

TEST_CASE("networks/train_test_infer_and_bench_build_the_same_generator") {
  const uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const std::vector<json> nets = {
      {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 1}, {"num_grow_ch", 4}},
      {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_conv", 2},
       {"act_type", "prelu"}},
      {{"type", "EDSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 2}, {"res_scale", 0.5}},
      {{"type", "MSRResNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 2}},
      {{"type", "RCAN"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_group", 1}, {"num_block", 2},
       {"squeeze_factor", 4}}};
  for (const json& network_g : nets) {
    const std::string type = network_g["type"];
    INFO(type);
    test::TempDir tmp;
    const std::string lq = tmp.subdir("lq");
    data::write_image(lq + "/a.png", test::random_image(rng, 10, 8, 3));
    const std::string cfg_path = tmp.file("x2.json");
    std::ofstream(cfg_path) << x2_config(network_g, lq).dump(2);

    // Training's network: the validated, typed section.
    const train::Config cfg = train::parse_config(train::load_config(cfg_path, {}));
    std::unique_ptr<Module> g =
        train::make_network(*cfg.network_g, cfg.manual_seed, 1, Device::cpu(), train::layer_options(cfg));
    REQUIRE(infer::net_scale(*g) == 2);
    manual_seed(seed);
    for (auto& [k, t] : g->state_dict())
      if (t.dim() == 4) kaiming_normal_(t, 0.2);  // visible outputs, different in every run
    g->eval();
    write_safetensors(tmp.file("w.safetensors"), g->state_dict());
    const Tensor x = data::image_to_tensor(data::read_image(lq + "/a.png"));
    const Tensor want = forward(*g, x);

    // infer::open_model from the config (the C API's path; JSON read by the library).
    infer::ModelSpec spec;
    spec.config = cfg_path;
    spec.weights = tmp.file("w.safetensors");
    spec.param_key = "bare";
    const infer::OpenedModel opened = infer::open_model(spec);
    CHECK(opened.network_g == cfg.network_g->args);
    CHECK(same_values(forward(*opened.net, x), want));

    // The same file as a BasicSR option file reads to the same section (the CLI's and
    // Python's --config path).
    if (train::yaml_reader_built()) {
      std::ofstream(tmp.file("x2.yml")) << as_yaml(network_g, lq);
      const train::NetworkConfig from_yaml = train::read_generator_config(tmp.file("x2.yml"));
      CHECK(from_yaml.args == cfg.network_g->args);
      infer::ModelSpec yspec = spec;
      yspec.network_g = from_yaml.args;
      CHECK(same_values(forward(*infer::open_model(yspec).net, x), want));
    }

    // The CLI: srengine infer --config and srengine test write the same pixels.
    const std::string w = " --weights " + tmp.file("w.safetensors") + " --param-key bare";
    const std::string infer_cmd = test::srengine_exe() + " infer --config " + cfg_path + w + " -i " + lq +
                                  "/a.png -o " + tmp.file("inf") + " --device cpu > " + tmp.file("infer.log") + " 2>&1";
    const int infer_rc = std::system(infer_cmd.c_str());
    INFO(test::read_text(tmp.file("infer.log")));
    REQUIRE(infer_rc == 0);
    const std::string test_cmd = test::srengine_exe() + " test " + cfg_path + w + " --output " + tmp.file("res") +
                                 " > " + tmp.file("test.log") + " 2>&1";
    const int test_rc = std::system(test_cmd.c_str());
    INFO(test::read_text(tmp.file("test.log")));
    REQUIRE(test_rc == 0);
    const data::Image want_img = data::tensor_to_image(want);
    for (const std::string& out : {tmp.file("inf/a.png"), tmp.file("res/visualization/test_1/a_x2net.png")}) {
      INFO(out);
      const data::Image got = data::read_image(out);
      REQUIRE(got.width == 20);
      REQUIRE(got.height == 16);
      CHECK(as_u8(got) == as_u8(want_img));
    }

    // srengine bench train builds from the same typed section (it calls make_network on
    // cfg.network_g): the workload it lists is that section.
    // (The bench needs a training set for its batch shape; the LQ-only set becomes GT-only.)
    const std::string sets = " --set 'datasets.train={\"type\": \"GTOnlyBicubicDataset\", \"dataroot_gt\": \"" +
                             lq + "\", \"gt_size\": 16}' --set datasets.test_1.type=GTOnlyBicubicDataset" +
                             " --set datasets.test_1.dataroot_gt=" + lq;
    const std::string list_cmd = test::srengine_exe() + " bench train --config " + cfg_path + sets +
                                 " --stage infer --list-json " + tmp.file("list.json") + " > " + tmp.file("bench.log") +
                                 " 2>&1";
    const int list_rc = std::system(list_cmd.c_str());
    INFO(test::read_text(tmp.file("bench.log")));
    REQUIRE(list_rc == 0);
    const json list = json::parse(test::read_text(tmp.file("list.json")));
    REQUIRE(list.size() == 1);
    CHECK(list[0]["network_g"] == cfg.network_g->args);
  }
}

TEST_CASE("networks/config_for_a_network_needs_only_network_g") {
  test::TempDir tmp;
  const json rrdb = {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 4},
                     {"num_block", 1},    {"num_grow_ch", 2}, {"scale", 2}};
  // No datasets, no train section, no top-level scale: the net's own factor is the scale.
  std::ofstream(tmp.file("net.json")) << json{{"name", "n"}, {"network_g", rrdb}}.dump();
  const train::NetworkConfig n = train::read_json_generator_config(tmp.file("net.json"));
  CHECK(n.args["scale"] == 2);
  // Dataset folders that do not exist here are not looked at.
  std::ofstream(tmp.file("train.json"))
      << json{{"name", "n"}, {"scale", 2}, {"network_g", rrdb},
              {"datasets", {{"train", {{"type", "PairedImageDataset"}, {"dataroot_gt", "/nonexistent/gt"},
                                       {"dataroot_lq", "/nonexistent/lq"}}}}}}.dump();
  CHECK(train::read_json_generator_config(tmp.file("train.json")).args == n.args);
  // A stated scale that disagrees with the net's is still an error, as in training.
  std::ofstream(tmp.file("bad.json")) << json{{"name", "n"}, {"scale", 4}, {"network_g", rrdb}}.dump();
  test::require_error([&] { train::read_json_generator_config(tmp.file("bad.json")); },
                      {"'network_g.scale' (2) differs from 'scale' (4)"});
  std::ofstream(tmp.file("none.json")) << json{{"name", "n"}}.dump();
  test::require_error([&] { train::read_json_generator_config(tmp.file("none.json")); },
                      {"none.json", "has no network_g section"});
  // The library reads JSON only; the message says where option files are read.
  std::ofstream(tmp.file("o.yml")) << "name: n\n";
  test::require_error([&] { train::read_json_generator_config(tmp.file("o.yml")); },
                      {"o.yml", "BasicSR option file", "--from-yaml"});
}

// The config's rdb_impl / conv_impl reach every block of the network make_network builds
// (layer_options, as the trainer's run context and `srengine bench train` / `test` use it),
// and two networks from two configs keep their own in one process.
TEST_CASE("networks/kernel_choice_reaches_the_layers") {
  test::ScopedEnv env;  // puts back a suite-wide override
  env.unset("SRENGINE_RDB_IMPL");
  env.unset("SRENGINE_CONV_IMPL");
  test::TempDir tmp;
  const json net = {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 4}, {"num_block", 2},
                    {"num_grow_ch", 2}};
  json c = x2_config(net, tmp.subdir("lq"));
  c["rdb_impl"] = "unfused";
  const train::Config unfused_cfg = train::parse_config(train::validate_config(c));
  c["rdb_impl"] = "fused";
  const train::Config fused_cfg = train::parse_config(train::validate_config(c));
  CHECK(train::layer_options(unfused_cfg).kernels.rdb == kernels::RdbImpl::unfused);
  CHECK(train::layer_options(fused_cfg).kernels.rdb == kernels::RdbImpl::fused);
  const auto u = train::make_network(*unfused_cfg.network_g, 1, 1, Device::cpu(), train::layer_options(unfused_cfg));
  const auto f = train::make_network(*fused_cfg.network_g, 1, 1, Device::cpu(), train::layer_options(fused_cfg));
  int blocks = 0;
  std::function<void(const Module&, kernels::RdbImpl)> visit = [&](const Module& m, kernels::RdbImpl want) {
    if (const auto* rrdb = dynamic_cast<const RRDB*>(&m)) {
      CHECK(rrdb->options.kernels.rdb == want);
      CHECK(rrdb->rdb2->conv3->options.kernels.rdb == want);
      ++blocks;
    }
    for (const auto& [name, child] : m.named_children()) visit(*child, want);
  };
  visit(*u, kernels::RdbImpl::unfused);
  visit(*f, kernels::RdbImpl::fused);
  CHECK(blocks == 4);
  // A typo is an error naming the key, as before.
  c["rdb_impl"] = "fast";
  CHECK_THROWS_WITH(train::parse_config(train::validate_config(c)), Catch::Contains("rdb_impl"));
}

// EDSR through the whole training path: train_tiny.json's PSNR stage with network_g EDSR trains,
// validates and saves BasicSR's keys; `srengine infer --config` with the saved weights upscales a
// photo x4, tiled as untiled (EDSR nf8 nb2 reaches 9 LR pixels, under the 10 px pads).
TEST_CASE("networks/edsr_trains_on_train_tiny_and_infers_tiled") {
  const json edsr = {{"type", "EDSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 2}};
  const json stage = {{"name", "psnr"}, {"type", "sr"}, {"total_iter", 4}, {"optim_g", {{"lr", 1e-3}}},
                      {"pixel_opt", {{"type", "L1Loss"}, {"loss_weight", 1.0}}}};
  json c = test::tiny_train_config("edsr_tiny", {"network_g=" + edsr.dump(),
                                                 "train.stages=" + json::array({stage}).dump()});
  REQUIRE(c["network_g"]["upscale"] == 4);  // the top-level scale reaches EDSR's own key
  REQUIRE(train::run_training(c, {}) == 0);
  const std::string d = test::train_exp_dir("edsr_tiny");
  std::vector<double> losses;
  int vals = 0;
  for (const json& e : test::train_events("edsr_tiny")) {
    if (e["event"] == "train") losses.push_back(e["l_g_pix"]);
    if (e["event"] == "val") vals += e.contains("val_psnr");
  }
  REQUIRE(losses.size() == 2);  // print_freq 2
  for (double l : losses) CHECK((std::isfinite(l) && l > 0));
  CHECK(vals == 1);  // val_freq 4
  const std::string weights = d + "/models/net_g_psnr_final.safetensors";
  const SafetensorsFile saved = read_safetensors(weights);
  std::vector<std::string> keys;
  for (const auto& [k, t] : saved.tensors) keys.push_back(k);
  for (const char* k : {"conv_first.weight", "body.1.conv2.bias", "conv_after_body.weight", "upsample.0.weight",
                        "upsample.2.weight", "conv_last.bias"})
    CHECK(std::find(keys.begin(), keys.end(), k) != keys.end());
  CHECK(keys.size() == 2 + 2 * 4 + 2 + 4 + 2);

  expect_tiled_infer_matches_whole(c, weights, 4);
}

// A generator whose tiles differ from the whole image through the whole training path:
// train_tiny.json's PSNR stage with `network` (taking the top-level scale 4) trains two logged
// iterations, validates once and saves `keys` (BasicSR's); `srengine infer` with --tile says
// why the tiled result differs (`note`, the net's why_tiles_differ), and without --tile says
// nothing and upscales the photo x4.
namespace {

void expect_trains_and_notes_tiling(const std::string& name, const json& network, const std::vector<std::string>& keys,
                                    const std::string& note) {
  const json stage = {{"name", "psnr"}, {"type", "sr"}, {"total_iter", 4}, {"optim_g", {{"lr", 1e-3}}},
                      {"pixel_opt", {{"type", "L1Loss"}, {"loss_weight", 1.0}}}};
  json c = test::tiny_train_config(name, {"network_g=" + network.dump(), "train.stages=" + json::array({stage}).dump()});
  REQUIRE(c["network_g"]["upscale"] == 4);  // the top-level scale reaches the net's own key
  REQUIRE(train::run_training(c, {}) == 0);
  const std::string d = test::train_exp_dir(name);
  std::vector<double> losses;
  int vals = 0;
  for (const json& e : test::train_events(name)) {
    if (e["event"] == "train") losses.push_back(e["l_g_pix"]);
    if (e["event"] == "val") vals += e.contains("val_psnr");
  }
  REQUIRE(losses.size() == 2);
  for (double l : losses) CHECK((std::isfinite(l) && l > 0));
  CHECK(vals == 1);
  const std::string weights = d + "/models/net_g_psnr_final.safetensors";
  const SafetensorsFile saved = read_safetensors(weights);
  std::vector<std::string> saved_keys;
  for (const auto& [k, t] : saved.tensors) saved_keys.push_back(k);
  for (const std::string& k : keys) CHECK(std::find(saved_keys.begin(), saved_keys.end(), k) != saved_keys.end());
  test::TempDir tmp;
  std::ofstream(tmp.file("cfg.json")) << c.dump();
  const std::string photo = std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/skimage_coffee.png";
  const std::string base = test::srengine_exe() + " infer --config " + tmp.file("cfg.json") + " --weights " + weights +
                           " -i " + photo + " --device cpu";
  REQUIRE(std::system((base + " -o " + tmp.file("tiled") + " --tile 64 > " + tmp.file("t.log") + " 2>&1").c_str()) == 0);
  CHECK(test::read_text(tmp.file("t.log")).find(note) != std::string::npos);
  REQUIRE(std::system((base + " -o " + tmp.file("whole") + " > " + tmp.file("w.log") + " 2>&1").c_str()) == 0);
  CHECK(test::read_text(tmp.file("w.log")).find(note) == std::string::npos);
  const data::Image whole = data::read_image(tmp.file("whole") + "/skimage_coffee.png");
  const data::Image in = data::read_image(photo);
  CHECK((whole.width == 4 * in.width && whole.height == 4 * in.height));
}

}  // namespace

// RCAN: its channel attention averages over the whole input.
TEST_CASE("networks/rcan_trains_on_train_tiny_and_notes_tiling") {
  const json rcan = {{"type", "RCAN"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_group", 2},
                     {"num_block", 1}, {"squeeze_factor", 4}};
  expect_trains_and_notes_tiling(
      "rcan_tiny", rcan,
      {"body.1.residual_group.0.rcab.3.attention.3.bias", "body.0.conv.weight", "upsample.2.weight"},
      "RCAN pools over its whole input");
}

// SwinIR: 8-pixel LQ patches, one 8-token image per window of 4, shifted on odd blocks, with
// stochastic depth; validation on whole images of any size (reflect-padded to the window); the
// relative_position_index and attn_mask buffers saved with the weights.
TEST_CASE("networks/swinir_trains_on_train_tiny_and_notes_tiling") {
  const json swinir = {{"type", "SwinIR"},  {"img_size", 8},   {"window_size", 4},   {"depths", {2}},
                       {"embed_dim", 8},    {"num_heads", {2}}, {"mlp_ratio", 2},    {"num_feat", 8},
                       {"upsampler", "pixelshuffle"}, {"drop_path_rate", 0.2}};
  expect_trains_and_notes_tiling(
      "swinir_tiny", swinir,
      {"layers.0.residual_group.blocks.1.attn_mask", "layers.0.residual_group.blocks.0.attn.qkv.weight",
       "layers.0.residual_group.blocks.0.attn.relative_position_index", "patch_embed.norm.bias", "upsample.2.weight"},
      "SwinIR attends within windows");
}

// HAT: SwinIR's setting with a channel attention block in each block and an overlapping
// cross-attention block (key windows of 6 around windows of 4) closing its group; the index
// buffers saved with the weights, no per-block mask.
TEST_CASE("networks/hat_trains_on_train_tiny_and_notes_tiling") {
  const json hat = {{"type", "HAT"},       {"img_size", 8},        {"window_size", 4},     {"depths", {2}},
                    {"embed_dim", 8},      {"num_heads", {2}},     {"mlp_ratio", 2},       {"num_feat", 8},
                    {"compress_ratio", 2}, {"squeeze_factor", 4},  {"upsampler", "pixelshuffle"},
                    {"drop_path_rate", 0.2}};
  expect_trains_and_notes_tiling(
      "hat_tiny", hat,
      {"relative_position_index_SA", "relative_position_index_OCA", "layers.0.residual_group.blocks.1.conv_block.cab.3."
       "attention.3.bias", "layers.0.residual_group.overlap_attn.relative_position_bias_table", "upsample.2.weight"},
      "HAT attends within windows");
}

// x3, as BasicSR trains EDSR and MSRResNet and Real-ESRGAN's SRVGGNetCompact: train_tiny.json at
// scale 3 (its GT-only set makes the LQ by MATLAB bicubic 1/3: 48-pixel GT patches, 16-pixel LQ)
// with each net, both stages (the U-Net discriminator at 48, a multiple of 3 and 8); the top-level
// scale reaches the net's key, validation runs, and `srengine infer` upscales x3, tiled as whole.
TEST_CASE("networks/x3_generators_train_and_infer_tiled") {
  const json nets[] = {
      {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_conv", 2}},
      {{"type", "EDSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 1}},
      {{"type", "MSRResNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 1}}};
  for (const json& net : nets) {
    const std::string type = net["type"], run = "x3_" + type;
    INFO(type);
    json c = test::tiny_train_config(run, {"scale=3", "network_g=" + net.dump(), "datasets.train.gt_size=48",
                                           "train.stages.0.total_iter=4", "train.stages.1.total_iter=2"});
    REQUIRE(c["network_g"]["upscale"] == 3);
    REQUIRE(train::run_training(c, {}) == 0);
    int vals = 0;
    for (const json& e : test::train_events(run)) vals += e["event"] == "val" && e.contains("val_psnr");
    CHECK(vals == 2);  // psnr at 4, gan at its end
    const std::string weights = test::train_exp_dir(run) + "/models/net_g_gan_final.safetensors";
    const SafetensorsFile saved = read_safetensors(weights);
    const std::string last = type == "EDSR"        ? "upsample.0.weight"
                             : type == "MSRResNet" ? "upconv1.weight"
                                                   : "body.6.weight";
    REQUIRE(saved.contains(last));
    CHECK(saved.get(last).size(0) == (type == "SRVGGNetCompact" ? 9 * 3 : 9 * 8));  // channels for pixel_shuffle(3)
    expect_tiled_infer_matches_whole(c, weights, 3);
  }
}

// BasicSR's train_EDSR_Mx3 recipe starts the x3 net from the x2 model with strict_load_g false:
// upsample.0 (x2: 4 nf channels, x3: 9 nf) keeps its initial values. BasicSR warns about it;
// so does train.log, naming the tensor. Strict, the same start is an error naming it.
TEST_CASE("networks/strict_load_false_names_the_tensors_it_skips") {
  const json edsr = {{"type", "EDSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 1}};
  const std::vector<std::string> short_run = {"network_g=" + edsr.dump(), "train.stages.0.total_iter=2",
                                              "train.stages.1.total_iter=2", "datasets.train.gt_size=48"};
  std::vector<std::string> o2 = short_run;
  o2.push_back("scale=2");
  REQUIRE(train::run_training(test::tiny_train_config("edsr_x2_start", o2), {}) == 0);
  const std::string x2 = test::train_exp_dir("edsr_x2_start") + "/models/net_g_gan_final.safetensors";
  std::vector<std::string> o3 = short_run;
  o3.insert(o3.end(), {"scale=3", "path.pretrain_network_g=" + x2, "path.strict_load_g=false"});
  REQUIRE(train::run_training(test::tiny_train_config("edsr_x3_from_x2", o3), {}) == 0);
  const std::string log = test::read_text(test::train_exp_dir("edsr_x3_from_x2") + "/train.log");
  CHECK_THAT(log, Catch::Contains("path.pretrain_network_g: strict_load false: from '" + x2 + "', 2 of the net's ") &&
                      Catch::Contains("tensors not loaded (they keep their initial values), 2 of the file's tensors "
                                      "unused") &&
                      Catch::Contains("shape mismatch: upsample.0.weight") &&
                      Catch::Contains("shape mismatch: upsample.0.bias"));
  o3.back() = "path.strict_load_g=true";
  test::require_error([&] { train::run_training(test::tiny_train_config("edsr_x3_strict", o3), {}); },
                      {"upsample.0.weight", "mis-shaped"});
}
