// nets/: BasicSR's parameter counts and state-dict keys at full size, input-size errors,
// the network factory's errors, and the VGG19 feature extractor (names, truncation,
// normalisation, weight loading with torchvision or BasicSR names).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "engine/ops.h"
#include "engine/ops_pool.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "nets/edsr.h"
#include "nets/factory.h"
#include "nets/msrresnet.h"
#include "nets/rcan.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"
#include "nets/unet_discriminator.h"
#include "nets/vgg_discriminator.h"
#include "nets/vgg_features.h"

using namespace sr;
using nlohmann::json;

namespace {
std::map<std::string, Shape> shapes(const Module& m) {
  std::map<std::string, Shape> out;
  for (const auto& [k, t] : m.state_dict()) out[k] = t.shape();
  return out;
}
}  // namespace

TEST_CASE("nets/rrdbnet_param_count") {
  RRDBNet net(3, 3, 4, 64, 23, 32);
  CHECK(net.num_parameters() == 16697987);
  const NamedTensors sd = net.state_dict();
  CHECK(sd.size() == 702);
  CHECK(sd.front().first == "conv_first.weight");
  CHECK(sd[2].first == "body.0.rdb1.conv1.weight");
  CHECK(sd.back().first == "conv_last.bias");
  const auto s = shapes(net);
  CHECK(s.at("body.0.rdb1.conv2.weight") == Shape{32, 96, 3, 3});
  CHECK(s.at("body.22.rdb3.conv5.weight") == Shape{64, 192, 3, 3});
  CHECK(s.at("conv_last.weight") == Shape{3, 64, 3, 3});
  for (const char* k : {"conv_body.bias", "conv_up1.weight", "conv_up2.weight", "conv_hr.weight"}) CHECK(s.count(k));
  CHECK(net.named_buffers().empty());
  // x2 and x1 only widen conv_first (pixel-unshuffled input); built without a body here
  // (RRDB = 719,424 parameters, checked in layers/dense_block_init_and_shapes) to stay fast.
  const int64_t body = net.body->num_parameters();
  CHECK(body == 23 * 719424);
  CHECK(RRDBNet(3, 3, 2, 64, 0, 32).num_parameters() + body == 16703171);
  CHECK(RRDBNet(3, 3, 1, 64, 0, 32).num_parameters() + body == 16723907);
  CHECK(RRDBNet(3, 3, 4, 64, 0, 32).num_parameters() + 6 * 719424 == 4467779);  // the 6-block anime model
}

TEST_CASE("nets/unet_discriminator_param_count_and_keys") {
  UNetDiscriminatorSN d(3, 64, true);
  CHECK(d.num_parameters() == 4376897);
  const auto s = shapes(d);
  CHECK(s.size() == 28);
  CHECK(s.count("conv0.weight"));
  CHECK(s.count("conv0.bias"));
  CHECK(s.count("conv9.bias"));
  const int64_t u[] = {128, 256, 512, 256, 128, 64, 64, 64}, v[] = {1024, 2048, 4096, 4608, 2304, 1152, 576, 576};
  for (int k = 1; k <= 8; ++k) {
    const std::string c = "conv" + std::to_string(k);
    INFO(c);
    CHECK(s.count(c + ".weight_orig"));
    CHECK_FALSE(s.count(c + ".weight"));
    CHECK_FALSE(s.count(c + ".bias"));
    CHECK(s.at(c + ".weight_u") == Shape{u[k - 1]});
    CHECK(s.at(c + ".weight_v") == Shape{v[k - 1]});
  }
}

TEST_CASE("nets/vgg_style_discriminator_param_count") {
  VGGStyleDiscriminator d(3, 64, 128);
  CHECK(d.num_parameters() == 14499401);
  const auto s = shapes(d);
  CHECK(s.at("linear1.weight") == Shape{100, 8192});
  CHECK(s.at("bn4_1.running_var") == Shape{512});
  CHECK(s.at("bn0_1.num_batches_tracked") == Shape{});
  CHECK_FALSE(s.count("conv0_1.bias"));
  CHECK_FALSE(s.count("conv5_0.weight"));
  CHECK(shapes(VGGStyleDiscriminator(3, 64, 256)).count("bn5_1.weight"));
  CHECK_THROWS_WITH(VGGStyleDiscriminator(3, 64, 192), Catch::Contains("input_size must be 128 or 256"));
}

