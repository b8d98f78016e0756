// HAT beyond the float64 parity fixtures (tests/test_nets_parity.cpp, nets/parity_hat_*): the
// parameter counts and keys of HAT-S and HAT at their released options, the weights as HAT's
// .pth files hold them (with and without the relative position index buffers) and back through
// safetensors, an index buffer that disagrees refused by name, the architecture read off a
// weights file, the factory's checks of HAT's options, stochastic depth, and the quantisation
// refusal.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "nets/factory.h"
#include "nets/hat.h"
#include "nets/load_weights.h"
#include "nets/network_from_weights.h"
#include "quant/conv_walk.h"
#include "support/data_support.h"
#include "support/gradcheck.h"

using namespace sr;
using nlohmann::json;

namespace {

std::string hat_fixture(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors";
}
std::string hat_pth(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/pth/" + name + ".pth";
}

// The fixture's state dict (its "weight." entries) under HAT's bare names.
NamedTensors hat_fixture_weights(const SafetensorsFile& f) {
  NamedTensors out;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("weight.", 0) == 0) out.emplace_back(k.substr(7), t);
  return out;
}

double hat_largest_difference(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

json small_hat(json extra = json::object()) {
  json o = {{"type", "HAT"},        {"upscale", 2},          {"img_size", 8},       {"window_size", 4},
            {"depths", {2}},        {"embed_dim", 8},        {"num_heads", {2}},    {"mlp_ratio", 2.0},
            {"compress_ratio", 2},  {"squeeze_factor", 4},   {"upsampler", "pixelshuffle"}, {"num_feat", 8}};
  for (auto it = extra.begin(); it != extra.end(); ++it) o[it.key()] = it.value();
  return o;
}

// The x2 fixture's net in float64 with its weights, and its PyTorch output.
struct HatX2 {
  SafetensorsFile f;
  json opt;
  std::unique_ptr<Module> net;
  HatX2() {
    SafetensorsReadOptions as_f64;
    as_f64.dtype = DType::f64;
    f = read_safetensors(hat_fixture("hat_x2"), as_f64);
    opt = json::parse(f.metadata.at("net"));
    net = build_network(opt);
    net->to(DType::f64);
  }
  // The output in evaluation mode (the fixture's is from training mode, the same function at
  // drop_path_rate 0).
  Tensor output() {
    net->eval();
    NoGradGuard no_grad;
    return net->forward(f.get("input"));
  }
};

}  // namespace

