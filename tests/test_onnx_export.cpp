// ONNX export (deploy/onnx_export.h, `srengine export`): each generator exported in fp32 and
// fp16 through the CLI, checked by ONNX's Python checker (python3-onnx), run in ONNX Runtime's
// CPU provider (onnxruntime-node: tools/ort/run_model.js) on odd-sized random inputs, and
// compared with srengine's own forward: fp32 within 1e-4 max abs, fp16 within 2e-3. A planted
// wrong weight must fail that comparison; bad options and paths are errors that name them.
// Tools missing: the tests say SKIPPED and why (tools/setup.sh installs them).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/onnx_support.h"
#include "deploy/float16.h"
#include "deploy/onnx_export.h"
#include "engine/autograd.h"
#include "engine/half_float.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "layers/sequential.h"
#include "nets/factory.h"
#include "nets/rrdbnet.h"
#include "support/data_support.h"

using namespace sr;
using sr::test::ort_available, sr::test::python3, sr::test::python_onnx_available, sr::test::run,
    sr::test::source_dir;
namespace fs = std::filesystem;

namespace {


// Every parameter random, so a misplaced channel, slope or bias shows: conv and linear weights
// U(+-1/sqrt(fan_in)) (PyTorch's default, keeping activations O(1)), biases U(+-0.1),
// PReLU slopes and LayerNorm weights U(0.05, 0.4), SwinIR's relative position biases U(+-1)
// (as large as the attention scores, so a misplaced bias or mask shows).
void randomize(Module& net, uint64_t seed) {
  manual_seed(seed);
  for (auto& [k, t] : net.state_dict()) {
    // SwinIR's index and mask buffers are derived from the sizes (the kernels compute both).
    // HAT's relative_position_index_SA / _OCA likewise.
    if (k.find("relative_position_index") != std::string::npos || k.ends_with("attn_mask")) continue;
    if (t.dim() == 4) {
      const double b = 1.0 / std::sqrt(double(t.size(1) * t.size(2) * t.size(3)));
      uniform_(t, -b, b);
    } else if (t.dim() == 2 && k.ends_with(".weight")) {  // Linear (out, in)
      const double b = 1.0 / std::sqrt(double(t.size(1)));
      uniform_(t, -b, b);
    } else if (k.ends_with("relative_position_bias_table")) {
      uniform_(t, -1.0, 1.0);
    } else if (t.dim() == 1 && k.ends_with(".weight")) {  // PReLU's slopes, LayerNorm's weights
      uniform_(t, 0.05, 0.4);
    } else {
      uniform_(t, -0.1, 0.1);
    }
  }
  net.eval();
}

struct Case {
  nlohmann::json network_g;
  std::string dtype = "fp32";
  int n = 1, h = 13, w = 11;     // the input size ORT and srengine run on
  std::string extra_args = "";   // e.g. --opset 11, --shape ...
  uint64_t seed = 1;
  float planted = 0;             // added to one weight before export (the reference keeps it)
};

struct Comparison {
  double max_abs = 0;
  std::string worst;  // where, for messages
  std::string skipped;
};

// Writes the net's weights and a config, exports through the CLI, checks the file with
// ONNX's Python checker, runs it in ONNX Runtime and compares with srengine's forward.
Comparison export_and_compare(const Case& c) {
  Comparison r;
  REQUIRE(fs::exists(test::srengine_exe()));
  test::TempDir dir;
  std::unique_ptr<Module> net = build_network(c.network_g);
  randomize(*net, c.seed);
  NamedTensors weights = net->state_dict();
  if (c.planted != 0) {
    // The exported file gets one weight off by `planted`; `net` (the reference) does not.
    NamedTensors changed;
    for (auto& [k, t] : weights) changed.emplace_back(k, t.clone());
    Tensor& w = changed.front().second;
    w.data<float>()[0] += c.planted;
    weights = changed;
  }
  write_safetensors(dir.file("w.safetensors"), weights);
  std::ofstream(dir.file("cfg.json")) << nlohmann::json{{"name", "onnx_test"}, {"network_g", c.network_g}}.dump();
  const std::string model = dir.file("model.onnx");
  const int rc = run(test::srengine_exe() + " export --config " + dir.file("cfg.json") + " --weights " +
                         dir.file("w.safetensors") + " --output " + model + " --dtype " + c.dtype + " " + c.extra_args,
                     dir.file("export.log"));
  INFO(test::read_text(dir.file("export.log")));
  REQUIRE(rc == 0);
  REQUIRE(fs::exists(model));
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);  // the temp file was renamed