TEST_CASE("nets/srvgg_compact_keys") {
  SRVGGNetCompact n(3, 3, 64, 16, 4, "prelu");
  const auto s = shapes(n);
  CHECK(s.at("body.0.weight") == Shape{64, 3, 3, 3});
  CHECK(s.at("body.1.weight") == Shape{64});  // PReLU slopes
  CHECK(s.at("body.33.weight") == Shape{64});
  CHECK(s.at("body.34.weight") == Shape{48, 64, 3, 3});
  CHECK(s.size() == 17 * 2 + 17 + 2);
  CHECK(n.num_parameters() == 1792 + 16 * 36928 + 17 * 64 + 27696);  // realesr-general x4 family
  // relu / leakyrelu bodies have no activation parameters.
  CHECK(shapes(SRVGGNetCompact(3, 3, 64, 16, 4, "relu")).size() == 17 * 2 + 2);
  CHECK_THROWS_WITH(SRVGGNetCompact(3, 3, 64, 16, 4, "gelu"), Catch::Contains("act_type"));
  const auto x3 = shapes(SRVGGNetCompact(3, 3, 64, 16, 3, "prelu"));
  CHECK(x3.at("body.34.weight") == Shape{27, 64, 3, 3});  // 3 channels x 3^2 for pixel_shuffle(3)
  CHECK(SRVGGNetCompact(3, 3, 4, 1, 3, "relu").forward(Tensor::zeros({1, 3, 5, 2})).shape() == Shape{1, 3, 15, 6});
  CHECK_THROWS_WITH(SRVGGNetCompact(3, 3, 64, 16, 8, "prelu"), Catch::Contains("upscale must be 2, 3 or 4, got 8"));
  CHECK_THROWS_WITH(SRVGGNetCompact(3, 3, 64, 16, 1, "prelu"), Catch::Contains("upscale must be 2, 3 or 4, got 1"));
}