// HAT's released networks (options/train/train_HAT-S_SRx3_from_scratch.yml, train_HAT_SRx2_*,
// train_HAT-L_*, at x4), counted with tools/torch_nets.py's HAT, whose names are HAT's: HAT-S x4
// 9,621,183, HAT x4 20,772,507 and HAT-L x4 40,846,575 parameters; the two index buffers are in
// the state dict, no per-block mask.
TEST_CASE("nets/hat_param_counts_and_keys") {
  json hat_s = {{"type", "HAT"},          {"upscale", 4},          {"in_chans", 3},        {"img_size", 64},
                {"window_size", 16},      {"compress_ratio", 24},  {"squeeze_factor", 24}, {"conv_scale", 0.01},
                {"overlap_ratio", 0.5},   {"img_range", 1.0},      {"depths", {6, 6, 6, 6, 6, 6}},
                {"embed_dim", 144},       {"num_heads", {6, 6, 6, 6, 6, 6}}, {"mlp_ratio", 2},
                {"upsampler", "pixelshuffle"}, {"resi_connection", "1conv"}};
  const auto small = build_network(hat_s);
  CHECK(small->num_parameters() == 9621183);
  json hat = hat_s;
  hat["embed_dim"] = 180;
  hat["compress_ratio"] = 3;
  hat["squeeze_factor"] = 30;
  const auto net = build_network(hat);
  CHECK(net->num_parameters() == 20772507);
  json hat_l = hat;  // HAT-L: 12 RHAGs
  hat_l["depths"] = json::array({6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6});
  hat_l["num_heads"] = hat_l["depths"];
  CHECK(build_network(hat_l)->num_parameters() == 40846575);
  CHECK(net->output_scale() == 4);
  CHECK(net->why_tiles_differ().find("overlapping windows") != std::string::npos);
  std::map<std::string, Shape> sd;
  for (const auto& [k, t] : net->state_dict()) sd[k] = t.shape();
  CHECK(net->state_dict().front().first == "relative_position_index_SA");
  CHECK(sd.at("relative_position_index_SA") == Shape({256, 256}));
  CHECK(sd.at("relative_position_index_OCA") == Shape({256, 576}));  // wse = 16 + int(16 * 0.5) = 24
  const std::string b = "layers.5.residual_group.blocks.5.";
  CHECK(sd.at(b + "attn.relative_position_bias_table") == Shape({961, 6}));
  CHECK(sd.at(b + "conv_block.cab.0.weight") == Shape({60, 180, 3, 3}));
  CHECK(sd.at(b + "conv_block.cab.2.weight") == Shape({180, 60, 3, 3}));
  CHECK(sd.at(b + "conv_block.cab.3.attention.1.weight") == Shape({6, 180, 1, 1}));
  CHECK(sd.at(b + "conv_block.cab.3.attention.3.weight") == Shape({180, 6, 1, 1}));
  CHECK(sd.at(b + "mlp.fc1.weight") == Shape({360, 180}));
  CHECK(sd.count(b + "attn_mask") == 0);
  CHECK(sd.count(b + "attn.relative_position_index") == 0);
  const std::string o = "layers.0.residual_group.overlap_attn.";
  CHECK(sd.at(o + "relative_position_bias_table") == Shape({39 * 39, 6}));
  CHECK(sd.at(o + "qkv.weight") == Shape({540, 180}));
  CHECK(sd.at(o + "proj.weight") == Shape({180, 180}));
  CHECK(sd.at(o + "mlp.fc2.weight") == Shape({180, 360}));
  CHECK(sd.at("layers.0.conv.weight") == Shape({180, 180, 3, 3}));
  CHECK(sd.at("conv_before_upsample.0.weight") == Shape({64, 180, 3, 3}));
  CHECK(sd.at("upsample.2.weight") == Shape({256, 64, 3, 3}));
  CHECK(sd.at("conv_last.weight") == Shape({3, 64, 3, 3}));
}

// HAT's releases: {'params': state_dict} written by torch.save, with the int64 index buffers of
// its newer files or without them as its older ones; both load strictly into the fixture's net
// and give the fixture's weights and output; the state dict goes out through safetensors (with
// the buffers, as HAT's newer files) and back.
TEST_CASE("nets/hat_weights_round_trip_pth_and_safetensors") {
  HatX2 x2;
  const Tensor expected = x2.f.get("output");
  for (const char* name : {"hat_x2_params", "hat_x2_no_index"}) {
    INFO(name);
    auto net = build_network(x2.opt);
    net->to(DType::f64);
    CHECK(load_basicsr_weights(*net, hat_pth(name), "params", true) == "params");
    net->eval();
    NoGradGuard no_grad;
    test::expect_close_scaled(std::string(name) + " output", net->forward(x2.f.get("input")), expected);
  }
  test::TempDir tmp;
  x2.net->load_state_dict(hat_fixture_weights(x2.f), true, "fixture");
  write_safetensors(tmp.file("hat.safetensors"), x2.net->state_dict());
  const SafetensorsFile back = read_safetensors(tmp.file("hat.safetensors"));
  CHECK(back.contains("relative_position_index_SA"));
  CHECK(back.contains("relative_position_index_OCA"));
  auto again = build_network(x2.opt);
  again->to(DType::f64);
  CHECK(load_basicsr_weights(*again, tmp.file("hat.safetensors"), "auto", true) == "");
  again->eval();
  NoGradGuard no_grad;
  CHECK(hat_largest_difference(again->forward(x2.f.get("input")), x2.output()) == 0);
}