  if (python_onnx_available()) {
    const int crc = run(python3() + " " + source_dir() + "/tests/onnx/check_model.py " + model + " " + c.dtype,
                        dir.file("checker.log"));
    INFO(test::read_text(dir.file("checker.log")));
    REQUIRE(crc == 0);
  }
  if (!ort_available()) {
    r.skipped = python_onnx_available() ? "ONNX Runtime comparison: no onnxruntime-node in tools/ort (run tools/setup.sh)"
                                        : "no onnxruntime-node in tools/ort and no python3-onnx (run tools/setup.sh)";
    return r;
  }

  const int64_t ch = c.network_g.value("num_in_ch", c.network_g.value("in_chans", 3));
  Tensor x = Tensor::empty({c.n, ch, c.h, c.w}, DType::f32);
  manual_seed(c.seed + 100);
  uniform_(x, 0.0, 1.0);
  Tensor ref;
  {
    NoGradGuard no_grad;
    ref = net->forward(x).contiguous();
  }
  const std::vector<float> ort = test::onnxruntime_forward(model, x, ref.shape(), dir.path());
  const float* got = ort.data();
  const float* exp = ref.data<float>();
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double d = std::fabs(double(got[i]) - double(exp[i]));
    if (!(d <= r.max_abs)) {  // also catches NaN
      r.max_abs = std::isnan(d) ? INFINITY : d;
      std::ostringstream s;
      s << "element " << i << ": onnxruntime " << got[i] << ", srengine " << exp[i];
      r.worst = s.str();
    }
  }
  return r;
}

bool export_built() {
  if (deploy::onnx_export_built()) return true;
  WARN("SKIPPED: this srengine was built without ONNX export (no libonnx-dev / libprotobuf-dev: tools/setup.sh)");
  return false;
}

void require_match(const Case& c, double tolerance) {
  if (!export_built()) return;
  if (!ort_available() && !python_onnx_available()) {
    WARN("SKIPPED: neither onnxruntime-node (tools/ort) nor python3-onnx is installed (run tools/setup.sh)");
    return;
  }
  const Comparison r = export_and_compare(c);
  if (!r.skipped.empty()) {
    WARN("SKIPPED: " << r.skipped);
    return;
  }
  INFO("max abs difference " << r.max_abs << " (" << 100 * r.max_abs / tolerance << "% of " << tolerance << "), worst "
                             << r.worst);
  std::printf("%s %s: max abs difference %.3g (%.0f%% of %.0e)\n", c.network_g.dump().c_str(), c.dtype.c_str(),
              r.max_abs, 100 * r.max_abs / tolerance, tolerance);
  CHECK(r.max_abs <= tolerance);
}

nlohmann::json rrdbnet(int scale) {
  return {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"scale", scale},
          {"num_feat", 8},     {"num_block", 2}, {"num_grow_ch", 4}};
}

nlohmann::json srvgg(int upscale, const std::string& act) {
  return {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8},
          {"num_conv", 3},             {"upscale", upscale}, {"act_type", act}};
}

constexpr double kFp32Tolerance = 1e-4;
constexpr double kFp16Tolerance = 2e-3;

}  // namespace

TEST_CASE("onnx/float16_rounding_round_trips_every_half_and_ties_to_even") {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
    if (nan) continue;
    REQUIRE(deploy::float_to_half(half_to_float(uint16_t(h))) == h);
  }
  // Halfway between two halves rounds to the even one; just above rounds up.
  CHECK(deploy::float_to_half(1.0f + 1.0f / 2048) == 0x3c00u);               // 1 + half an ulp -> 1
  CHECK(deploy::float_to_half(1.0f + 3.0f / 2048) == 0x3c02u);               // 1 + 1.5 ulp -> even
  CHECK(deploy::float_to_half(std::nextafter(1.0f + 1.0f / 2048, 2.0f)) == 0x3c01u);
  CHECK(deploy::float_to_half(65519.0f) == 0x7bffu);                          // rounds down to 65504
  CHECK(deploy::float_to_half(65520.0f) == 0x7c00u);                          // rounds to inf
  CHECK(deploy::float_to_half(std::ldexp(1.0f, -25)) == 0x0000u);             // tie below the smallest subnormal
  CHECK(deploy::float_to_half(std::ldexp(1.5f, -25)) == 0x0001u);
  CHECK(deploy::float_to_half(-std::ldexp(1.0f, -14)) == 0x8400u);            // smallest normal
}

