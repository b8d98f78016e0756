// SwinIR beyond the float64 parity fixtures (tests/test_nets_parity.cpp): BasicSR's parameter
// count and keys at SwinIR-M's options, the architecture read off a weights file's names and
// shapes, the factory's checks of BasicSR's options, and stochastic depth (drop_path_rate).
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "nets/factory.h"
#include "nets/network_from_weights.h"
#include "nets/swinir.h"
#include "support/data_support.h"
#include "support/gradcheck.h"

using namespace sr;
using nlohmann::json;

namespace {

std::string swinir_fixture(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors";
}

// The fixture's state dict (its "weight." entries) under BasicSR's bare names.
NamedTensors swinir_fixture_weights(const SafetensorsFile& f) {
  NamedTensors out;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("weight.", 0) == 0) out.emplace_back(k.substr(7), t);
  return out;
}

double largest_difference(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

json small_swinir(json extra = json::object()) {
  json o = {{"type", "SwinIR"},     {"upscale", 2},        {"img_size", 8},     {"window_size", 4},
            {"depths", {2}},        {"embed_dim", 8},      {"num_heads", {2}},  {"mlp_ratio", 2.0},
            {"upsampler", "pixelshuffle"}, {"num_feat", 8}};
  for (auto it = extra.begin(); it != extra.end(); ++it) o[it.key()] = it.value();
  return o;
}

}  // namespace

// BasicSR's train_SwinIR_SRx4_scratch_P48W8 network: SwinIR-M, 11,900,199 parameters (counted
// with tools/torch_nets.py's SwinIR, whose names are BasicSR's); the buffers are in the state dict.
TEST_CASE("nets/swinir_m_param_count_and_keys") {
  const json opt = {{"type", "SwinIR"},        {"upscale", 4},           {"in_chans", 3},
                    {"img_size", 48},          {"window_size", 8},       {"img_range", 1.0},
                    {"depths", {6, 6, 6, 6, 6, 6}}, {"embed_dim", 180},  {"num_heads", {6, 6, 6, 6, 6, 6}},
                    {"mlp_ratio", 2},          {"upsampler", "pixelshuffle"}, {"resi_connection", "1conv"}};
  const auto net = build_network(opt);
  CHECK(net->num_parameters() == 11900199);
  CHECK(net->output_scale() == 4);
  CHECK_FALSE(net->why_tiles_differ().empty());
  std::map<std::string, Shape> sd;
  for (const auto& [k, t] : net->state_dict()) sd[k] = t.shape();
  CHECK(sd.at("patch_embed.norm.weight") == Shape({180}));
  CHECK(sd.at("layers.5.residual_group.blocks.5.attn.relative_position_bias_table") == Shape({225, 6}));
  CHECK(sd.at("layers.0.residual_group.blocks.0.attn.relative_position_index") == Shape({64, 64}));
  CHECK(sd.at("layers.0.residual_group.blocks.1.attn_mask") == Shape({36, 64, 64}));  // (48 / 8)^2 windows
  CHECK(sd.count("layers.0.residual_group.blocks.0.attn_mask") == 0);                  // unshifted: none
  CHECK(sd.at("layers.2.residual_group.blocks.3.mlp.fc1.weight") == Shape({360, 180}));
  CHECK(sd.at("conv_before_upsample.0.weight") == Shape({64, 180, 3, 3}));
  CHECK(sd.at("upsample.2.weight") == Shape({256, 64, 3, 3}));
  CHECK(sd.at("conv_last.weight") == Shape({3, 64, 3, 3}));
}