// BasicSR's MSRResNet_x4 / x3 / x2 shapes: its released weights' keys (001_MSRResNet_x4_f64b16's
// 1,517,571 parameters), the x4 net's two shuffles by 2 and the x3 net's one by 3.
TEST_CASE("nets/msrresnet_keys") {
  MSRResNet n;  // BasicSR's defaults: 3 -> 3, 64 features, 16 blocks, x4
  const auto s = shapes(n);
  CHECK(s.at("conv_first.weight") == Shape{64, 3, 3, 3});
  CHECK(s.at("body.15.conv2.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("upconv1.weight") == Shape{256, 64, 3, 3});
  CHECK(s.at("upconv2.bias") == Shape{256});
  CHECK(s.at("conv_hr.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("conv_last.weight") == Shape{3, 64, 3, 3});
  CHECK(s.size() == 2 + 16 * 4 + 2 * 2 + 2 + 2);
  CHECK(n.num_parameters() == 1517571);
  const auto x3 = shapes(MSRResNet(3, 3, 64, 16, 3));
  CHECK(x3.at("upconv1.weight") == Shape{576, 64, 3, 3});
  CHECK_FALSE(x3.count("upconv2.weight"));
  CHECK(shapes(MSRResNet(3, 3, 64, 16, 2)).at("upconv1.weight") == Shape{256, 64, 3, 3});
  CHECK(MSRResNet(3, 3, 4, 1, 3).forward(Tensor::zeros({1, 3, 5, 2})).shape() == Shape{1, 3, 15, 6});
  CHECK(MSRResNet(1, 1, 4, 1, 4).forward(Tensor::zeros({2, 1, 3, 4})).shape() == Shape{2, 1, 12, 16});
  // conv_first, the upconvs, conv_hr and conv_last (and the blocks' convs) start at kaiming
  // normal x 0.1 (std 0.1 sqrt(2 / fan_in)) with zero bias, as BasicSR's default_init_weights.
  const auto std_of = [](const Tensor& t) {
    double s2 = 0;
    for (double v : t.to_vector()) s2 += v * v;
    return std::sqrt(s2 / t.numel());
  };
  for (const Conv2d* c : {n.conv_first.get(), n.upconv1.get(), n.upconv2.get(), n.conv_hr.get(), n.conv_last.get()}) {
    const double fan_in = c->weight.size(1) * 9.0, want = 0.1 * std::sqrt(2.0 / fan_in);
    INFO("fan_in " << fan_in << " std " << std_of(c->weight) << " want " << want);
    CHECK(std::abs(std_of(c->weight) / want - 1) < (c == n.conv_first.get() ? 0.2 : 0.05));  // 1728+ samples
    for (double b : c->bias.to_vector()) CHECK(b == 0.0);
  }
  for (int bad : {1, 5, 8})
    CHECK_THROWS_WITH(MSRResNet(3, 3, 64, 16, bad), Catch::Contains("upscale must be 2, 3 or 4, got " + std::to_string(bad)));
  CHECK_THROWS_WITH(MSRResNet(3, 1, 64, 16, 4), Catch::Contains("num_out_ch (1) must equal num_in_ch (3)"));
  CHECK(build_network(json::parse(R"({"type": "MSRResNet", "upscale": 2, "num_block": 1})"))->output_scale() == 2);
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "MSRResNet", "num_blocks": 1})")),
                    Catch::Contains("num_blocks") && Catch::Contains("num_block"));
}

// BasicSR's RCAN keys and sizes: RCAN_BIX4's 15,592,355 parameters (num_block 20), the
// attention's 1x1 convs at rcab.3.attention.1 / .3, no key for the mean.
TEST_CASE("nets/rcan_keys") {
  RCAN n(3, 3, 64, 10, 20, 16, 4);
  CHECK(n.num_parameters() == 15592355);
  CHECK(RCAN(3, 3).num_parameters() == 12614915);  // the constructor's num_block 16
  const auto s = shapes(n);
  CHECK(s.at("body.9.residual_group.19.rcab.0.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("body.9.residual_group.19.rcab.2.bias") == Shape{64});
  CHECK(s.at("body.0.residual_group.0.rcab.3.attention.1.weight") == Shape{4, 64, 1, 1});
  CHECK(s.at("body.0.residual_group.0.rcab.3.attention.3.weight") == Shape{64, 4, 1, 1});
  CHECK(s.at("body.9.conv.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("conv_after_body.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("upsample.2.weight") == Shape{256, 64, 3, 3});
  CHECK(s.at("conv_last.weight") == Shape{3, 64, 3, 3});
  CHECK(s.size() == 2 + 10 * (20 * 8 + 2) + 2 + 2 * 2 + 2);
  CHECK(n.output_scale() == 4);
  CHECK(RCAN(3, 3, 8, 1, 1, 4, 3).forward(Tensor::zeros({1, 3, 5, 3})).shape() == Shape{1, 3, 15, 9});
  // BasicSR's floor division: 12 // 8 is one hidden channel; 4 // 8 none.
  CHECK(shapes(RCAN(3, 3, 12, 1, 1, 8, 4)).at("body.0.residual_group.0.rcab.3.attention.1.weight") ==
        Shape{1, 12, 1, 1});
  CHECK_THROWS_WITH(RCAN(3, 3, 4, 1, 1, 8, 4), Catch::Contains("num_feat 4 // squeeze_factor 8 leaves no hidden channel"));
  CHECK_THROWS_WITH(RCAN(3, 3, 64, 1, 1, 16, 5), Catch::Contains("upscale must be 2, 3, 4 or 8, got 5"));
}

// BasicSR's EDSR_Mx4_f64b16 / Mx2 shapes: the released weights' keys, and no key for the mean.
TEST_CASE("nets/edsr_keys") {
  EDSR n(3, 3, 64, 16, 4);
  const auto s = shapes(n);
  CHECK(s.at("conv_first.weight") == Shape{64, 3, 3, 3});
  CHECK(s.at("body.15.conv2.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("body.0.conv1.bias") == Shape{64});
  CHECK(s.at("conv_after_body.weight") == Shape{64, 64, 3, 3});
  CHECK(s.at("upsample.0.weight") == Shape{256, 64, 3, 3});
  CHECK(s.at("upsample.2.bias") == Shape{256});
  CHECK(s.at("conv_last.weight") == Shape{3, 64, 3, 3});
  CHECK(s.size() == 2 + 16 * 4 + 2 + 2 * 2 + 2);
  CHECK(n.num_parameters() == 1517571);
  const auto x2 = shapes(EDSR(3, 3, 64, 16, 2));
  CHECK(x2.count("upsample.0.weight"));
  CHECK_FALSE(x2.count("upsample.2.weight"));
  CHECK(n.output_scale() == 4);
  CHECK(n.input_multiple() == 1);
  CHECK(EDSR(3, 3, 4, 1, 2).forward(Tensor::zeros({1, 3, 5, 3})).shape() == Shape{1, 3, 10, 6});
  // Block convs start at BasicSR's kaiming x 0.1 with zero bias (near-identity blocks).
  for (double b : dynamic_cast<ResidualBlockNoBN&>((*n.body)[0]).conv1->bias.to_vector()) CHECK(b == 0.0);
  // x3: one conv to 9 nf and pixel_shuffle(3) (BasicSR's Upsample); x8: three conv + shuffle(2) pairs.
  const auto x3 = shapes(EDSR(3, 3, 64, 16, 3));
  CHECK(x3.at("upsample.0.weight") == Shape{576, 64, 3, 3});
  CHECK_FALSE(x3.count("upsample.2.weight"));
  const auto x8 = shapes(EDSR(3, 3, 64, 16, 8));
  CHECK(x8.at("upsample.4.weight") == Shape{256, 64, 3, 3});
  CHECK_FALSE(x8.count("upsample.6.weight"));
  CHECK(EDSR(3, 3, 4, 1, 3).forward(Tensor::zeros({1, 3, 5, 3})).shape() == Shape{1, 3, 15, 9});
  CHECK(EDSR(3, 3, 4, 1, 8).forward(Tensor::zeros({1, 3, 2, 3})).shape() == Shape{1, 3, 16, 24});
  for (int bad : {1, 5, 6, 16})
    CHECK_THROWS_WITH(EDSR(3, 3, 64, 16, bad), Catch::Contains("upscale must be 2, 3, 4 or 8, got " + std::to_string(bad)));
  CHECK_THROWS_WITH(EDSR(1, 1, 64, 16, 4), Catch::Contains("rgb_mean has 3 values") &&
                                               Catch::Contains("num_in_ch is 1"));
  CHECK_THROWS_WITH(EDSR(3, 3, 64, 16, 4, 1.0, 0.0), Catch::Contains("img_range must be > 0, got 0"));
  CHECK_THROWS_WITH(EDSR(3, 3, 4, 1, 2).forward(Tensor::zeros({1, 1, 5, 3})), Catch::Contains("[1, 1, 5, 3]"));
  // Through the factory, with BasicSR's option names and errors naming the key.
  const auto rgb_edsr = [](const std::string& more) {
    return json::parse(R"({"type": "EDSR", "num_in_ch": 3, "num_out_ch": 3)" + more + "}");
  };
  CHECK(build_network(rgb_edsr(""))->num_parameters() == 1517571);
  CHECK(build_network(json::parse(R"({"type": "EDSR", "num_in_ch": 1, "num_out_ch": 1, "rgb_mean": [0.5],
                                      "img_range": 1, "res_scale": 0.1, "upscale": 2, "num_block": 1})"))
            ->output_scale() == 2);
  CHECK(build_network(rgb_edsr(R"(, "upscale": 3)"))->output_scale() == 3);
  CHECK_THROWS_WITH(build_network(rgb_edsr(R"(, "upscale": 6)")),
                    Catch::Contains("upscale must be 2, 3, 4 or 8, got 6"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "EDSR", "num_out_ch": 3})")),
                    Catch::Contains("network EDSR: 'num_in_ch' is required"));
  CHECK_THROWS_WITH(build_network(rgb_edsr(R"(, "rgb_mean": 0.4)")),
                    Catch::Contains("'rgb_mean' must be a list of numbers, got 0.4"));
  CHECK_THROWS_WITH(build_network(rgb_edsr(R"(, "res_scale": "1")")),
                    Catch::Contains("'res_scale' must be a number"));
  CHECK_THROWS_WITH(build_network(rgb_edsr(R"(, "num_blocks": 4)")),
                    Catch::Contains("unknown key 'num_blocks'") && Catch::Contains("did you mean 'num_block'"));
}

TEST_CASE("nets/input_size_errors") {
  UNetDiscriminatorSN d(3, 4);
  CHECK(d.forward(Tensor::zeros({1, 3, 16, 24})).shape() == Shape{1, 1, 16, 24});
  CHECK_THROWS_WITH(d.forward(Tensor::zeros({1, 3, 20, 24})), Catch::Contains("multiples of 8") &&
                                                                   Catch::Contains("[1, 3, 20, 24]"));
  VGGStyleDiscriminator v(3, 1, 128);
  CHECK_THROWS_WITH(v.forward(Tensor::zeros({1, 3, 96, 96})), Catch::Contains("128x128"));
  RRDBNet g2(3, 3, 2, 4, 1, 2), g1(3, 3, 1, 4, 1, 2);
  CHECK(g2.forward(Tensor::zeros({1, 3, 6, 4})).shape() == Shape{1, 3, 12, 8});
  CHECK_THROWS_WITH(g2.forward(Tensor::zeros({1, 3, 5, 4})), Catch::Contains("multiples of 2"));
  CHECK_THROWS_WITH(g1.forward(Tensor::zeros({1, 3, 8, 6})), Catch::Contains("multiples of 4"));
  CHECK(RRDBNet(3, 3, 4, 4, 1, 2).forward(Tensor::zeros({1, 3, 5, 3})).shape() == Shape{1, 3, 20, 12});
}

TEST_CASE("nets/factory") {
  auto g = build_network(json::parse(
      R"({"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 8, "num_block": 2, "num_grow_ch": 4, "scale": 2})"));
  CHECK(g->type_name() == "RRDBNet");
  CHECK(dynamic_cast<RRDBNet&>(*g).scale == 2);
  CHECK(g->state_dict().size() == 2 + 2 * 30 + 10);
  CHECK(build_network(json::parse(R"({"type": "UNetDiscriminatorSN", "num_in_ch": 3})"))->num_parameters() == 4376897);
  CHECK(build_network(json::parse(R"({"type": "SRVGGNetCompact", "num_conv": 2, "num_feat": 8})"))->type_name() ==
        "SRVGGNetCompact");
  CHECK(build_network(json::parse(R"({"type": "VGGStyleDiscriminator", "num_in_ch": 3, "num_feat": 2})"))
            ->type_name() == "VGGStyleDiscriminator");
  CHECK(build_network(json::parse(R"({"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_block": 1.0, "num_feat": 4})"))
            ->num_parameters() > 0);  // 1.0 is an integer

  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_blocks": 2})")),
                    Catch::Contains("unknown key 'num_blocks'") && Catch::Contains("did you mean 'num_block'"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "RRDBNett"})")),
                    Catch::Contains("unknown type 'RRDBNett'") && Catch::Contains("did you mean 'RRDBNet'"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "RRDBNet", "num_out_ch": 3})")),
                    Catch::Contains("'num_in_ch' is required"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "RRDBNet", "num_in_ch": "3", "num_out_ch": 3})")),
                    Catch::Contains("'num_in_ch' must be an integer"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "UNetDiscriminatorSN", "num_in_ch": 3, "skip_connection": 1})")),
                    Catch::Contains("'skip_connection' must be true or false"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"num_in_ch": 3})")), Catch::Contains("missing string key 'type'"));
  CHECK_THROWS_WITH(build_network(json::parse(R"({"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "scale": 3})")),
                    Catch::Contains("scale must be 1, 2 or 4"));
}