TEST_CASE("onnx/shape_option_rejects_malformed_text") {
  CHECK(deploy::parse_onnx_shape("1x3x64x48") == std::array<int64_t, 4>{1, 3, 64, 48});
  for (const char* bad : {"", "1x3x64", "1x3x64x48x2", "1x3x64x", "0x3x64x64", "1x3x-4x64", "1x3x6.5x64", "ax3x4x4",
                          "1X3X4X4", "1x3x4x99999999999"})
    test::require_error([&] { deploy::parse_onnx_shape(bad); }, {"--shape", "NxCxHxW", std::string("'") + bad + "'"});
}

TEST_CASE("onnx/rrdbnet_x4_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rrdbnet(4)};
  c.n = 2;  // the batch is dynamic too
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/rrdbnet_x4_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rrdbnet(4), .dtype = "fp16"};
  require_match(c, kFp16Tolerance);
}

// x2 unshuffles by 2 and x1 by 4, so their sides must divide: even (not multiples of 4 or 8)
// and multiples of 4 (not of 8) are the "odd" sizes there.
TEST_CASE("onnx/rrdbnet_x2_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rrdbnet(2), .h = 14, .w = 10};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/rrdbnet_x2_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rrdbnet(2), .dtype = "fp16", .h = 14, .w = 10};
  require_match(c, kFp16Tolerance);
}

TEST_CASE("onnx/rrdbnet_x1_fp32_opset11_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rrdbnet(1), .h = 12, .w = 20, .extra_args = "--opset 11"};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/srvgg_prelu_x4_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(4, "prelu")};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/srvgg_prelu_x4_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(4, "prelu"), .dtype = "fp16"};
  require_match(c, kFp16Tolerance);
}

// x3: DepthToSpace by 3 and Resize by 3, at sides that are not multiples of 3.
TEST_CASE("onnx/srvgg_prelu_x3_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(3, "prelu"), .h = 7, .w = 10};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/srvgg_relu_x3_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(3, "relu"), .dtype = "fp16", .h = 8, .w = 5};
  require_match(c, kFp16Tolerance);
}

// EDSR: the mean shift and range scaling at both ends, the blocks' residual scaling (a plain Add at
// res_scale 1), and each upsampling layout: x2^n (shuffles by 2) and x3 (one shuffle by 3).
nlohmann::json edsr(int upscale, double res_scale, double img_range) {
  return {{"type", "EDSR"},  {"num_in_ch", 3},          {"num_out_ch", 3},          {"num_feat", 8},
          {"num_block", 2},  {"upscale", upscale},      {"res_scale", res_scale},   {"img_range", img_range},
          {"rgb_mean", {0.45, 0.5, 0.375}}};
}

TEST_CASE("onnx/edsr_x4_res_scale_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = edsr(4, 0.1, 255.0)};
  c.n = 2;
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/edsr_x3_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = edsr(3, 1.0, 255.0), .h = 7, .w = 10};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/edsr_x2_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = edsr(2, 1.0, 1.0), .dtype = "fp16", .h = 9, .w = 6};
  require_match(c, kFp16Tolerance);
}

// RCAN: EDSR's frame around residual groups whose blocks end in channel attention
// (GlobalAveragePool, two 1x1 convs, Sigmoid, Mul), at x2 (res_scale 1: a plain Add) and x3
// (res_scale 0.5), on a batch of 2 (the pool is per image).
nlohmann::json rcan(int upscale, double res_scale) {
  return {{"type", "RCAN"},         {"num_in_ch", 3},  {"num_out_ch", 3},         {"num_feat", 8},
          {"num_group", 2},         {"num_block", 2},  {"squeeze_factor", 4},     {"upscale", upscale},
          {"res_scale", res_scale}, {"img_range", 255.0}, {"rgb_mean", {0.45, 0.5, 0.375}}};
}

TEST_CASE("onnx/rcan_x2_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rcan(2, 1.0), .h = 9, .w = 6};
  c.n = 2;
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/rcan_x3_res_scale_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = rcan(3, 0.5), .dtype = "fp16", .h = 7, .w = 10};
  require_match(c, kFp16Tolerance);
}

