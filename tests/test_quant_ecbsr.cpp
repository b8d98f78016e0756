// int8 for ECBSR (docs/EXPORT.md, "ECBSR"): an ECBSR is quantised as the SRVGGNetCompact it folds
// to (nets/ecbsr_deploy.h). quant/: the folded net's fake-quant forward against the ECBSR's
// float forward. onnx/: its QDQ export in ONNX Runtime against the fake-quant forward (the
// tolerance of tests/test_quantize.cpp), and `srengine quantize` on an ECBSR config: it says it
// folded the net, writes the SRVGGNetCompact's QDQ graph, and refuses an ECBSR with no such form.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/onnx_support.h"
#include "data/image_io.h"
#include "deploy/onnx_export.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "layers/activation.h"
#include "nets/ecbsr_deploy.h"
#include "nets/factory.h"
#include "quant/ptq.h"
#include "support/data_support.h"

using namespace sr;

namespace {

nlohmann::json ecbsr_int8_g(int scale, const std::string& act) {
  return {{"type", "ECBSR"},      {"num_in_ch", 3},   {"num_out_ch", 3},     {"num_block", 2},
          {"num_channel", 8},     {"with_idt", true}, {"act_type", act},     {"scale", scale}};
}

// An ECBSR as BasicSR initialises one, with distinct PReLU slopes per block and channel.
std::unique_ptr<Module> ecbsr_int8_net(const nlohmann::json& g, uint64_t seed) {
  manual_seed(seed);
  std::unique_ptr<Module> net = build_network(g);
  for (const auto& b : dynamic_cast<ECBSR&>(*net).blocks)
    if (auto* p = dynamic_cast<PReLU*>(b->act.get())) uniform_(p->weight, 0.05, 0.4);
  net->eval();
  return net;
}

Tensor ecbsr_int8_input(int64_t h, int64_t w, uint64_t seed) {
  Tensor x = Tensor::empty({1, 3, h, w}, DType::f32);
  manual_seed(seed);
  uniform_(x, 0.0, 1.0);
  return x;
}

double ecbsr_int8_max_abs(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

// PSNR of a against b over the raw (unclamped) values, the peak b's range (max - min): an
// untrained ECBSR's output is not an image in [0, 1] (these reach about 2.5).
double ecbsr_int8_psnr(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.contiguous().to_vector(), y = b.contiguous().to_vector();
  double mse = 0;
  for (size_t i = 0; i < x.size(); ++i) mse += (x[i] - y[i]) * (x[i] - y[i]) / double(x.size());
  const auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  std::printf("  (the ECBSR's fp32 output spans [%.3f, %.3f])\n", *lo, *hi);
  return 10 * std::log10((*hi - *lo) * (*hi - *lo) / mse);
}

// The model's output in ONNX Runtime's CPU provider (tools/ort/run_model.js).
Tensor ecbsr_int8_in_onnxruntime(const test::TempDir& dir, const std::string& model, const Tensor& x) {
  {
    std::ofstream f(dir.file("in.f32"), std::ios::binary);
    f.write(reinterpret_cast<const char*>(x.data<float>()), x.numel() * 4);
  }
  std::ostringstream cmd;
  cmd << "node " << test::source_dir() << "/tools/ort/run_model.js " << model << " " << dir.file("in.f32") << " "
      << x.size(0) << " " << x.size(1) << " " << x.size(2) << " " << x.size(3) << " " << dir.file("out.f32");
  const int rc = test::run(cmd.str(), dir.file("ort.log"));
  INFO(test::read_text(dir.file("ort.log")));
  REQUIRE(rc == 0);
  const std::string out = test::read_text(dir.file("out.f32"));
  Tensor y = Tensor::empty({x.size(0), x.size(1), x.size(2) * 2, x.size(3) * 2}, DType::f32);
  REQUIRE(int64_t(out.size()) == y.numel() * 4);
  std::copy(out.data(), out.data() + out.size(), reinterpret_cast<char*>(y.data<float>()));
  return y;
}

constexpr double kEcbsrFakeQuantTolerance = 1e-5;  // tests/test_quantize.cpp's kFakeQuantTolerance

}  // namespace

// The folded net calibrates one input per block (body.0, body.2, ...), and its fake-quant
// forward stays near the ECBSR's float forward: measured 50.7 dB; PReLU slopes taken from the
// wrong block in the fold give 37.6 dB, under the 45 dB floor.
TEST_CASE("quant/ecbsr_folded_fake_quant_is_close_to_the_ecbsr") {
  std::unique_ptr<Module> net = ecbsr_int8_net(ecbsr_int8_g(2, "prelu"), 61);
  std::unique_ptr<SRVGGNetCompact> folded = ecbsr_to_srvgg(dynamic_cast<ECBSR&>(*net));
  std::vector<Tensor> calib = {ecbsr_int8_input(16, 12, 62), ecbsr_int8_input(12, 16, 63)};
  const quant::QuantTable table = quant::calibrate(*folded, calib, {});
  CHECK(table.inputs.size() == 4);
  CHECK(table.inputs.count("body.0") == 1);
  CHECK(table.inputs.count("body.6") == 1);
  const Tensor x = ecbsr_int8_input(11, 13, 64);
  quant::FakeQuantForward fq(*folded, table);
  Tensor want;
  {
    NoGradGuard no_grad;
    want = net->forward(x);
  }
  const double psnr = ecbsr_int8_psnr(fq(x), want);
  std::printf("ECBSR x2 prelu, folded, int8 fake-quant vs the ECBSR's fp32: PSNR %.2f dB\n", psnr);
  CHECK(psnr >= 45);
}

TEST_CASE("onnx/int8_ecbsr_x2_relu_folded_matches_fake_quant_in_onnxruntime") {
  if (!deploy::onnx_export_built() || !test::ort_available()) {
    WARN("SKIPPED: needs ONNX export and onnxruntime-node in tools/ort (tools/setup.sh)");
    return;
  }
  test::TempDir dir;
  std::unique_ptr<Module> net = ecbsr_int8_net(ecbsr_int8_g(2, "relu"), 71);
  std::unique_ptr<SRVGGNetCompact> folded = ecbsr_to_srvgg(dynamic_cast<ECBSR&>(*net));
  const quant::QuantTable table =
      quant::calibrate(*folded, {ecbsr_int8_input(16, 12, 72), ecbsr_int8_input(12, 16, 73)}, {});
  deploy::OnnxExportOptions eo;
  eo.int8 = &table;
  const std::string model = dir.file("ecbsr_int8.onnx");
  deploy::export_onnx(*folded, eo, model);
  if (test::python_onnx_available()) {
    const int rc = test::run(test::python3() + " " + test::source_dir() + "/tests/onnx/check_model.py " + model +
                                 " int8", dir.file("checker.log"));
    INFO(test::read_text(dir.file("checker.log")));
    REQUIRE(rc == 0);
  }
  const Tensor x = ecbsr_int8_input(9, 15, 74);
  const Tensor got = ecbsr_int8_in_onnxruntime(dir, model, x);
  quant::FakeQuantForward fq(*folded, table);
  Tensor fp32;
  {
    NoGradGuard no_grad;
    fp32 = net->forward(x);
  }
  const double d = ecbsr_int8_max_abs(got, fq(x)), psnr = ecbsr_int8_psnr(got, fp32);
  std::printf("int8 ECBSR x2 relu (folded): ONNX Runtime vs fake-quant max abs %.3g (%.0f%% of %.0e); PSNR vs the "
              "ECBSR's fp32 %.2f dB\n", d, 100 * d / kEcbsrFakeQuantTolerance, kEcbsrFakeQuantTolerance, psnr);
  CHECK(d <= kEcbsrFakeQuantTolerance);
  CHECK(psnr >= 45);
}

TEST_CASE("onnx/quantize_cli_folds_an_ecbsr_and_refuses_one_without_an_srvgg_form") {
  if (!deploy::onnx_export_built()) return;
  test::TempDir dir;
  std::mt19937_64 rng(81);
  const std::string calib = dir.subdir("calib");
  data::write_image(calib + "/a.png", test::random_image(rng, 21, 17, 3));
  data::write_image(calib + "/b.png", test::random_image(rng, 15, 23, 3));
  auto quantize = [&](const nlohmann::json& g, const std::string& name) {
    std::unique_ptr<Module> net = ecbsr_int8_net(g, 82);
    write_safetensors(dir.file(name + ".safetensors"), net->state_dict());
    std::ofstream(dir.file(name + ".json")) << nlohmann::json{{"name", "q"}, {"network_g", g}}.dump();
    const int rc = test::run(test::srengine_exe() + " quantize --config " + dir.file(name + ".json") + " --weights " +
                                 dir.file(name + ".safetensors") + " --calib " + calib + " --output " +
                                 dir.file(name + ".onnx"), dir.file(name + ".log"));
    return std::pair{rc, test::read_text(dir.file(name + ".log"))};
  };
  const auto [rc, log] = quantize(ecbsr_int8_g(3, "prelu"), "prelu");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("folded ECBSR x3 (4 ECBs: num_block 2 and the first and last) into SRVGGNetCompact: 4 3x3 convs, act prelu") !=
        std::string::npos);
  CHECK(log.find("calibrated 4 conv inputs on 2 images") != std::string::npos);
  CHECK(log.find("SRVGGNetCompact x3, int8 QDQ") != std::string::npos);
  CHECK(log.find("mean int8 vs fp32: PSNR") != std::string::npos);
  const auto [bad_rc, bad_log] = quantize(ecbsr_int8_g(2, "linear"), "linear");
  INFO(bad_log);
  CHECK(bad_rc != 0);
  CHECK(bad_log.find("not representable: act_type linear") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.file("linear.onnx")));
}