// The options come back from the names and shapes of the fixtures' state dicts (the x3 fixture's
// img_range 255 and qk_scale are not in its weights, the x1 net's head needs a config, and so
// does the x4 nearest+conv net, whose training patch is one window: its tables hold the patch's
// window, which need not be the net's window_size), and the net built from them loads the file
// strictly and gives PyTorch's output.
TEST_CASE("nets/swinir_architecture_from_weights") {
  for (const char* name : {"swinir_x2", "swinir_x4_direct_gray"}) {
    INFO(name);
    SafetensorsReadOptions as_f64;
    as_f64.dtype = DType::f64;
    const SafetensorsFile f = read_safetensors(swinir_fixture(name), as_f64);
    const json given = json::parse(f.metadata.at("net"));
    const json found = network_from_tensors(swinir_fixture_weights(f), name);
    for (const char* key : {"upscale", "in_chans", "window_size", "embed_dim", "depths", "num_heads", "upsampler"})
      if (given.contains(key)) CHECK(found.at(key) == given.at(key));
    if (given["upsampler"] != "pixelshuffledirect") CHECK(found.at("num_feat") == given.at("num_feat"));
    CHECK(found.at("img_size") == given.at("img_size"));
    CHECK(found.at("mlp_ratio").get<double>() == given.at("mlp_ratio").get<double>());
    CHECK(found.at("patch_norm") == given.value("patch_norm", true));
    auto net = build_network(found);
    net->to(DType::f64);
    net->load_state_dict(swinir_fixture_weights(f), true, name);
    net->eval();
    NoGradGuard no_grad;
    test::expect_close_scaled(std::string(name) + " output", net->forward(f.get("input")), f.get("output"));
  }
  const SafetensorsFile x1 = read_safetensors(swinir_fixture("swinir_x1"));
  test::require_error([&] { network_from_tensors(swinir_fixture_weights(x1), "swinir_x1"); },
                      {"swinir_x1", "SwinIR without an upsampling head", "img_range", "--config"});
  const SafetensorsFile one_window = read_safetensors(swinir_fixture("swinir_x4_nearest"));
  test::require_error([&] { network_from_tensors(swinir_fixture_weights(one_window), "swinir_x4_nearest"); },
                      {"swinir_x4_nearest", "blocks.1 (a shifted block) has no attn_mask", "window_size", "--config"});
}

TEST_CASE("nets/swinir_options_are_checked") {
  test::require_error([] { build_network(small_swinir({{"drop_rate", 0.1}})); }, {"SwinIR", "'drop_rate'", "0.1"});
  test::require_error([] { build_network(small_swinir({{"ape", true}})); }, {"'ape'", "absolute position"});
  test::require_error([] { build_network(small_swinir({{"patch_size", 4}})); }, {"'patch_size'", "4"});
  test::require_error([] { build_network(small_swinir({{"upsampler", "pixel"}})); }, {"upsampler", "\"pixel\""});
  test::require_error([] { build_network(small_swinir({{"upsampler", "nearest+conv"}})); }, {"x4 only", "2"});
  test::require_error([] { build_network(small_swinir({{"upsampler", ""}})); }, {"upscale must be 1", "2"});
  test::require_error([] { build_network(small_swinir({{"num_heads", {3}}})); }, {"embed_dim 8", "num_heads 3"});
  test::require_error([] { build_network(small_swinir({{"depths", {2, 2}}})); }, {"depths", "num_heads", "2", "1"});
  test::require_error([] { build_network(small_swinir({{"drop_path_rate", 1.0}})); }, {"drop_path_rate", "[0, 1)"});
  test::require_error([] { build_network(small_swinir({{"resi_connection", "2conv"}})); }, {"resi_connection", "2conv"});
  test::require_error([] { build_network(small_swinir({{"img_size", 6}})); }, {"img_size 6x6", "window_size 4"});
  test::require_error([] { build_network(small_swinir({{"window_sise", 8}})); }, {"unknown key 'window_sise'",
                                                                                  "window_size"});
  // BasicSR's img_size may be a list; gradient checkpointing is accepted (it changes memory only).
  CHECK(build_network(small_swinir({{"img_size", {8, 16}}, {"use_checkpoint", true}}))->output_scale() == 2);
  // An input too small for the reflect padding to the window is named.
  auto net = build_network(small_swinir());
  test::require_error([&] { net->forward(Tensor::zeros({1, 3, 2, 2})); }, {"SwinIR", "2x2", "window_size 4"});
}

// Stochastic depth: in training each sample skips each block's branches with the block's
// probability (linear from 0 to drop_path_rate over the blocks) and the kept ones are scaled by
// 1 / (1 - p); the draws depend on the run's seed and the iteration only (set_random_step), so a
// resumed run draws the same; evaluation never drops.
TEST_CASE("nets/swinir_stochastic_depth") {
  const json opt = small_swinir({{"depths", {4}}, {"drop_path_rate", 0.9}});
  auto dropping = build_network(opt);
  auto plain = build_network(small_swinir({{"depths", {4}}, {"drop_path_rate", 0.0}}));
  plain->load_state_dict(dropping->state_dict(), true);
  auto& stepped = dynamic_cast<SwinIR&>(*dropping);
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
  CHECK(largest_difference(a, again) == 0);  // the same iteration draws the same masks
  CHECK(largest_difference(a, b) > 0);       // another iteration draws others
  CHECK(largest_difference(a, rank1) > 0);   // and so does another rank
  CHECK(largest_difference(a, plain->forward(x)) > 0);
  dropping->eval();
  plain->eval();
  CHECK(largest_difference(dropping->forward(x), plain->forward(x)) == 0);  // no dropping in evaluation
}