// MSRResNet: the bilinear base as Resize(linear, pytorch_half_pixel) at x4 (two shuffles) and x3,
// on sides where the clamped edge taps matter.
nlohmann::json msrresnet(int upscale) {
  return {{"type", "MSRResNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8}, {"num_block", 2},
          {"upscale", upscale}};
}

TEST_CASE("onnx/msrresnet_x4_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = msrresnet(4), .h = 5, .w = 9};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/msrresnet_x3_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = msrresnet(3), .dtype = "fp16", .h = 7, .w = 4};
  require_match(c, kFp16Tolerance);
}

TEST_CASE("onnx/srvgg_relu_x2_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(2, "relu"), .h = 9, .w = 15};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/srvgg_leakyrelu_x2_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(2, "leakyrelu"), .dtype = "fp16", .h = 9, .w = 15};
  require_match(c, kFp16Tolerance);
}

TEST_CASE("onnx/fixed_shape_export_matches_srengine_in_onnxruntime") {
  Case c{.network_g = srvgg(4, "leakyrelu"), .h = 7, .w = 5, .extra_args = "--shape 1x3x7x5"};
  require_match(c, kFp32Tolerance);
}

// SwinIR: the padding to the window, the shifted windows (Slice + Concat rolls), the shift mask
// and the windows per image computed from the input's shape, so one graph serves every size.
// Small nets (two RSTBs of two blocks: a plain and a shifted one each) on sides that need
// padding, on a batch of 2 (the mask is per image): every head, both residual convs, qk_scale
// and img_range 255, LayerNormalization (opset 17) and its written-out form (opset 11), fp16,
// a fixed shape, a block whose training patch fits one window (no shift, no mask).
nlohmann::json swinir(int upscale, const std::string& upsampler) {
  return {{"type", "SwinIR"},     {"upscale", upscale}, {"in_chans", 3},     {"img_size", 8},
          {"window_size", 4},     {"img_range", 1.0},   {"depths", {2, 2}},  {"embed_dim", 12},
          {"num_heads", {2, 3}},  {"mlp_ratio", 2.0},   {"upsampler", upsampler}, {"num_feat", 8},
          {"drop_path_rate", 0.0}};
}

TEST_CASE("onnx/swinir_x2_pixelshuffle_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = swinir(2, "pixelshuffle"), .h = 13, .w = 11};
  c.n = 2;
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/swinir_x3_direct_3conv_opset11_matches_srengine_in_onnxruntime") {
  nlohmann::json net = swinir(3, "pixelshuffledirect");
  net["resi_connection"] = "3conv";
  net["qk_scale"] = 0.3;
  net["img_range"] = 255.0;
  Case c{.network_g = net, .h = 9, .w = 14, .extra_args = "--opset 11"};
  require_match(c, kFp32Tolerance);
}

TEST_CASE("onnx/swinir_x4_nearest_conv_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = swinir(4, "nearest+conv"), .dtype = "fp16", .h = 10, .w = 7};
  require_match(c, kFp16Tolerance);
}

TEST_CASE("onnx/swinir_x1_one_window_patch_fixed_shape_matches_srengine_in_onnxruntime") {
  nlohmann::json net = swinir(1, "");
  net["in_chans"] = 1;
  net["img_size"] = 4;  // one window: every block plain
  net["window_size"] = 4;
  Case c{.network_g = net, .h = 12, .w = 6, .extra_args = "--shape 1x1x12x6"};
  require_match(c, kFp32Tolerance);
}

// Below opset 17 the LayerNorms are written out; in fp16 their statistics run in float32
// (tests/onnx/check_model.py checks every ReduceMean's input type), as img_range 255 features
// would overflow float16's squares.
TEST_CASE("onnx/swinir_x2_fp16_opset11_img_range_255_matches_srengine_in_onnxruntime") {
  nlohmann::json net = swinir(2, "pixelshuffle");
  net["img_range"] = 255.0;
  Case c{.network_g = net, .dtype = "fp16", .h = 8, .w = 9, .extra_args = "--opset 11"};
  require_match(c, kFp16Tolerance);
}

// A fixed shape the graph's reflect padding cannot serve is refused at export, naming the side.
TEST_CASE("onnx/swinir_fixed_shape_smaller_than_its_padding_is_refused") {
  if (!export_built()) return;
  test::TempDir dir;
  nlohmann::json opt = swinir(2, "pixelshuffle");
  opt["window_size"] = 8;
  const std::unique_ptr<Module> net = build_network(opt);
  deploy::OnnxExportOptions o;
  o.shape = std::array<int64_t, 4>{1, 3, 5, 4};  // 5 pads by 3 (allowed), 4 would pad by 4
  test::require_error([&] { deploy::export_onnx(*net, o, dir.file("m.onnx")); },
                      {"--shape 1x3x5x4", "window_size 8", "at least 5", "4 would be padded by 4"});
  CHECK(!fs::exists(dir.file("m.onnx")));
  o.shape = std::array<int64_t, 4>{1, 3, 5, 5};
  deploy::export_onnx(*net, o, dir.file("m.onnx"));
  CHECK(fs::exists(dir.file("m.onnx")));
}

// HAT: SwinIR's pieces plus the channel attention block (conv, GELU, conv, channel attention,
// scaled by conv_scale) and the overlapping cross-attention, whose zero-padded key / value
// windows are cut from the input's grid in the graph. Two RHAGs of two blocks (a plain and a
// shifted one each), window 4 against key windows of 6, on sides that need padding: batch 2 in
// fp32 (every test: conv_scale 0.3, so a wrong conv branch shows); x3, identity residuals, qk_scale
// and key windows of 8 at opset 11; fp16; grey, img_range 255 and a fixed shape with one window
// per side (every key window crosses the border).
nlohmann::json hat(int upscale) {
  return {{"type", "HAT"},         {"upscale", upscale},  {"in_chans", 3},        {"img_size", 8},
          {"window_size", 4},      {"overlap_ratio", 0.5}, {"compress_ratio", 3}, {"squeeze_factor", 3},
          {"conv_scale", 0.3},     {"img_range", 1.0},    {"depths", {2, 2}},     {"embed_dim", 12},
          {"num_heads", {2, 3}},   {"mlp_ratio", 2.0},    {"upsampler", "pixelshuffle"}, {"num_feat", 8},
          {"drop_path_rate", 0.0}};
}

// HAT's fp32 graphs agree to about 1.5e-7: a tenth of the shared fp32 tolerance still leaves a
// margin of 60, and makes the planted bugs below fail by more.
constexpr double kHatFp32Tolerance = 1e-5;

TEST_CASE("onnx/hat_x2_fp32_matches_srengine_in_onnxruntime") {
  Case c{.network_g = hat(2), .h = 13, .w = 11};
  c.n = 2;
  require_match(c, kHatFp32Tolerance);
}

// Window 8 without overlap (key windows = query windows, no neighbours), three groups, batch 3.
TEST_CASE("onnx/hat_x2_window_8_no_overlap_three_groups_matches_srengine_in_onnxruntime") {
  nlohmann::json net = hat(2);
  net["window_size"] = 8;
  net["overlap_ratio"] = 0.0;
  net["depths"] = {2, 1, 2};
  net["num_heads"] = {2, 3, 2};
  Case c{.network_g = net, .h = 19, .w = 23};
  c.n = 3;
  require_match(c, kHatFp32Tolerance);
}

// Key windows reaching past the neighbouring windows (p > ws) are refused at export, naming why.
TEST_CASE("onnx/hat_key_windows_past_the_neighbours_are_refused") {
  if (!export_built()) return;
  test::TempDir dir;
  nlohmann::json opt = hat(2);
  opt["overlap_ratio"] = 2.5;  // key windows of 14 around windows of 4: 5 rows past each side
  const std::unique_ptr<Module> net = build_network(opt);
  test::require_error([&] { deploy::export_onnx(*net, {}, dir.file("m.onnx")); },
                      {"HAT", "key windows of 14", "5 rows past", "overlap_ratio 2.5"});
  CHECK(!fs::exists(dir.file("m.onnx")));
}

TEST_CASE("onnx/hat_x3_identity_overlap_8_opset11_matches_srengine_in_onnxruntime") {
  nlohmann::json net = hat(3);
  net["resi_connection"] = "identity";
  net["overlap_ratio"] = 1.0;  // key windows of 8 around windows of 4: padding 2
  net["qk_scale"] = 0.3;
  Case c{.network_g = net, .h = 9, .w = 14, .extra_args = "--opset 11"};
  require_match(c, kHatFp32Tolerance);
}

TEST_CASE("onnx/hat_x4_fp16_matches_srengine_in_onnxruntime") {
  Case c{.network_g = hat(4), .dtype = "fp16", .h = 10, .w = 7};
  require_match(c, kFp16Tolerance);
}

TEST_CASE("onnx/hat_x2_gray_fixed_shape_one_window_a_side_matches_srengine_in_onnxruntime") {
  nlohmann::json net = hat(2);
  net["in_chans"] = 1;
  net["img_range"] = 255.0;
  Case c{.network_g = net, .h = 4, .w = 3, .extra_args = "--shape 1x1x4x3"};
  require_match(c, kHatFp32Tolerance);
}

// The comparison above must be able to fail: one weight of the exported file off by 0.25
// (conv_first's first tap, the tensor whose channels the x2 export reorders; the reference net
// keeps the right value) has to show up beyond the tolerance of each precision.
TEST_CASE("onnx/planted_wrong_weight_fails_the_comparison") {
  if (!export_built()) return;
  if (!ort_available()) {
    WARN("SKIPPED: no onnxruntime-node in tools/ort (run tools/setup.sh)");
    return;
  }
  for (const auto& [dtype, tolerance] : {std::pair{"fp32", kFp32Tolerance}, std::pair{"fp16", kFp16Tolerance}}) {
    Case c{.network_g = rrdbnet(2), .dtype = dtype, .h = 14, .w = 10};
    c.planted = 0.25f;
    const Comparison r = export_and_compare(c);
    INFO(dtype << ": max abs difference " << r.max_abs << ", worst " << r.worst);
    CHECK(r.max_abs > 2 * tolerance);
  }
}

namespace {

// `srengine export` with `args`; returns its exit code and output.
std::pair<int, std::string> export_cli(const test::TempDir& dir, const std::string& args) {
  const int rc = run(test::srengine_exe() + " export " + args, dir.file("cli.log"));
  return {rc, test::read_text(dir.file("cli.log"))};
}

}  // namespace

// What the input holds is in the file, for a deployer's code: an RGB net says RGB, a one-channel
// net the BT.601 Y that `srengine infer` feeds it (not "RGB", its old text), in doc_string and in
// metadata_props, read back with ONNX's Python package; the CLI and --help say so too.
TEST_CASE("onnx/exported_model_says_rgb_or_y_in_doc_string_and_metadata") {
  if (!export_built()) return;
  REQUIRE(fs::exists(test::srengine_exe()));
  test::TempDir dir;
  const auto [hrc, help] = export_cli(dir, "--help");
  REQUIRE(hrc == 0);
  CHECK(help.find("Y of BT.601 YCbCr in MATLAB's rgb2ycbcr convention") != std::string::npos);
  CHECK(help.find("input_color rgb") != std::string::npos);
  struct Net {
    std::string name, colour;
    nlohmann::json network_g;
    int scale = 0;
  };
  nlohmann::json srvgg_y = srvgg(2, "prelu");
  srvgg_y["num_in_ch"] = srvgg_y["num_out_ch"] = 1;
  const nlohmann::json ecbsr_y = {{"type", "ECBSR"},    {"num_in_ch", 1},     {"num_out_ch", 1}, {"num_block", 1},
                                  {"num_channel", 4}, {"with_idt", false}, {"act_type", "prelu"}, {"scale", 4}};
  nlohmann::json ecbsr_1to3 = ecbsr_y;
  ecbsr_1to3["num_out_ch"] = 3;
  for (const Net& n : {Net{"srvgg_rgb", "rgb", srvgg(2, "prelu"), 2}, Net{"srvgg_y", "y", srvgg_y, 2},
                       Net{"ecbsr_y", "y", ecbsr_y, 4}, Net{"ecbsr_1to3", "unspecified", ecbsr_1to3, 4}}) {
    INFO(n.name);
    std::unique_ptr<Module> net = build_network(n.network_g);
    write_safetensors(dir.file(n.name + ".safetensors"), net->state_dict());
    std::ofstream(dir.file(n.name + ".json")) << nlohmann::json{{"name", "t"}, {"network_g", n.network_g}}.dump();
    const std::string model = dir.file(n.name + ".onnx");
    const auto [rc, log] = export_cli(dir, "--config " + dir.file(n.name + ".json") + " --weights " +
                                               dir.file(n.name + ".safetensors") + " --output " + model);
    INFO(log);
    REQUIRE(rc == 0);
    if (n.colour == "rgb") CHECK(log.find("input  [batch, 3, height, width] RGB in [0, 1]") != std::string::npos);
    if (n.colour == "y") CHECK(log.find("input  [batch, 1, height, width] Y (BT.601 YCbCr") != std::string::npos);
    if (!python_onnx_available()) continue;
    const int prc = run(python3() + " -c 'import json, sys, onnx; m = onnx.load(sys.argv[1]); open(sys.argv[2], \"w\")"
                            ".write(json.dumps({\"doc\": m.doc_string, \"meta\": {p.key: p.value for p in "
                            "m.metadata_props}}))' " + model + " " + dir.file("meta.json"),
                        dir.file("py.log"));
    INFO(test::read_text(dir.file("py.log")));
    REQUIRE(prc == 0);
    const auto got = nlohmann::json::parse(test::read_text(dir.file("meta.json")));
    INFO(got.dump(1));
    const std::string doc = got["doc"];
    const nlohmann::json& meta = got["meta"];
    CHECK(meta.value("input_color", "") == n.colour);
    CHECK(meta.value("output_color", "") == n.colour);
    CHECK(meta.value("value_range", "") == "[0, 1]");
    CHECK(meta.value("upscale", "") == std::to_string(n.scale));
    if (n.colour == "rgb") {
      CHECK(doc.find("input RGB NCHW float32 in [0, 1]") != std::string::npos);
      CHECK(!meta.contains("ycbcr"));
    } else if (n.colour == "y") {
      CHECK(doc.find("RGB") == std::string::npos);
      CHECK(doc.find("input Y NCHW [batch, 1, H, W] float32 in [0, 1]: the Y of BT.601 YCbCr in MATLAB's "
                     "rgb2ycbcr convention") != std::string::npos);
      CHECK(doc.find("16 + 65.481 R + 128.553 G + 24.966 B") != std::string::npos);
      CHECK(doc.find("Cb and Cr are the application's") != std::string::npos);
      CHECK(meta.value("ycbcr", "").find("16 + 65.481 R + 128.553 G + 24.966 B") != std::string::npos);
      CHECK(meta.value("chroma", "").find("bicubic") != std::string::npos);
    } else {
      CHECK(doc.find("input 1 channel(s)") != std::string::npos);
      CHECK(doc.find("output 3 channel(s)") != std::string::npos);
    }
  }
}

TEST_CASE("onnx/export_errors_name_the_bad_option_path_or_op") {
  if (!export_built()) return;
  REQUIRE(fs::exists(test::srengine_exe()));
  test::TempDir dir;
  std::unique_ptr<Module> net = build_network(rrdbnet(2));
  write_safetensors(dir.file("w.safetensors"), net->state_dict());
  std::ofstream(dir.file("cfg.json")) << nlohmann::json{{"name", "t"}, {"network_g", rrdbnet(2)}}.dump();
  const std::string model = " --config " + dir.file("cfg.json") + " --weights " + dir.file("w.safetensors");
  std::ofstream(dir.file("a_file")) << "x";

  struct Bad {
    std::string args;
    std::vector<std::string> says;
  };
  const std::vector<Bad> bad = {
      {model + " --output " + dir.file("no/such/folder/m.onnx"), {"cannot write", "no/such/folder/m.onnx", "does not exist"}},
      {model + " --output " + dir.file("a_file/m.onnx"), {"cannot write", "a_file/m.onnx"}},
      {model + " --output " + dir.path(), {"cannot write", dir.path(), "folder"}},
      {model + " --output " + dir.file("m.onnx") + " --dtype int4", {"--dtype", "fp32 or fp16", "'int4'"}},
      {model + " --output " + dir.file("m.onnx") + " --opset 9", {"--opset", "11", "17", "9"}},
      {model + " --output " + dir.file("m.onnx") + " --shape 1x3x64", {"--shape", "'1x3x64'"}},
      {model + " --output " + dir.file("m.onnx") + " --shape 1x4x64x64", {"--shape", "3 channels", "not 4"}},
      {model + " --output " + dir.file("m.onnx") + " --shape 1x3x63x64", {"--shape", "multiples of 2"}},
      {model + " --output " + dir.file("m.onnx") + " --shape 1x3x8x8 --dynamic", {"--shape or --dynamic"}},
      {model, {"--output"}},
      {model + " --output " + dir.file("m.onnx") + " --bogus", {"unknown argument", "--bogus"}},
      {model + " --output " + dir.file("fifo.onnx"), {"cannot write", "fifo.onnx", "not a regular file"}},
  };
  REQUIRE(::mkfifo(dir.file("fifo.onnx").c_str(), 0644) == 0);
  for (const Bad& b : bad) {
    const auto [rc, log] = export_cli(dir, b.args);
    INFO(b.args << "\n" << log);
    CHECK(rc != 0);
    for (const std::string& s : b.says) CHECK(log.find(s) != std::string::npos);
    CHECK(log.find("srengine export: error:") != std::string::npos);
  }
  CHECK(!fs::exists(dir.file("m.onnx")));
  CHECK(fs::is_fifo(fs::status(dir.file("fifo.onnx"))));  // left as it was

  // An existing file: kept as it was by a failed export, replaced whole by a good one.
  std::ofstream(dir.file("m.onnx")) << "old";
  CHECK(export_cli(dir, model + " --output " + dir.file("m.onnx") + " --dtype fp64").first != 0);
  CHECK(test::read_text(dir.file("m.onnx")) == "old");
  const auto [ok_rc, ok_log] = export_cli(dir, model + " --output " + dir.file("m.onnx") + " --shape 2x3x8x6");
  INFO(ok_log);
  CHECK(ok_rc == 0);
  CHECK(ok_log.find("input  [2, 3, 8, 6]") != std::string::npos);
  CHECK(ok_log.find("output [2, 3, 16, 12]") != std::string::npos);
  CHECK(fs::file_size(dir.file("m.onnx")) > 1000);

  // A weight beyond fp16's range: refused by name for --dtype fp16 (it would become infinity),
  // exported as it is in fp32.
  for (auto& [k, t] : net->state_dict())
    if (k == "conv_first.bias") t.fill_(1e6);
  write_safetensors(dir.file("big.safetensors"), net->state_dict());
  const std::string big = " --config " + dir.file("cfg.json") + " --weights " + dir.file("big.safetensors");
  const auto [big_rc, big_log] = export_cli(dir, big + " --output " + dir.file("big.onnx") + " --dtype fp16");
  INFO(big_log);
  CHECK(big_rc != 0);
  CHECK(big_log.find("'conv_first.bias' holds 1e+06, beyond fp16's range") != std::string::npos);
  CHECK(export_cli(dir, big + " --output " + dir.file("big.onnx")).first == 0);

  // A network that is not a generator: named, with what can be exported.
  const nlohmann::json disc = {{"type", "VGGStyleDiscriminator"}, {"num_in_ch", 3}, {"num_feat", 4}};
  std::unique_ptr<Module> d = build_network(disc);
  write_safetensors(dir.file("d.safetensors"), d->state_dict());
  std::ofstream(dir.file("disc.json")) << nlohmann::json{{"name", "t"}, {"network_g", disc}}.dump();
  const auto [rc, log] = export_cli(dir, "--config " + dir.file("disc.json") + " --weights " + dir.file("d.safetensors") +
                                             " --output " + dir.file("d.onnx"));
  INFO(log);
  CHECK(rc != 0);
  CHECK(log.find("VGGStyleDiscriminator has no ONNX mapping") != std::string::npos);
  CHECK(log.find("RRDBNet, SRVGGNetCompact, EDSR, MSRResNet, RCAN, SwinIR, HAT and ECBSR") != std::string::npos);
  CHECK(!fs::exists(dir.file("d.onnx")));
}

TEST_CASE("onnx/unmappable_op_inside_a_generator_is_named_with_its_path") {
  if (!export_built()) return;
  test::TempDir dir;
  RRDBNet net(3, 3, 4, 8, 1, 4);
  net.body->push_back(std::make_shared<MaxPool2d>(2, 2));
  test::require_error([&] { deploy::export_onnx(net, {}, dir.file("m.onnx")); },
                      {"op MaxPool2d", "'body.1'", "no ONNX mapping"});
  CHECK(!fs::exists(dir.file("m.onnx")));
}
