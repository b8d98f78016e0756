// ECBSR's deployment form (nets/ecbsr_deploy.h): the float64 fixtures' ECBSRs folded into
// SRVGGNetCompact compute the ECBSR's evaluation forward to rounding (1e-12), with body.N keys
// and per-block PReLU slopes; the nets SRVGGNetCompact cannot express are refused by name.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "layers/activation.h"
#include "nets/ecbsr_deploy.h"
#include "nets/factory.h"
#include "support/data_support.h"

using namespace sr;

namespace {

// A fixture's ECBSR in float64 with its weights loaded, each PReLU's slopes made distinct per
// block and channel (the fixtures keep PyTorch's 0.25 everywhere, under which slopes taken
// from the wrong block would still agree).
struct FoldFixture {
  SafetensorsFile f;
  std::unique_ptr<Module> module;
  ECBSR* net = nullptr;
  explicit FoldFixture(const std::string& name) {
    SafetensorsReadOptions as_f64;
    as_f64.dtype = DType::f64;
    f = read_safetensors(std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors", as_f64);
    module = build_network(nlohmann::json::parse(f.metadata.at("net")));
    module->to(DType::f64);
    NamedTensors weights;
    for (const auto& [k, t] : f.tensors)
      if (k.rfind("weight.", 0) == 0) weights.emplace_back(k.substr(7), t);
    module->load_state_dict(weights, true, name);
    net = dynamic_cast<ECBSR*>(module.get());
    REQUIRE(net);
    manual_seed(7);
    for (const auto& b : net->blocks)
      if (auto* p = dynamic_cast<PReLU*>(b->act.get())) uniform_(p->weight, 0.05, 0.6);
    net->eval();
  }
};

// Largest |a - b| over the largest |b| (both float64 NCHW of one shape).
double max_rel_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  double diff = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::fabs(x[i] - y[i]));
    ref = std::max(ref, std::fabs(y[i]));
  }
  return diff / std::max(ref, 1e-300);
}

// The folded net against the ECBSR on the fixture's input and on a larger random one with
// values beyond [0, 1] (more pixels on both sides of each PReLU's kink).
void require_folded_equals_ecbsr(FoldFixture& fx) {
  std::unique_ptr<SRVGGNetCompact> srvgg = ecbsr_to_srvgg(*fx.net);
  CHECK(srvgg->upscale == fx.net->scale);
  CHECK(srvgg->body->size() == 2 * fx.net->blocks.size() - 1);
  Tensor big = Tensor::empty({2, fx.net->num_in_ch, 9, 7}, DType::f64);
  manual_seed(11);
  uniform_(big, -0.5, 1.5);
  for (const Tensor& x : {fx.f.get("input"), big}) {
    NoGradGuard no_grad;
    const Tensor want = fx.net->forward(x), got = srvgg->forward(x);
    const double d = max_rel_difference(got, want);
    char line[160];
    std::snprintf(line, sizeof line, "SRVGGNetCompact vs ECBSR on %s: max |difference| / max |ECBSR| = %.3g",
                  x.shape().str().c_str(), d);
    std::printf("%s\n", line);
    INFO(line);
    CHECK(d <= 1e-12);
  }
}

}  // namespace

TEST_CASE("nets/ecbsr_folded_to_srvgg_x4_y_prelu_equals_the_ecbsr") {
  FoldFixture fx("ecbsr_x4_y_prelu");
  require_folded_equals_ecbsr(fx);
  // BasicSR / Real-ESRGAN's keys: body.{even}.weight/bias the convs, body.{odd}.weight the slopes.
  const NamedTensors sd = ecbsr_to_srvgg(*fx.net)->state_dict();
  // 4 convs (weight, bias) and 3 PReLUs (num_block 2).
  CHECK(sd.size() == 4 * 2 + 3);
  CHECK(sd.front().first == "body.0.weight");
  CHECK(sd.back().first == "body.6.bias");
  for (const auto& [k, t] : sd) CHECK(t.dtype() == DType::f64);
}

TEST_CASE("nets/ecbsr_folded_to_srvgg_x2_rgb_with_idt_relu_equals_the_ecbsr") {
  FoldFixture fx("ecbsr_x2_rgb_idt_relu");
  require_folded_equals_ecbsr(fx);
}

// What SRVGGNetCompact cannot express is named: one input channel broadcast to three outputs,
// no activation (linear), no upsampling (scale 1).
TEST_CASE("nets/ecbsr_without_an_srvgg_form_is_refused_by_name") {
  FoldFixture gray("ecbsr_x3_gray_to_rgb_linear");
  CHECK(!ecbsr_srvgg_unrepresentable(*gray.net).empty());
  test::require_error([&] { ecbsr_to_srvgg(*gray.net); }, {"num_in_ch 1 broadcast to num_out_ch 3"});
  ECBSR linear(3, 3, 1, 4, false, "linear", 2);
  test::require_error([&] { ecbsr_to_srvgg(linear); }, {"not representable", "act_type linear"});
  ECBSR x1(3, 3, 1, 4, false, "prelu", 1);
  test::require_error([&] { ecbsr_to_srvgg(x1); }, {"scale 1"});
  CHECK(ecbsr_srvgg_unrepresentable(ECBSR(3, 3, 1, 4, true, "relu", 3)).empty());
}
