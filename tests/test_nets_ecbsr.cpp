// ECBSR beyond the float64 parity fixtures (tests/test_nets_parity.cpp, nets/parity_ecbsr_*):
// the parameter counts and keys at BasicSR's option files' sizes, a BasicSR .pth (masks
// included) and a state dict without the masks, a mask that disagrees refused by key, the
// factory's checks, the refusal to guess the options from a weights file, and a training run on the embedded photos through `srengine infer`, tiled and whole.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/safetensors.h"
#include "nets/ecbsr.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "nets/network_from_weights.h"
#include "support/data_support.h"
#include "support/gradcheck.h"
#include "support/train_support.h"
#include "train/config.h"
#include "train/trainer.h"

using namespace sr;
using nlohmann::json;

namespace {

std::string ecbsr_fixture_path(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors";
}

json ecbsr_options(int64_t in, int64_t out, int64_t nb, int64_t nc, bool idt, const std::string& act, int scale) {
  return {{"type", "ECBSR"}, {"num_in_ch", in},  {"num_out_ch", out}, {"num_block", nb},
          {"num_channel", nc}, {"with_idt", idt}, {"act_type", act},   {"scale", scale}};
}

// The x4 Y-channel fixture: its net in float64, its weights (BasicSR's names) and input.
struct EcbsrX4 {
  SafetensorsFile f;
  std::unique_ptr<Module> net;
  NamedTensors weights;
  EcbsrX4() {
    SafetensorsReadOptions as_f64;
    as_f64.dtype = DType::f64;
    f = read_safetensors(ecbsr_fixture_path("ecbsr_x4_y_prelu"), as_f64);
    net = build_network(json::parse(f.metadata.at("net")));
    net->to(DType::f64);
    for (const auto& [k, t] : f.tensors)
      if (k.rfind("weight.", 0) == 0) weights.emplace_back(k.substr(7), t);
  }
  Tensor eval_output() {
    net->eval();
    NoGradGuard no_grad;
    return net->forward(f.get("input"));
  }
};

}  // namespace

// BasicSR's ECBSR option files (train_ECBSR_x2_m4c16_prelu.yml and _x4_m4c16_prelu.yml: 4 blocks
// of 16 channels on the Y channel; _x4_m4c16_prelu_RGB.yml on RGB) and the paper's largest model (m16c64), counted with tools/torch_nets.py's
// ECBSR, whose names are BasicSR's: 47,120 parameters at x4 (BasicSR counts 2,592 more: its masks
// are parameters that do not train; here they are buffers), 39,956 at x2, 2,206,160 for m16c64.
TEST_CASE("nets/ecbsr_param_counts_and_keys") {
  ECBSR x4(1, 1, 4, 16, false, "prelu", 4);
  CHECK(x4.num_parameters() == 47120);
  CHECK(x4.state_dict().size() == 131);
  int64_t masks = 0;
  for (const auto& [k, t] : x4.named_buffers()) masks += t.numel();
  CHECK(masks == 2592);
  CHECK(ECBSR(1, 1, 4, 16, false, "prelu", 2).num_parameters() == 39956);
  CHECK(ECBSR(1, 1, 16, 64, false, "prelu", 4).num_parameters() == 2206160);
  const NamedTensors sd = x4.state_dict();
  const std::vector<std::string> first = {"backbone.0.conv3x3.weight", "backbone.0.conv3x3.bias",
                                          "backbone.0.conv1x1_3x3.k0", "backbone.0.conv1x1_3x3.b0",
                                          "backbone.0.conv1x1_3x3.k1", "backbone.0.conv1x1_3x3.b1",
                                          "backbone.0.conv1x1_sbx.k0", "backbone.0.conv1x1_sbx.b0",
                                          "backbone.0.conv1x1_sbx.scale", "backbone.0.conv1x1_sbx.bias",
                                          "backbone.0.conv1x1_sbx.mask"};
  for (size_t i = 0; i < first.size(); ++i) CHECK(sd[i].first == first[i]);
  CHECK(sd.back().first == "backbone.5.conv1x1_lpl.mask");  // the last block: linear, no act
  // Shapes: conv1x1-conv3x3 twice the block's width, the scales (O, 1, 1, 1).
  for (const auto& [k, t] : sd) {
    if (k == "backbone.1.conv1x1_3x3.k0") CHECK(t.shape() == Shape{32, 16, 1, 1});
    if (k == "backbone.1.conv1x1_3x3.k1") CHECK(t.shape() == Shape{16, 32, 3, 3});
    if (k == "backbone.1.conv1x1_sby.scale") CHECK(t.shape() == Shape{16, 1, 1, 1});
    if (k == "backbone.1.act.weight") CHECK(t.shape() == Shape{16});
  }
}

// A BasicSR .pth ({'params': ...}, masks included) loads strictly and gives PyTorch's output;
// a dict without the masks loads too; a mask with other taps is refused by key.
TEST_CASE("nets/ecbsr_loads_basicsr_pth_and_checks_its_masks") {
  EcbsrX4 x4;
  const std::string pth = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/pth/ecbsr_x4_y_params.pth";
  CHECK(load_basicsr_weights(*x4.net, pth, "params", true) == "params");
  test::expect_close_scaled("ecbsr .pth output", x4.eval_output(), x4.f.get("output"));
  NamedTensors no_masks;
  for (const auto& [k, t] : x4.weights)
    if (k.find(".mask") == std::string::npos) no_masks.emplace_back(k, t);
  auto fresh = build_network(json::parse(x4.f.metadata.at("net")));
  fresh->to(DType::f64);
  fresh->load_state_dict(no_masks, true, "no_masks");
  NamedTensors edited = x4.weights;
  for (auto& [k, t] : edited)
    if (k == "backbone.2.conv1x1_lpl.mask") {
      std::vector<double> v = t.to_vector();
      v[4] = -3;  // the Laplacian's centre
      t = Tensor::from_vector(v, t.shape(), DType::f64);
    }
  test::require_error([&] { fresh->load_state_dict(edited, true, "edited.pth"); },
                      {"edited.pth", "'backbone.2.conv1x1_lpl.mask'", "element 4"});
}