// The index buffers follow from window_size and overlap_ratio: a file whose buffer holds
// anything else is refused by key (strict or not), and so is one of another shape.
TEST_CASE("nets/hat_index_buffer_that_disagrees_is_refused") {
  HatX2 x2;
  NamedTensors w = hat_fixture_weights(x2.f);
  for (auto& [k, t] : w)
    if (k == "relative_position_index_OCA") {
      std::vector<double> v = t.to_vector();
      v[7] += 1;
      t = Tensor::from_vector(v, t.shape(), DType::f64);
    }
  test::require_error([&] { x2.net->load_state_dict(w, true, "edited.pth"); },
                      {"edited.pth", "'relative_position_index_OCA'", "element 7", "another architecture"});
  test::require_error([&] { x2.net->load_state_dict(w, false, "edited.pth"); }, {"'relative_position_index_OCA'"});
  NamedTensors small = hat_fixture_weights(x2.f);
  for (auto& [k, t] : small)
    if (k == "relative_position_index_SA") t = Tensor::zeros({4, 4}, DType::f64);
  test::require_error([&] { x2.net->load_state_dict(small, true, "small.pth"); },
                      {"relative_position_index_SA", "[4, 4]", "[16, 16]"});
  // The values PyTorch's HAT stores: calculate_rpi_oca's, negative entries included.
  const Tensor oca = dynamic_cast<HAT&>(*x2.net).relative_position_index_OCA;
  CHECK(hat_largest_difference(oca, x2.f.get("weight.relative_position_index_OCA")) == 0);
  CHECK(oca.to_vector().front() < 0);
}

// The options come back from the names and shapes of the x2 fixture (img_range, conv_scale,
// qk_scale and img_size are taken as HAT's releases set them, which the fixture's are or, for
// img_size 8, behave alike), and the net built from them loads the .pth strictly and gives
// PyTorch's output; the file opens without a config through detect_weights_architecture.
TEST_CASE("nets/hat_architecture_from_weights") {
  HatX2 x2;
  const json found = network_from_tensors(hat_fixture_weights(x2.f), "hat_x2");
  INFO(found.dump());
  for (const char* key : {"upscale", "in_chans", "window_size", "embed_dim", "depths", "num_heads", "compress_ratio",
                          "squeeze_factor", "num_feat", "upsampler"})
    CHECK(found.at(key) == x2.opt.at(key));
  CHECK(found.at("overlap_ratio").get<double>() == 0.5);
  CHECK(found.at("mlp_ratio").get<double>() == 2.0);
  CHECK(found.at("resi_connection") == "1conv");
  const WeightsArchitecture a = detect_weights_architecture(hat_pth("hat_x2_no_index"));
  CHECK(a.network_g == found);
  auto net = build_network(found);
  net->to(DType::f64);
  load_basicsr_weights(*net, hat_pth("hat_x2_no_index"), "auto", true);
  net->eval();
  NoGradGuard no_grad;
  test::expect_close_scaled("from weights", net->forward(x2.f.get("input")), x2.f.get("output"));

  // `srengine infer --weights` on HAT's .pth, no config: the architecture from the shapes, a whole
  // photograph upscaled x2.
  test::TempDir tmp;
  const std::string photo = std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/skimage_coffee.png";
  const std::string cmd = test::srengine_exe() + " infer --weights " + hat_pth("hat_x2_params") + " -i " + photo +
                          " -o " + tmp.path() + " --device cpu > " + tmp.file("log.txt") + " 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  INFO(test::read_text(tmp.file("log.txt")));
  const data::Image in = data::read_image(photo), out = data::read_image(tmp.file("skimage_coffee.png"));
  CHECK((out.width == 2 * in.width && out.height == 2 * in.height));

  // The overlap_ratio written for a file's key window gives that window back under HAT's
  // int(ws * ratio) for every window below 64 and key window up to 5 ws (the plain division
  // fails 83 of these pairs, e.g. 11 / 41: 11 * (30 / 11) = 29.999...).
  int wrong = 0;
  for (int ws = 2; ws < 64; ++ws)
    for (int wse = ws; wse <= 5 * ws; wse += 2)
      wrong += hat_overlap_window_size(ws, hat_overlap_ratio_for(ws, wse)) != wse;
  CHECK(wrong == 0);
  CHECK(hat_overlap_ratio_for(16, 24) == 0.5);  // the released models' ratio as it is

  // Other layouts: identity, x3 and x8 heads, another overlap, no patch_norm, no qkv bias.
  const json layouts[] = {
      small_hat({{"upscale", 3}, {"resi_connection", "identity"}, {"depths", {2, 1}}, {"num_heads", {2, 4}}}),
      small_hat({{"upscale", 8}, {"mlp_ratio", 1.5}, {"overlap_ratio", 1.0}}),
      small_hat({{"patch_norm", false}, {"qkv_bias", false}, {"compress_ratio", 3}, {"squeeze_factor", 3}}),
  };
  for (const json& opt : layouts) {
    INFO(opt.dump());
    const auto built = build_network(opt);
    const json back = network_from_tensors(built->state_dict(), "layout");
    INFO(back.dump());
    for (const char* key : {"upscale", "resi_connection", "depths", "num_heads", "qkv_bias", "patch_norm"})
      if (opt.contains(key)) CHECK(back.at(key) == opt.at(key));
    build_network(back)->load_state_dict(built->state_dict(), true, "layout");  // strict: every key and shape
  }
  // A window of 64 or more: whether the training patch covered one window is not in the file.
  // (The tables of a 64 window, ws 64 and wse 96, put into a small net's state dict.)
  NamedTensors wide = build_network(small_hat())->state_dict();
  for (auto& [k, t] : wide) {
    if (k.find("attn.relative_position_bias_table") != std::string::npos) t = Tensor::zeros({127 * 127, 2});
    if (k.find("overlap_attn.relative_position_bias_table") != std::string::npos) t = Tensor::zeros({159 * 159, 2});
  }
  test::require_error([&] { network_from_tensors(wide, "wide.pth"); },
                      {"wide.pth", "window_size 64", "img_size", "--config"});
}

