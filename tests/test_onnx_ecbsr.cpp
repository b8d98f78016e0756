// ECBSR's ONNX export (deploy/onnx_modules.cpp's emit_ecbsr): the three float64 fixtures'
// ECBSRs (x4 Y-channel PReLU, x2 RGB with_idt ReLU, x3 gray-to-RGB linear) and a random x1
// exported through `srengine export` as the folded plain graph (one Conv per block), checked by
// ONNX's checker, run in ONNX Runtime (tools/ort) on odd-sized inputs and compared with
// srengine's float32 forward: fp32 within 1e-4, fp16 within 2e-3 times max(1, max |y|) (below).
// A branch parameter changed in the exported weights must fail the comparison.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/onnx_support.h"
#include "deploy/onnx_export.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "nets/factory.h"
#include "support/data_support.h"

using namespace sr;

namespace {

// Tolerances: test_onnx_export.cpp's budgets (fp32 1e-4, fp16 2e-3 max abs), which its random
// nets' outputs of order 1 set. fp16's is scaled by the output's size here: the fixtures'
// outputs reach 10, and float16 rounding of features that size reaches every output pixel,
// small ones included (measured up to 5.6e-3 on an output of 0.2; one float16 step at 4 is
// 3.9e-3). fp32's is not: its differences stay below 5e-6.
constexpr double kEcbsrOnnxFp32Tolerance = 1e-4, kEcbsrOnnxFp16Tolerance = 2e-3;

// An ECBSR to export: its network_g and its state dict (float32).
struct EcbsrOnnxNet {
  nlohmann::json network_g;
  NamedTensors weights;
};

// A tests/fixtures/nets/ecbsr_* net with its PyTorch weights.
EcbsrOnnxNet ecbsr_onnx_fixture(const std::string& name) {
  const SafetensorsFile f =
      read_safetensors(std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors");
  EcbsrOnnxNet n;
  n.network_g = nlohmann::json::parse(f.metadata.at("net"));
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("weight.", 0) == 0) n.weights.emplace_back(k.substr(7), t.to(DType::f32));
  return n;
}

struct EcbsrOnnxResult {
  double max_abs = 0;
  double budget_used = 0;  // max |difference| / (tolerance * max(1, max |srengine|))
  std::string worst, skipped;
  int64_t convs = 0;  // Conv nodes in the graph (python3-onnx; -1 without it)
};

// Exports `n` through the CLI (with `plant` added to the exported copy of weight `planted_key`),
// checks it, runs it in ONNX Runtime on a random (2, C, h, w) input and compares with srengine.
EcbsrOnnxResult ecbsr_onnx_export_and_compare(const EcbsrOnnxNet& n, const std::string& dtype, int64_t h, int64_t w,
                                              const std::string& planted_key = "", float plant = 0) {
  EcbsrOnnxResult r;
  test::TempDir dir;
  std::unique_ptr<Module> net = build_network(n.network_g);
  net->load_state_dict(n.weights, true, "fixture");
  net->eval();
  NamedTensors exported;
  for (const auto& [k, t] : n.weights) {
    Tensor c = t.clone();
    if (k == planted_key) c.data<float>()[0] += plant;
    exported.emplace_back(k, c);
  }
  write_safetensors(dir.file("w.safetensors"), exported);
  std::ofstream(dir.file("cfg.json")) << nlohmann::json{{"name", "ecbsr_onnx"}, {"network_g", n.network_g}}.dump();
  const std::string model = dir.file("model.onnx");
  const int rc = test::run(test::srengine_exe() + " export --config " + dir.file("cfg.json") + " --weights " +
                               dir.file("w.safetensors") + " --output " + model + " --dtype " + dtype,
                           dir.file("export.log"));
  INFO(test::read_text(dir.file("export.log")));
  REQUIRE(rc == 0);
  r.convs = -1;
  if (test::python_onnx_available()) {
    const int crc = test::run(test::python3() + " " + test::source_dir() + "/tests/onnx/check_model.py " + model +
                                  " " + dtype, dir.file("checker.log"));
    INFO(test::read_text(dir.file("checker.log")));
    REQUIRE(crc == 0);
    test::run(test::python3() + " -c \"import onnx; print('convs', sum(n.op_type == 'Conv' for n in onnx.load('" +
                  model + "').graph.node))\"", dir.file("convs.log"));
    std::istringstream s(test::read_text(dir.file("convs.log")));
    std::string word;
    s >> word >> r.convs;
  }
  if (!test::ort_available()) {
    r.skipped = "no onnxruntime-node in tools/ort (run tools/setup.sh)";
    return r;
  }
  const int64_t c = n.network_g.at("num_in_ch");
  Tensor x = Tensor::empty({2, c, h, w}, DType::f32);
  manual_seed(5);
  uniform_(x, 0.0, 1.0);
  Tensor ref;
  {
    NoGradGuard no_grad;
    ref = net->forward(x).contiguous();
  }
  const std::vector<float> ort = test::onnxruntime_forward(model, x, ref.shape(), dir.path());
  const float* got = ort.data();
  double scale = 1;
  for (int64_t i = 0; i < ref.numel(); ++i) scale = std::max(scale, double(std::fabs(ref.data<float>()[i])));
  const double tol = dtype == "fp16" ? kEcbsrOnnxFp16Tolerance * scale : kEcbsrOnnxFp32Tolerance;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double want = ref.data<float>()[i], d = std::fabs(double(got[i]) - want);
    if (!(d <= r.max_abs)) {  // NaN too
      r.max_abs = std::isnan(d) ? INFINITY : d;
      std::ostringstream s;
      s << "element " << i << ": onnxruntime " << got[i] << ", srengine " << want << " (max |srengine| " << scale << ")";
      r.worst = s.str();
    }
  }
  r.budget_used = r.max_abs / tol;
  return r;
}

