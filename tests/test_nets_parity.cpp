// PyTorch parity: each fixture in tests/fixtures/nets (written by tools/make_fixtures.py
// from independent PyTorch implementations) holds a tiny network's weights with BasicSR's
// names, an input, and PyTorch's float64 output, loss and gradients (input and every
// parameter), plus the buffers after the forward (spectral-norm u/v, batch-norm running
// statistics). srengine rebuilds the network from the fixture's JSON options, loads the
// weights strictly, runs forward + backward in float64 in training mode, and must agree
// to ~1e-9 relative.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "nets/network_from_weights.h"
#include "support/data_support.h"
#include "support/gradcheck.h"
#include "support/net_fixtures.h"

using namespace sr;

namespace {

void run_parity(const std::string& name) {
  const std::string path = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors";
  SafetensorsReadOptions as_f64;
  as_f64.dtype = DType::f64;
  const SafetensorsFile f = read_safetensors(path, as_f64);
  const auto opt = nlohmann::json::parse(f.metadata.at("net"));
  INFO(name << ": " << opt.dump());

  std::unique_ptr<Module> net = build_network(opt);
  net->to(DType::f64);
  std::map<std::string, Tensor> weights, grads, after;
  for (const auto& [k, t] : f.tensors) {
    if (k.rfind("weight.", 0) == 0) weights[k.substr(7)] = t;
    if (k.rfind("grad.", 0) == 0 && k != "grad.input") grads[k.substr(5)] = t;
    if (k.rfind("after.", 0) == 0) after[k.substr(6)] = t;
  }
  net->load_state_dict(weights, true, path);  // strict: the key sets must be identical
  net->train();

  Tensor x = f.metadata.count("input") ? test::fixture_hashed_input(Shape(nlohmann::json::parse(f.metadata.at("input_shape"))
                                                                .get<std::vector<int64_t>>()),
                                                                     DType::f64)
                                       : f.get("input").clone();
  x.set_requires_grad(true);
  Tensor y = net->forward(x);
  test::expect_close_scaled(name + " output", y, f.get("output"));

  const std::string kind = f.metadata.at("loss");
  Tensor loss = kind == "l1"         ? l1_loss(y, f.get("target"))
                : kind == "bce_real" ? bce_with_logits(y, 1.0)
                                     : hinge_real_loss(y);
  REQUIRE((kind == "l1" || kind == "bce_real" || kind == "hinge_real"));
  test::expect_close_scaled(name + " loss", loss, f.get("loss"));
  loss.backward();

  Tensor gx = x.grad();
  if (f.metadata.count("grad_input_stride")) {
    const int64_t stride = std::stoll(f.metadata.at("grad_input_stride"));
    const auto all = gx.to_vector();
    std::vector<double> sampled;
    for (size_t i = 0; i < all.size(); i += stride) sampled.push_back(all[i]);
    gx = Tensor::from_vector(sampled, {(int64_t)sampled.size()}, DType::f64);
  }
  test::expect_close_scaled(name + " grad.input", gx, f.get("grad.input"));

  // Gradients that are 0 in exact arithmetic (ECBSR's edge-branch b0: the Sobel and Laplacian
  // taps sum to 0) are the reference's rounding noise: it must stay below 1e-12 of the largest
  // input gradient, and srengine's must be 0 (its fold sums the integer taps exactly).
  std::set<std::string> zero_grads;
  if (f.metadata.count("zero_grads"))
    for (const auto& k : nlohmann::json::parse(f.metadata.at("zero_grads"))) zero_grads.insert(k.get<std::string>());
  double grad_scale = 0;
  for (double v : f.get("grad.input").to_vector()) grad_scale = std::max(grad_scale, std::fabs(v));
  const NamedTensors params = net->named_parameters();
  CHECK(params.size() == grads.size());
  for (const auto& [k, p] : params) {
    REQUIRE(grads.count(k));
    REQUIRE(p.grad().defined());
    if (zero_grads.count(k)) {
      INFO(name << " grad." << k << " is 0 in exact arithmetic; largest input gradient " << grad_scale);
      for (double v : grads.at(k).to_vector()) CHECK(std::fabs(v) <= 1e-12 * grad_scale);
      for (double v : p.grad().to_vector()) CHECK(v == 0.0);
      continue;
    }
    test::expect_close_scaled(name + " grad." + k, p.grad(), grads.at(k));
  }
  const NamedTensors buffers = net->named_buffers();
  CHECK(buffers.size() == after.size());
  for (const auto& [k, b] : buffers) {
    REQUIRE(after.count(k));
    test::expect_close_scaled(name + " after." + k, b, after.at(k));
  }
}

}  // namespace