TEST_CASE("nets/hat_options_are_checked") {
  test::require_error([] { build_network(small_hat({{"upsampler", ""}})); }, {"HAT", "\"pixelshuffle\"", "\"\""});
  test::require_error([] { build_network(small_hat({{"upsampler", "pixelshuffledirect"}})); },
                      {"HAT", "upsampler", "\"pixelshuffledirect\""});
  // ws 4 at overlap_ratio 0.25: wse 5, an odd overlap (HAT's unfold would give fewer key windows).
  test::require_error([] { build_network(small_hat({{"overlap_ratio", 0.25}})); },
                      {"overlap_ratio 0.25", "window_size 4", "overlapping window of 5", "odd"});
  test::require_error([] { build_network(small_hat({{"ape", true}})); }, {"'ape'", "absolute position"});
  test::require_error([] { build_network(small_hat({{"drop_rate", 0.1}})); }, {"HAT", "'drop_rate'", "0.1"});
  test::require_error([] { build_network(small_hat({{"attn_drop_rate", 0.1}})); }, {"'attn_drop_rate'"});
  test::require_error([] { build_network(small_hat({{"patch_size", 4}})); }, {"'patch_size'", "4"});
  test::require_error([] { build_network(small_hat({{"img_size", 3}})); }, {"img_size 3x3", "window_size 4"});
  test::require_error([] { build_network(small_hat({{"resi_connection", "3conv"}})); }, {"resi_connection", "3conv"});
  test::require_error([] { build_network(small_hat({{"num_heads", {3}}})); }, {"embed_dim 8", "num_heads[0] 3"});
  test::require_error([] { build_network(small_hat({{"squeeze_factor", 9}})); }, {"squeeze_factor 9"});
  test::require_error([] { build_network(small_hat({{"compress_ratio", 9}})); }, {"compress_ratio 9"});
  test::require_error([] { build_network(small_hat({{"upscale", 5}})); }, {"HAT", "5"});
  test::require_error([] { build_network(small_hat({{"drop_path_rate", 1.0}})); }, {"drop_path_rate", "[0, 1)"});
  test::require_error([] { build_network(small_hat({{"conv_scal", 0.1}})); }, {"unknown key 'conv_scal'",
                                                                             "conv_scale"});
  // HAT's defaults (no upsampler) are refused by name; checkpointing is accepted (memory only);
  // a training patch of exactly one window drops the shift, as HAT's blocks do.
  test::require_error([] { build_network(json{{"type", "HAT"}}); }, {"HAT", "upsampler"});
  CHECK(build_network(small_hat({{"img_size", {8, 16}}, {"use_checkpoint", true}}))->output_scale() == 2);
  const auto one_window = build_network(small_hat({{"img_size", 4}}));
  const auto& rhag = dynamic_cast<RHAG&>((*dynamic_cast<HAT&>(*one_window).layers)[0]);
  CHECK(dynamic_cast<HAB&>((*rhag.blocks)[1]).shift == 0);
  const auto shifted = build_network(small_hat());
  const auto& rhag2 = dynamic_cast<RHAG&>((*dynamic_cast<HAT&>(*shifted).layers)[0]);
  CHECK(dynamic_cast<HAB&>((*rhag2.blocks)[1]).shift == 2);
  test::require_error([&] { shifted->forward(Tensor::zeros({1, 3, 2, 2})); }, {"HAT", "2x2", "window_size 4"});
}