// drop_path itself: over 4000 samples about p of them are zeroed (within 5 standard deviations)
// and every kept one is exactly the branch times 1 / (1 - p); the same (seed, stream, index)
// draws the same samples, another index others.
TEST_CASE("nets/swinir_drop_path_keeps_and_scales") {
  const int64_t B = 4000;
  const double p = 0.3;
  std::mt19937_64 rng(test::fresh_seed());
  const Tensor y = test::random_tensor(rng, Shape({B, 3, 2}), 0.5, 1.5, {}, 1e-2, false).to(DType::f32);
  const Tensor out = drop_path(y, p, 11, 5, 1 << 21);
  const auto vy = y.to_vector(), vo = out.to_vector();
  const float scale = (float)(1.0 / (1.0 - p));
  int64_t dropped = 0;
  for (int64_t b = 0; b < B; ++b) {
    const bool zero = vo[(size_t)(b * 6)] == 0;
    dropped += zero;
    for (int64_t k = 0; k < 6; ++k) {
      const size_t i = (size_t)(b * 6 + k);
      REQUIRE(vo[i] == (zero ? 0.0 : (double)((float)vy[i] * scale)));  // the whole sample, one way
    }
  }
  const double sd = std::sqrt(p * (1 - p) / (double)B);
  CHECK(std::abs((double)dropped / (double)B - p) < 5 * sd);
  CHECK(largest_difference(drop_path(y, p, 11, 5, 1 << 21), out) == 0);
  CHECK(largest_difference(drop_path(y, p, 11, 5, 2 << 21), out) > 0);
  test::require_error([&] { drop_path(y, 1.0, 11, 5, 0); }, {"drop_path", "1"});
}

// The options come back from the names and shapes of other layouts too: 3conv with an x3
// pixelshuffle head, x8 (three pixel-shuffle steps), a one-step head at x3, and a training patch
// that is not square (the mask's 8 windows as 2 x 4); heads srengine does not build are named.
TEST_CASE("nets/swinir_architecture_of_other_layouts") {
  const json layouts[] = {
      small_swinir({{"upscale", 3}, {"resi_connection", "3conv"}, {"depths", {2, 1}}, {"num_heads", {2, 4}}}),
      small_swinir({{"upscale", 8}, {"mlp_ratio", 1.5}}),
      small_swinir({{"upscale", 3}, {"upsampler", "pixelshuffledirect"}, {"qkv_bias", false}}),
      small_swinir({{"img_size", {8, 16}}, {"patch_norm", false}}),
  };
  for (const json& opt : layouts) {
    INFO(opt.dump());
    const auto net = build_network(opt);
    const json found = network_from_tensors(net->state_dict(), "layout");
    INFO(found.dump());
    for (const char* key : {"upscale", "resi_connection", "depths", "num_heads", "upsampler", "qkv_bias", "patch_norm"})
      if (opt.contains(key)) CHECK(found.at(key) == opt.at(key));
    const auto rebuilt = build_network(found);
    rebuilt->load_state_dict(net->state_dict(), true, "layout");  // strict: every key and shape
    CHECK(rebuilt->output_scale() == net->output_scale());
  }
  test::require_error([] { build_network(small_swinir({{"upscale", 8}, {"upsampler", "pixelshuffledirect"}})); },
                      {"pixelshuffledirect", "2, 3 or 4", "8"});
  test::require_error([] { build_network(small_swinir({{"img_size", 3}})); },
                      {"img_size 3x3", "window_size 4", "3x3 windows"});
  // An x2 nearest+conv head (conv_up1 only) is not BasicSR's.
  NamedTensors x2_head;
  for (const auto& [k, t] : build_network(small_swinir({{"upscale", 4}, {"upsampler", "nearest+conv"}}))->state_dict())
    if (k.rfind("conv_up2.", 0) != 0) x2_head.emplace_back(k, t);
  test::require_error([&] { network_from_tensors(x2_head, "x2_nearest"); }, {"x2_nearest", "without conv_up2", "x4 only"});
}