TEST_CASE("nets/ecbsr_options_are_checked") {
  test::require_error([] { build_network(ecbsr_options(1, 1, 2, 8, false, "rrelu", 4)); },
                      {"act_type", "rrelu", "not supported"});
  test::require_error([] { build_network(ecbsr_options(3, 1, 2, 8, false, "prelu", 4)); },
                      {"num_out_ch (1)", "num_in_ch (3)"});
  test::require_error([] { build_network(ecbsr_options(1, 1, 2, 8, false, "prelu", 5)); }, {"scale", "5"});
  json no_idt = ecbsr_options(1, 1, 2, 8, false, "prelu", 4);
  no_idt.erase("with_idt");
  test::require_error([&] { build_network(no_idt); }, {"network ECBSR", "'with_idt' is required"});
  // A weights file does not say with_idt or (without PReLU slopes) act_type.
  EcbsrX4 x4;
  test::require_error([&] { network_from_tensors(x4.weights, "ecbsr.pth"); },
                      {"ecbsr.pth", "ECBSR", "with_idt and act_type", "network_g"});
}

// An RGB ECBSR with with_idt trains on train_tiny (4 iterations), saves BasicSR's keys (masks
// included) and upscales a photo through `srengine infer`: a 3x3-conv net, so tiles with enough
// padding give the whole image's output.
TEST_CASE("networks/ecbsr_trains_on_train_tiny_and_tiles_exactly") {
  const json net = ecbsr_options(3, 3, 2, 8, true, "prelu", 4);
  const json stage = {{"name", "psnr"}, {"type", "sr"}, {"total_iter", 4}, {"optim_g", {{"lr", 1e-3}}},
                      {"pixel_opt", {{"type", "L1Loss"}, {"loss_weight", 1.0}}}};
  const std::string run = "ecbsr_tiny";
  json c = test::tiny_train_config(run, {"network_g=" + net.dump(), "train.stages=" + json::array({stage}).dump()});
  REQUIRE(train::run_training(c, {}) == 0);
  std::vector<double> losses;
  for (const json& e : test::train_events(run))
    if (e["event"] == "train") losses.push_back(e["l_g_pix"]);
  REQUIRE(!losses.empty());
  for (double l : losses) CHECK((std::isfinite(l) && l > 0));
  const std::string weights = test::train_exp_dir(run) + "/models/net_g_psnr_final.safetensors";
  const SafetensorsFile saved = read_safetensors(weights);
  CHECK(saved.contains("backbone.3.conv1x1_sbx.mask"));
  CHECK(saved.contains("backbone.1.conv1x1_3x3.k1"));
  test::TempDir tmp;
  std::ofstream(tmp.file("cfg.json")) << c.dump();
  const std::string photo = std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/skimage_coffee.png";
  const std::string base = test::srengine_exe() + " infer --config " + tmp.file("cfg.json") + " --weights " + weights +
                           " -i " + photo + " --device cpu --ext png";
  REQUIRE(std::system((base + " -o " + tmp.file("tiled") + " --tile 48 --tile-pad 8 --no-blend > " +
                       tmp.file("t.log") + " 2>&1").c_str()) == 0);
  REQUIRE(std::system((base + " -o " + tmp.file("whole") + " > " + tmp.file("w.log") + " 2>&1").c_str()) == 0);
  const data::Image tiled = data::read_image(tmp.file("tiled") + "/skimage_coffee.png");
  const data::Image whole = data::read_image(tmp.file("whole") + "/skimage_coffee.png");
  const data::Image in = data::read_image(photo);
  CHECK((whole.width == 4 * in.width && whole.height == 4 * in.height));
  REQUIRE(tiled.pixels.size() == whole.pixels.size());
  int64_t differ = 0;
  for (size_t i = 0; i < whole.pixels.size(); ++i) differ += tiled.pixels[i] != whole.pixels[i];
  CHECK(differ <= (int64_t)whole.pixels.size() / 10000);  // 8-bit rounding of float sums in another order
}

// configs/ecbsr_x4_quickstart.json as it is, shortened to a few iterations: BasicSR's RGB
// ECBSR-M4C16 recipe on the embedded photos.
TEST_CASE("networks/ecbsr_quickstart_config_trains") {
  const std::string root = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/train";
  const std::string run = "ecbsr_quickstart_short";
  std::filesystem::remove_all(root + "/" + run);
  const json c = train::load_config(
      std::string(SRENGINE_SOURCE_DIR) + "/configs/ecbsr_x4_quickstart.json",
      {"train.stages.0.total_iter=6", "train.stages.0.scheduler.periods=[6]", "device=cpu", "name=" + run,
       "path.experiments_root=" + root, "val.val_freq=6",
       "datasets.val.meta_info_file=" + std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/val_one.txt"});
  CHECK(c["network_g"]["type"] == "ECBSR");
  REQUIRE(train::run_training(c, {}) == 0);
  const SafetensorsFile w = read_safetensors(root + "/" + run + "/models/net_g_psnr_final.safetensors");
  CHECK(w.get("backbone.0.conv3x3.weight").shape() == Shape{16, 3, 3, 3});
  CHECK(w.get("backbone.5.conv3x3.weight").shape() == Shape{48, 16, 3, 3});
}