// network_channels, which a config's datasets.<name>.color is checked against, knows every type
// build_network knows, reads each type's channel keys, and takes BasicSR's defaults where the
// constructor has them (none for RRDBNet, EDSR, RCAN and the discriminators).
TEST_CASE("nets/network_channels_know_every_network_type") {
  for (const std::string& type : network_types()) {
    INFO(type);
    const auto c = network_channels(json{{"type", type}, {"num_in_ch", 1}, {"num_out_ch", 1}, {"in_chans", 1}});
    REQUIRE(c.has_value());
    CHECK(c->in == 1);
    if (!c->out_key.empty()) CHECK(c->out == 1);
  }
  const auto msr = network_channels(json{{"type", "MSRResNet"}});
  CHECK((msr->in == 3 && msr->out == 3 && msr->in_key == "num_in_ch" && msr->out_key == "num_out_ch"));
  const auto rrdb = network_channels(json{{"type", "RRDBNet"}, {"num_out_ch", 3}});
  CHECK((!rrdb->in && rrdb->out == 3));
  const auto swinir = network_channels(json{{"type", "SwinIR"}});
  CHECK((swinir->in == 3 && swinir->out == 3 && swinir->in_key == "in_chans" && swinir->out_key == "in_chans"));
  const auto unet = network_channels(json{{"type", "UNetDiscriminatorSN"}, {"num_in_ch", 1.0}});
  CHECK((unet->in == 1 && unet->out_key.empty()));
  CHECK_FALSE(network_channels(json{{"type", "Nope"}}).has_value());
}