TEST_CASE("nets/parity_rrdbnet_x4") { run_parity("rrdbnet_x4"); }
TEST_CASE("nets/parity_rrdbnet_x2") { run_parity("rrdbnet_x2"); }
TEST_CASE("nets/parity_rrdbnet_x1") { run_parity("rrdbnet_x1"); }
TEST_CASE("nets/parity_unet_discriminator_sn") { run_parity("unet_discriminator_sn"); }
TEST_CASE("nets/parity_srvgg_compact_x4_prelu") { run_parity("srvgg_compact_x4"); }
TEST_CASE("nets/parity_srvgg_compact_x2_leakyrelu") { run_parity("srvgg_compact_x2_leakyrelu"); }
TEST_CASE("nets/parity_edsr_x2") { run_parity("edsr_x2"); }
TEST_CASE("nets/parity_edsr_x4_res_scale") { run_parity("edsr_x4"); }
TEST_CASE("nets/parity_edsr_x3") { run_parity("edsr_x3"); }
TEST_CASE("nets/parity_edsr_x8") { run_parity("edsr_x8"); }
TEST_CASE("nets/parity_srvgg_compact_x3_relu") { run_parity("srvgg_compact_x3_relu"); }
TEST_CASE("nets/parity_msrresnet_x4") { run_parity("msrresnet_x4"); }
TEST_CASE("nets/parity_rcan_x2") { run_parity("rcan_x2"); }
TEST_CASE("nets/parity_rcan_x3_res_scale") { run_parity("rcan_x3"); }
TEST_CASE("nets/parity_swinir_x2_pixelshuffle") { run_parity("swinir_x2"); }
TEST_CASE("nets/parity_swinir_x3_3conv_padded") { run_parity("swinir_x3_3conv"); }
TEST_CASE("nets/parity_swinir_x4_nearest_one_window") { run_parity("swinir_x4_nearest"); }
TEST_CASE("nets/parity_swinir_x4_direct_gray") { run_parity("swinir_x4_direct_gray"); }
TEST_CASE("nets/parity_swinir_x1_odd_window") { run_parity("swinir_x1"); }
TEST_CASE("nets/parity_hat_x2_padded_shifted") { run_parity("hat_x2"); }
TEST_CASE("nets/parity_hat_x3_identity_one_window_gray") { run_parity("hat_x3_identity_gray"); }
TEST_CASE("nets/parity_msrresnet_x3") { run_parity("msrresnet_x3"); }
TEST_CASE("nets/parity_msrresnet_x2") { run_parity("msrresnet_x2"); }
TEST_CASE("nets/parity_vgg_style_discriminator") { run_parity("vgg_style_discriminator"); }
TEST_CASE("nets/parity_ecbsr_x4_y_prelu") { run_parity("ecbsr_x4_y_prelu"); }
TEST_CASE("nets/parity_ecbsr_x2_rgb_idt_relu") { run_parity("ecbsr_x2_rgb_idt_relu"); }
TEST_CASE("nets/parity_ecbsr_x3_gray_to_rgb_linear") { run_parity("ecbsr_x3_gray_to_rgb_linear"); }

// BasicSR's release format for EDSR (torch.save of {'params': state_dict()}, float32; the x4
// fixture's weights, written by tools/make_fixtures.py): the keys load strictly by BasicSR's
// names, bit for bit, and the float32 forward matches PyTorch's float64 output to float32
// rounding (1e-5 of the output's scale).
TEST_CASE("nets/edsr_loads_basicsr_params_pth") {
  const std::string dir = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/";
  SafetensorsReadOptions as_f32;
  as_f32.dtype = DType::f32;
  const SafetensorsFile f = read_safetensors(dir + "nets/edsr_x4.safetensors", as_f32);
  std::unique_ptr<Module> net = build_network(nlohmann::json::parse(f.metadata.at("net")));
  CHECK(load_basicsr_weights(*net, dir + "pth/edsr_x4_params.pth", "params") == "params");
  int compared = 0;
  for (const auto& [k, t] : net->state_dict()) {
    INFO(k);
    CHECK(t.to_vector() == f.get("weight." + k).to_vector());
    ++compared;
  }
  CHECK(compared == 2 + 2 * 4 + 2 + 4 + 2);
  net->eval();
  NoGradGuard no_grad;
  test::expect_close_scaled("edsr_x4 float32 output", net->forward(f.get("input")).to(DType::f64),
                            f.get("output").to(DType::f64), 1e-5);
  // Without a config the file is refused by name: its res_scale / img_range / rgb_mean are not in it.
  test::require_error([&] { detect_weights_architecture(dir + "pth/edsr_x4_params.pth"); },
                      {"edsr_x4_params.pth", "BasicSR's EDSR", "res_scale", "--config"});
}