// Stochastic depth drops the attention and mlp branches per sample (never the conv branch),
// keyed to the run's seed, the iteration and the rank (set_random_step); evaluation never drops.
TEST_CASE("nets/hat_stochastic_depth") {
  auto dropping = build_network(small_hat({{"depths", {4}}, {"drop_path_rate", 0.9}}));
  auto plain = build_network(small_hat({{"depths", {4}}, {"drop_path_rate", 0.0}}));
  plain->load_state_dict(dropping->state_dict(), true);
  auto& stepped = dynamic_cast<HAT&>(*dropping);
  std::mt19937_64 rng(test::fresh_seed());
  const Tensor x = test::random_tensor(rng, Shape({6, 3, 8, 8}), 0, 1, {}, 1e-2, false).to(DType::f32);
  NoGradGuard no_grad;
  dropping->train();
  plain->train();
  stepped.set_random_step(7);
  const Tensor a = dropping->forward(x);
  stepped.set_random_step(8);
  const Tensor b = dropping->forward(x);
  stepped.set_random_step(7);
  const Tensor again = dropping->forward(x);
  stepped.set_random_step(7, 1);
  const Tensor rank1 = dropping->forward(x);
  CHECK(hat_largest_difference(a, again) == 0);
  CHECK(hat_largest_difference(a, b) > 0);
  CHECK(hat_largest_difference(a, rank1) > 0);
  CHECK(hat_largest_difference(a, plain->forward(x)) > 0);
  dropping->eval();
  plain->eval();
  CHECK(hat_largest_difference(dropping->forward(x), plain->forward(x)) == 0);

  // The rates: HAT's torch.linspace(0, drop_path_rate, sum(depths)) over every block of every
  // group in order (2 groups of 3 here: 0, 0.18, ..., 0.9).
  auto two_groups = build_network(small_hat({{"depths", {3, 3}}, {"num_heads", {2, 2}}, {"drop_path_rate", 0.9}}));
  std::vector<double> rates;
  for (size_t i = 0; i < dynamic_cast<HAT&>(*two_groups).layers->size(); ++i) {
    const auto& g = dynamic_cast<RHAG&>((*dynamic_cast<HAT&>(*two_groups).layers)[i]);
    for (size_t j = 0; j < g.blocks->size(); ++j) rates.push_back(dynamic_cast<const HAB&>((*g.blocks)[j]).drop_path);
  }
  REQUIRE(rates.size() == 6);
  for (size_t k = 0; k < rates.size(); ++k) CHECK(rates[k] == Approx(0.9 * (double)k / 5).margin(1e-7));

  // Only the attention and MLP branches are dropped: with them zeroed (attn.proj and mlp.fc2),
  // a training-mode forward that drops blocks equals the evaluation-mode one, which it would
  // not if the conv branch (conv_scale * CAB) were dropped too.
  for (auto& [k, t] : dropping->state_dict())
    if (k.find("blocks.") != std::string::npos && (k.find("attn.proj.") != std::string::npos || k.find("mlp.fc2.") != std::string::npos))
      assign_tensor_in_place(t, Tensor::zeros(t.shape(), t.dtype()));
  dropping->train();
  stepped.set_random_step(7);
  const Tensor dropped = dropping->forward(x);
  dropping->eval();
  CHECK(hat_largest_difference(dropped, dropping->forward(x)) == 0);
}

// int8 quantisation does not map HAT (its attention and MLP are not convolutions): refused by
// name. (Its ONNX export: onnx/hat_*.)
TEST_CASE("nets/hat_quantize_is_refused_by_name") {
  const auto net = build_network(small_hat());
  test::require_error([&] { quant::network_shape(*net); }, {"int8 quantisation", "HAT", "not supported"});
}