TEST_CASE("nets/vgg19_features") {
  const auto& names = vgg19_layer_names();
  REQUIRE(names.size() == 37);
  CHECK(names[0] == "conv1_1");
  CHECK(names[4] == "pool1");
  CHECK(names[34] == "conv5_4");
  CHECK(names[36] == "pool5");

  VGGFeatureOptions opt;
  opt.layer_name_list = {"relu1_1", "conv2_1"};
  VGGFeatureExtractor vgg(opt);  // truncated after conv2_1 (index 5)
  std::vector<std::string> keys;
  for (const auto& [k, t] : vgg.state_dict()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"mean", "std", "vgg_net.conv1_1.weight", "vgg_net.conv1_1.bias",
                                         "vgg_net.conv1_2.weight", "vgg_net.conv1_2.bias", "vgg_net.conv2_1.weight",
                                         "vgg_net.conv2_1.bias"});
  for (const auto& [k, p] : vgg.named_parameters()) CHECK_FALSE(p.requires_grad());
  CHECK_FALSE(vgg.is_training());

  // Weights with torchvision names (features.<index>.*), as converted from vgg19-dcbb9e9d.pth.
  const std::string dir = std::filesystem::temp_directory_path() / ("srengine_vgg_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  NamedTensors tv;
  Generator gen(7);
  for (const auto& [idx, in, out] : std::vector<std::tuple<int, int64_t, int64_t>>{{0, 3, 64}, {2, 64, 64}, {5, 64, 128}}) {
    Tensor w = Tensor::empty({out, in, 3, 3}), b = Tensor::empty({out});
    normal_(w, 0, 0.1, gen);
    normal_(b, 0, 0.1, gen);
    tv.emplace_back("features." + std::to_string(idx) + ".weight", w);
    tv.emplace_back("features." + std::to_string(idx) + ".bias", b);
  }
  tv.emplace_back("classifier.0.weight", Tensor::zeros({2, 2}));  // ignored
  write_safetensors(dir + "/vgg19.safetensors", tv);
  vgg.load_weights(dir + "/vgg19.safetensors");
  CHECK(vgg.vgg_net->named_parameters()[4].second.to_vector() == tv[4].second.to_vector());

  // Features against the same math written out with the plain ops.
  Tensor x = Tensor::empty({1, 3, 10, 12});
  uniform_(x, 0, 1, gen);
  auto f = vgg.features(x);
  REQUIRE(f.size() == 2);
  const double mean[] = {0.485, 0.456, 0.406}, stdv[] = {0.229, 0.224, 0.225};
  std::vector<double> xv = x.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = (xv[i] - mean[i / 120]) / stdv[i / 120];
  Tensor xn = Tensor::from_vector(xv, x.shape());
  Tensor r11 = relu(conv2d(xn, tv[0].second, tv[1].second, 1, 1));
  Tensor c21 = conv2d(max_pool2d(relu(conv2d(r11, tv[2].second, tv[3].second, 1, 1))), tv[4].second, tv[5].second, 1, 1);
  auto close = [](const Tensor& a, const Tensor& b) {
    const auto av = a.to_vector(), bv = b.to_vector();
    double worst = 0;
    for (size_t i = 0; i < av.size(); ++i) worst = std::max(worst, std::fabs(av[i] - bv[i]));
    return worst;
  };
  CHECK(f.at("relu1_1").shape() == Shape{1, 64, 10, 12});
  CHECK(f.at("conv2_1").shape() == Shape{1, 128, 5, 6});
  CHECK(close(f.at("relu1_1"), r11) < 1e-5);
  CHECK(close(f.at("conv2_1"), c21) < 1e-4);

  // Gradient flows to the input (perceptual loss on G's output) but not into VGG.
  Tensor xg = x.clone();
  xg.set_requires_grad(true);
  sum(vgg.features(xg).at("conv2_1")).backward();
  CHECK(xg.grad().defined());

  // BasicSR names load too; errors name the file and the missing keys.
  write_safetensors(dir + "/basicsr.safetensors", vgg.state_dict());
  vgg.load_weights(dir + "/basicsr.safetensors");
  write_safetensors(dir + "/partial.safetensors", {tv[0], tv[1]});
  CHECK_THROWS_WITH(vgg.load_weights(dir + "/partial.safetensors"),
                    Catch::Contains("partial.safetensors") && Catch::Contains("features.2.weight"));
  CHECK_THROWS_WITH(vgg.load_weights(dir + "/nope.safetensors"),
                    Catch::Contains("nope.safetensors") && Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(vgg.load_weights(""), Catch::Contains("no VGG19 weights file"));
  opt.layer_name_list = {"conv6_1"};
  CHECK_THROWS_WITH(VGGFeatureExtractor(opt), Catch::Contains("unknown layer 'conv6_1'"));
  std::filesystem::remove_all(dir);
}

// A bad size option is named by its key and value, one key at a time, for every network.
TEST_CASE("nets/size_options_name_the_bad_key") {
  struct Case {
    json opt;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"type", "ECBSR"}, {"num_in_ch", 1}, {"num_out_ch", 1}, {"num_block", -1}, {"num_channel", 4},
        {"with_idt", false}, {"act_type", "prelu"}, {"scale", 2}},
       "ECBSR: num_block must be at least 0, got -1"},
      {{{"type", "ECBSR"}, {"num_in_ch", 1}, {"num_out_ch", 1}, {"num_block", 1}, {"num_channel", 0},
        {"with_idt", false}, {"act_type", "prelu"}, {"scale", 2}},
       "ECBSR: num_channel must be at least 1, got 0"},
      {{{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 1}, {"num_grow_ch", 0}},
       "RRDBNet: num_grow_ch must be at least 1, got 0"},
      {{{"type", "SRVGGNetCompact"}, {"num_conv", -2}}, "SRVGGNetCompact: num_conv must be at least 0, got -2"},
      {{{"type", "EDSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", -5}}, "EDSR: num_feat must be at least 1, got -5"},
      {{{"type", "RCAN"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_group", -1}}, "RCAN: num_group must be at least 0, got -1"},
      {{{"type", "MSRResNet"}, {"num_in_ch", 0}, {"num_out_ch", 0}}, "MSRResNet: num_in_ch must be at least 1, got 0"},
      {{{"type", "SwinIR"}, {"embed_dim", 0}}, "SwinIR: embed_dim must be at least 1, got 0"},
      {{{"type", "HAT"}, {"window_size", 0}}, "HAT: window_size must be at least 1, got 0"},
      {{{"type", "UNetDiscriminatorSN"}, {"num_in_ch", 3}, {"num_feat", 0}}, "UNetDiscriminatorSN: num_feat must be at least 1, got 0"},
      {{{"type", "VGGStyleDiscriminator"}, {"num_in_ch", -3}, {"num_feat", 8}}, "VGGStyleDiscriminator: num_in_ch must be at least 1, got -3"},
  };
  for (const Case& c : cases) {
    INFO(c.opt.dump());
    CHECK_THROWS_WITH(build_network(c.opt), Catch::Contains(c.says));
  }
}

// A network too large for the memory the system has (a mistyped num_feat) is refused while it
// is built, before its parameters take the machine's memory, with every option named.
TEST_CASE("nets/network_larger_than_memory_is_refused_naming_its_options") {
  const json opt = {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 1000000},
                    {"num_block", 1}, {"num_grow_ch", 4}};  // conv_body alone: 36 TB of weights
  CHECK_THROWS_WITH(build_network(opt), Catch::Contains("RRDBNet {") && Catch::Contains("\"num_feat\":1000000") &&
                                            Catch::Contains("GiB of memory available now: check its size options"));
  CHECK(build_network({{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 1},
                       {"num_grow_ch", 4}})
            ->num_parameters() > 0);  // the limit ends with the build
}