bool ecbsr_onnx_tools() {
  if (!deploy::onnx_export_built()) {
    WARN("SKIPPED: this srengine was built without ONNX export (no libonnx-dev / libprotobuf-dev: tools/setup.sh)");
    return false;
  }
  return true;
}

void require_ecbsr_onnx_match(const EcbsrOnnxNet& n, const std::string& dtype, int64_t h, int64_t w) {
  if (!ecbsr_onnx_tools()) return;
  const EcbsrOnnxResult r = ecbsr_onnx_export_and_compare(n, dtype, h, w);
  // One Conv per block: the five branches were folded (num_block + 2 blocks).
  if (r.convs >= 0) CHECK(r.convs == n.network_g.at("num_block").get<int64_t>() + 2);
  if (!r.skipped.empty()) {
    WARN("SKIPPED: " << r.skipped);
    return;
  }
  std::printf("%s %s: max abs difference %.3g, %.0f%% of the budget\n",
              n.network_g.dump().c_str(), dtype.c_str(), r.max_abs, 100 * r.budget_used);
  INFO("max abs difference " << r.max_abs << ", " << 100 * r.budget_used << "% of the budget, at " << r.worst);
  CHECK(r.budget_used <= 1);
}

}  // namespace

TEST_CASE("onnx/ecbsr_x4_y_prelu_fp32_matches_srengine_in_onnxruntime") {
  require_ecbsr_onnx_match(ecbsr_onnx_fixture("ecbsr_x4_y_prelu"), "fp32", 7, 10);
}

TEST_CASE("onnx/ecbsr_x4_y_prelu_fp16_matches_srengine_in_onnxruntime") {
  require_ecbsr_onnx_match(ecbsr_onnx_fixture("ecbsr_x4_y_prelu"), "fp16", 7, 10);
}

TEST_CASE("onnx/ecbsr_x2_rgb_idt_relu_fp32_matches_srengine_in_onnxruntime") {
  require_ecbsr_onnx_match(ecbsr_onnx_fixture("ecbsr_x2_rgb_idt_relu"), "fp32", 9, 6);
}

TEST_CASE("onnx/ecbsr_x2_rgb_idt_relu_fp16_matches_srengine_in_onnxruntime") {
  require_ecbsr_onnx_match(ecbsr_onnx_fixture("ecbsr_x2_rgb_idt_relu"), "fp16", 9, 6);
}

// One input channel added to all three outputs (the Concat broadcast), no activations.
TEST_CASE("onnx/ecbsr_x3_gray_to_rgb_linear_fp32_matches_srengine_in_onnxruntime") {
  require_ecbsr_onnx_match(ecbsr_onnx_fixture("ecbsr_x3_gray_to_rgb_linear"), "fp32", 5, 8);
}

TEST_CASE("onnx/ecbsr_x3_gray_to_rgb_linear_fp16_matches_srengine_in_onnxruntime") {
  require_ecbsr_onnx_match(ecbsr_onnx_fixture("ecbsr_x3_gray_to_rgb_linear"), "fp16", 5, 8);
}

// Scale 1: no DepthToSpace or Resize, the input added as it is (random branch weights).
TEST_CASE("onnx/ecbsr_x1_rgb_prelu_fp32_matches_srengine_in_onnxruntime") {
  const nlohmann::json g = {{"type", "ECBSR"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_block", 1},
                            {"num_channel", 4}, {"with_idt", true}, {"act_type", "prelu"}, {"scale", 1}};
  EcbsrOnnxNet n{g, {}};
  std::unique_ptr<Module> net = build_network(g);
  manual_seed(3);
  for (auto& [k, t] : net->state_dict())
    if (k.find(".mask") == std::string::npos) uniform_(t, -0.3, 0.3);
  n.weights = net->state_dict();
  require_ecbsr_onnx_match(n, "fp32", 6, 7);
}

// The comparison must be able to fail: a branch parameter that only reaches the folded weight
// (conv1x1_lpl's scale of one channel in the middle block) moved in the exported file.
TEST_CASE("onnx/ecbsr_planted_branch_weight_fails_the_comparison") {
  if (!ecbsr_onnx_tools() || !test::ort_available()) return;
  const EcbsrOnnxResult r = ecbsr_onnx_export_and_compare(ecbsr_onnx_fixture("ecbsr_x2_rgb_idt_relu"), "fp32", 9, 6,
                                                          "backbone.1.conv1x1_lpl.scale", 0.05f);
  std::printf("planted backbone.1.conv1x1_lpl.scale + 0.05: max abs difference %.3g, %.0f%% of the budget\n", r.max_abs,
              100 * r.budget_used);
  INFO("planted: max abs difference " << r.max_abs << ", " << 100 * r.budget_used << "% of the budget");
  CHECK(r.budget_used > 10);
}
