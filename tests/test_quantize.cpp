// int8 post-training quantisation (quant/, `srengine quantize`). quant/: the quantisation
// arithmetic, the three calibration methods on distributions whose answer is known, the
// conv-by-conv forward against the networks' own, the calibrated ranges against the conv
// inputs computed with the networks' modules (and a planted calibration bug that test
// catches). onnx/: int8 QDQ exports of SRVGGNetCompact and RRDBNet x2/x4 run in ONNX Runtime on
// odd-sized inputs, against srengine's fake-quant forward (tight) and the fp32 output (the
// quality budget); a planted wrong scale; the CLI's report and its errors.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "support/onnx_support.h"
#include "data/image.h"
#include "data/image_io.h"
#include "data/metrics.h"
#include "deploy/onnx_export.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "layers/sequential.h"
#include "nets/factory.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"
#include "quant/ptq.h"
#include "support/data_support.h"

using namespace sr;
using sr::test::ort_available, sr::test::python3, sr::test::python_onnx_available, sr::test::run,
    sr::test::source_dir;
using namespace sr::quant;
namespace fs = std::filesystem;

namespace {

std::vector<float> uniform_values(std::mt19937_64& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

TensorStats stats_of(const std::vector<float>& v, bool histogram) {
  TensorStats s;
  s.observe_range(v.data(), int64_t(v.size()), "test tensor");
  if (histogram) {
    s.start_histogram();
    s.observe_histogram(v.data(), int64_t(v.size()));
  }
  return s;
}

}  // namespace

TEST_CASE("quant/activation_qparams_cover_the_range_and_keep_zero_exact") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    const double lo = -std::uniform_real_distribution<double>(0.01, 5)(rng);
    const double hi = std::uniform_real_distribution<double>(0.01, 5)(rng);
    const ActivationQParams q = activation_qparams(lo, hi);
    INFO("range [" << lo << ", " << hi << "] scale " << q.scale << " zero point " << q.zero_point);
    CHECK(q.scale == Approx((hi - lo) / 255).epsilon(1e-6));
    CHECK(q.zero_point >= -128);
    CHECK(q.zero_point <= 127);
    CHECK(fake_quant_value(0.0f, q) == 0.0f);  // the zero padding stays exact
    // Inside the range: within half a step; beyond it: saturated at the ends.
    for (float x : uniform_values(rng, 200, float(lo), float(hi)))
      CHECK(std::fabs(fake_quant_value(x, q) - x) <= 0.5f * q.scale * (1 + 1e-5f));
    const float top = (127.0f - float(q.zero_point)) * q.scale, bottom = (-128.0f - float(q.zero_point)) * q.scale;
    CHECK(fake_quant_value(float(hi) * 3, q) == top);
    CHECK(fake_quant_value(float(lo) * 3, q) == bottom);
    CHECK(std::fabs(top - hi) <= q.scale);
    CHECK(std::fabs(bottom - lo) <= q.scale);
  }
  // Symmetric: zero point 0, the larger side on 127 steps.
  const ActivationQParams sym = activation_qparams(-0.5, 2.0, true);
  CHECK(sym.zero_point == 0);
  CHECK(sym.scale == Approx(2.0 / 127));
  CHECK(fake_quant_value(-3.0f, sym) == -128 * sym.scale);  // QuantizeLinear saturates at -128
  // A one-signed range is widened to contain 0: [0.5, 2] quantises as [0, 2].
  const ActivationQParams pos = activation_qparams(0.5, 2.0);
  CHECK(pos.zero_point == -128);
  CHECK(pos.scale == Approx(2.0 / 255));
  // Ties round to even, as QuantizeLinear: 2.5 steps -> 2, 3.5 -> 4 (zero point 0, scale 1).
  const ActivationQParams unit{1.0f, 0};
  CHECK(fake_quant_value(2.5f, unit) == 2.0f);
  CHECK(fake_quant_value(3.5f, unit) == 4.0f);
  CHECK(fake_quant_value(-2.5f, unit) == -2.0f);
}

TEST_CASE("quant/minmax_of_a_uniform_tensor_is_its_min_and_max") {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 10; ++trial) {
    const float a = std::uniform_real_distribution<float>(-3, -0.1f)(rng);
    const float b = std::uniform_real_distribution<float>(0.1f, 3)(rng);
    std::vector<float> v = uniform_values(rng, 10000, a, b);
    const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    // Observed in three pieces, as three calibration images.
    TensorStats s;
    s.observe_range(v.data(), 3000, "t");
    s.observe_range(v.data() + 3000, 5000, "t");
    s.observe_range(v.data() + 8000, 2000, "t");
    const Range r = calibrated_range(s, CalibMethod::minmax, 99.99);
    CHECK(r.lo == *mn);
    CHECK(r.hi == *mx);
  }
  TensorStats bad;
  std::vector<float> nan = {1.0f, std::nanf("")};
  test::require_error([&] { bad.observe_range(nan.data(), 2, "the input of conv 'body.0'"); },
                      {"conv 'body.0'", "NaN"});
}

TEST_CASE("quant/percentile_ignores_one_outlier") {
  std::mt19937_64 rng(13);
  std::vector<float> v = uniform_values(rng, 100000, 0, 1);
  v[777] = 10;  // one value in 100001: beyond the 99.99th percentile
  const TensorStats s = stats_of(v, true);
  CHECK(calibrated_range(s, CalibMethod::minmax, 99.99).hi == 10);
  const Range p = calibrated_range(s, CalibMethod::percentile, 99.99);
  INFO("percentile range [" << p.lo << ", " << p.hi << "]");
  CHECK(p.lo == s.lo);  // nothing below 0 to clip
  CHECK(p.hi >= 0.995);
  CHECK(p.hi <= 1.0 + 2 * 10.0 / kHistogramBins);  // the bin edge just above the bulk's max
  // 90th percentile of U(0, 1) is 0.9, to the histogram's resolution (10 / 2048).
  CHECK(percentile_threshold(s.hist, s.bound, 90) == Approx(0.9).margin(0.006));
  // Known cumulative counts: bins of width 1, counts 1, 2, 3, 4: 30% lies at or below edge 2.
  CHECK(percentile_threshold({1, 2, 3, 4}, 4, 30) == 2);
  CHECK(percentile_threshold({1, 2, 3, 4}, 4, 31) == 3);
  CHECK(percentile_threshold({1, 2, 3, 4}, 4, 100) == 4);
  test::require_error([&] { percentile_threshold({1, 2}, 2, 0); }, {"--percentile", "(0, 100]"});
}

TEST_CASE("quant/entropy_keeps_a_uniform_tensor_and_clips_rare_outliers_and_long_tails") {
  std::mt19937_64 rng(14);
  // Uniform: every clip loses mass that 128 levels would have represented well: T ~ max.
  const std::vector<float> u = uniform_values(rng, 200000, -1, 1);
  const TensorStats su = stats_of(u, true);
  const double tu = entropy_threshold(su.hist, su.bound);
  INFO("uniform: threshold " << tu << " of max |x| " << su.bound);
  CHECK(tu >= 0.97 * su.bound);
  // The same with a few far outliers (x8): the threshold stays at the bulk.
  std::vector<float> o = u;
  for (int i = 0; i < 5; ++i) o[i * 1000] = 8.0f;
  const TensorStats so = stats_of(o, true);
  const double to = entropy_threshold(so.hist, so.bound);
  INFO("outliers: threshold " << to);
  CHECK(to >= 0.95);
  CHECK(to <= 1.1);
  const Range ro = calibrated_range(so, CalibMethod::entropy, 99.99);
  CHECK(ro.hi == Approx(to));
  CHECK(ro.lo == Approx(std::max(so.lo, -to)));
  // An exponential distribution (long tail): the KL optimum clips inside the largest value.
  std::exponential_distribution<float> e(1.0f);
  std::vector<float> l(200000);
  for (float& x : l) x = e(rng);
  const TensorStats sl = stats_of(l, true);
  const double tl = entropy_threshold(sl.hist, sl.bound);
  INFO("exponential: threshold " << tl << " of max " << sl.bound);
  CHECK(tl < 0.9 * sl.bound);
  CHECK(tl > 3.0);  // and keeps the bulk (95% of the mass lies below 3)
}

TEST_CASE("quant/weights_int8_symmetric_per_output_channel_or_per_tensor") {
  manual_seed(15);
  Tensor w = Tensor::empty({6, 4, 3, 3}, DType::f32);
  uniform_(w, -1, 1);
  // Channel c scaled by 10^(c - 3): per-tensor steps are far too coarse for the small ones.
  float* p = w.data<float>();
  for (int64_t c = 0; c < 6; ++c)
    for (int64_t i = 0; i < 36; ++i) p[c * 36 + i] *= std::pow(10.0f, float(c - 3));
  for (bool per_channel : {true, false}) {
    const WeightQuant q = quantize_weight(w, per_channel);
    REQUIRE(q.scale.size() == (per_channel ? 6u : 1u));
    const Tensor d = dequantize_weight(q);
    const float* dp = d.data<float>();
    for (int64_t c = 0; c < 6; ++c) {
      float m = 0, err = 0;
      int qmax = 0;
      for (int64_t i = 0; i < 36; ++i) {
        m = std::max(m, std::fabs(p[c * 36 + i]));
        err = std::max(err, std::fabs(dp[c * 36 + i] - p[c * 36 + i]));
        qmax = std::max(qmax, std::abs(int(q.values[c * 36 + i])));
      }
      const float s = q.scale[per_channel ? c : 0];
      INFO((per_channel ? "per channel" : "per tensor") << ", channel " << c);
      CHECK(err <= 0.5f * s * (1 + 1e-5f));
      if (per_channel) {
        CHECK(s == Approx(m / 127));
        CHECK(qmax == 127);
      }
    }
  }
  // Bias: int32 steps of input scale * weight scale.
  Tensor b = Tensor::empty({6}, DType::f32);
  uniform_(b, -0.5, 0.5);
  const WeightQuant q = quantize_weight(w, true);
  const BiasQuant bq = quantize_bias(b, 0.02f, q, "conv.bias");
  const Tensor bd = dequantize_bias(bq, 6);
  for (int64_t c = 0; c < 6; ++c) {
    CHECK(bq.scale[c] == 0.02f * q.scale[c]);
    CHECK(std::fabs(bd.data<float>()[c] - b.data<float>()[c]) <= 0.5f * bq.scale[c] * (1 + 1e-5f));
  }
}

namespace {

nlohmann::json rrdbnet_g(int scale) {
  return {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"scale", scale},
          {"num_feat", 8},     {"num_block", 2}, {"num_grow_ch", 4}};
}

nlohmann::json srvgg_g(int upscale, const std::string& act) {
  return {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 8},
          {"num_conv", 3},             {"upscale", upscale}, {"act_type", act}};
}

// Random weights (biases and slopes too), as tests/test_onnx_export.cpp's.
std::unique_ptr<Module> random_net(const nlohmann::json& g, uint64_t seed) {
  std::unique_ptr<Module> net = build_network(g);
  manual_seed(seed);
  for (auto& [k, t] : net->state_dict()) {
    if (t.dim() == 4) {
      const double b = 1.0 / std::sqrt(double(t.size(1) * t.size(2) * t.size(3)));
      uniform_(t, -b, b);
    } else if (t.dim() == 1 && k.ends_with(".weight")) {
      uniform_(t, 0.05, 0.4);
    } else {
      uniform_(t, -0.1, 0.1);
    }
  }
  net->eval();
  return net;
}

Tensor random_input(int64_t n, int64_t h, int64_t w, uint64_t seed) {
  Tensor x = Tensor::empty({n, 3, h, w}, DType::f32);
  manual_seed(seed);
  uniform_(x, 0.0, 1.0);
  return x;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const Tensor x = a.contiguous(), y = b.contiguous();
  REQUIRE(x.numel() == y.numel());
  double m = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double d = std::fabs(double(x.data<float>()[i]) - double(y.data<float>()[i]));
    if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;
  }
  return m;
}

std::pair<float, float> min_max(const Tensor& t) {
  const Tensor c = t.contiguous();
  const float* p = c.data<float>();
  const auto [a, b] = std::minmax_element(p, p + c.numel());
  return {*a, *b};
}

}  // namespace

TEST_CASE("quant/conv_by_conv_forward_equals_the_networks_forward") {
  for (const auto& [g, h, w] : {std::tuple{rrdbnet_g(4), 9, 7}, std::tuple{rrdbnet_g(2), 10, 6},
                                std::tuple{srvgg_g(4, "prelu"), 7, 9}, std::tuple{srvgg_g(2, "leakyrelu"), 5, 11}}) {
    std::unique_ptr<Module> net = random_net(g, 21);
    const Tensor x = random_input(2, h, w, 22);
    Tensor ref;
    {
      NoGradGuard no_grad;
      ref = net->forward(x);
    }
    std::vector<std::string> seen;
    const Tensor y = forward_by_convs(*net, x, [&](const Conv2d& c, const std::string& path, const Tensor& in) {
      seen.push_back(path);
      return plain_conv(c, path, in);
    });
    INFO(g.dump());
    REQUIRE(y.shape() == ref.shape());
    CHECK(max_abs_diff(y, ref) <= 1e-5);
    // Every conv of the net once, named by its module path.
    int64_t convs = 0;
    for (const auto& [k, t] : net->state_dict()) convs += t.dim() == 4;
    CHECK(int64_t(seen.size()) == convs);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == seen.size());
    for (const std::string& s : seen) {
      bool found = false;
      for (const auto& [k, t] : net->state_dict()) found |= k == s + ".weight";
      CHECK(found);
    }
  }
}

// The calibrated minmax range of a conv input is the min and max of that tensor over every
// calibration image, recomputed here with the network's own modules. The planted bug (the
// calibration skips the last image) must fail the same comparison.
TEST_CASE("quant/calibrated_ranges_are_those_of_the_conv_inputs_and_a_skipped_image_shows") {
  std::unique_ptr<Module> net = random_net(srvgg_g(4, "prelu"), 31);
  auto& s = dynamic_cast<SRVGGNetCompact&>(*net);
  // Two images of different ranges: the second holds the extremes of the first conv's input.
  std::vector<Tensor> images = {random_input(1, 9, 7, 32), random_input(1, 6, 10, 33)};
  images[1].data<float>()[5] = 1.0f;
  images[1].data<float>()[6] = 0.0f;
  // The expected ranges, from the modules: body.0 reads x, body.2 reads act(conv0(x)),
  // body.4 reads act(conv2(.)).
  std::map<std::string, std::pair<float, float>> want;
  {
    NoGradGuard no_grad;
    for (const Tensor& x : images) {
      Tensor y = x;
      for (size_t i = 0; i < s.body->size(); ++i) {
        Module& m = (*s.body)[i];
        if (dynamic_cast<Conv2d*>(&m)) {
          const auto [a, b] = min_max(y);
          const std::string path = "body." + std::to_string(i);
          auto it = want.find(path);
          if (it == want.end()) want[path] = {a, b};
          else it->second = {std::min(it->second.first, a), std::max(it->second.second, b)};
        }
        y = m.forward(y);
      }
    }
  }
  auto mismatches = [&](const QuantTable& t) {
    int bad = 0;
    for (const auto& [path, r] : want) {
      const Range got = t.ranges.at(path);
      bad += got.lo != double(r.first) || got.hi != double(r.second);
    }
    return bad;
  };
  CalibrationOptions o;
  o.method = CalibMethod::minmax;
  const QuantTable t = calibrate(*net, images, o);
  REQUIRE(t.ranges.size() == want.size());
  CHECK(t.ranges.at("body.0").lo == 0.0);
  CHECK(t.ranges.at("body.0").hi == 1.0);
  CHECK(mismatches(t) == 0);
  const QuantTable planted = calibrate(*net, {images[0]}, o);
  CHECK(mismatches(planted) > 0);

  // Percentile and entropy ranges lie inside minmax's; all three are valid int8 parameters.
  for (CalibMethod m : {CalibMethod::percentile, CalibMethod::entropy}) {
    o.method = m;
    const QuantTable tm = calibrate(*net, images, o);
    for (const auto& [path, r] : tm.ranges) {
      CHECK(r.lo >= t.ranges.at(path).lo);
      CHECK(r.hi <= t.ranges.at(path).hi);
      CHECK(r.lo <= r.hi);
    }
  }
}

// The first conv reads the image, which is in [0, 1] by the model's contract: its range covers
// [0, 1] even when every calibration image is black (a flat set would otherwise quantise the
// network's input to two levels). A conv input that held one value is named in
// constant_inputs (here body.2: conv 0 without bias on a black image gives zeros).
TEST_CASE("quant/network_input_range_covers_0_1_whatever_the_calibration") {
  std::unique_ptr<Module> net = random_net(srvgg_g(4, "prelu"), 31);
  auto& s = dynamic_cast<SRVGGNetCompact&>(*net);
  dynamic_cast<Conv2d&>((*s.body)[0]).bias.fill_(0.0);
  Tensor black = random_input(1, 9, 7, 32);
  black.fill_(0.0);
  CalibrationOptions o;
  o.method = CalibMethod::minmax;
  const QuantTable t = calibrate(*net, {black}, o);
  CHECK(t.ranges.at("body.0").lo == 0.0);
  CHECK(t.ranges.at("body.0").hi == 1.0);
  CHECK(t.inputs.at("body.0").scale == Approx(1.0 / 255.0));
  CHECK(t.constant_inputs == std::vector<std::string>{"body.2"});
}

TEST_CASE("quant/image_folders_are_checked_and_cropped_to_the_network_divisor") {
  test::TempDir dir;
  const std::string empty = dir.subdir("empty");
  test::require_error([&] { load_image_crops(empty, "calibration folder", 64, 1); },
                      {"calibration folder", empty, "no images"});
  test::require_error([&] { load_image_crops(dir.file("missing"), "calibration folder", 64, 1); },
                      {"calibration folder", "missing", "does not exist"});
  std::mt19937_64 rng(41);
  const std::string imgs = dir.subdir("imgs");
  data::write_image(imgs + "/a.png", test::random_image(rng, 37, 23, 3));
  const std::vector<ImageCrop> c = load_image_crops(imgs, "calibration folder", 16, 4);
  REQUIRE(c.size() == 1);
  CHECK(c[0].lq.size(2) == 16);
  CHECK(c[0].lq.size(3) == 16);
  const std::vector<ImageCrop> d = load_image_crops(imgs, "calibration folder", 64, 4);
  CHECK(d[0].lq.size(2) == 20);  // 23 rounded down to a multiple of 4
  CHECK(d[0].lq.size(3) == 36);
  CHECK(d[0].y0 == 1);
  CHECK(d[0].x0 == 0);
}

// ---- onnx/: the QDQ export in ONNX Runtime ------------------------------------------------

namespace {

// ONNX's checker and the QDQ layout (tests/onnx/check_model.py int8).
void check_qdq_model(const test::TempDir& dir, const std::string& model) {
  if (!python_onnx_available()) return;
  const int rc = run(python3() + " " + source_dir() + "/tests/onnx/check_model.py " + model + " int8",
                     dir.file("checker.log"));
  INFO(test::read_text(dir.file("checker.log")));
  REQUIRE(rc == 0);
}

// The model's output in ONNX Runtime's CPU provider for input `x` (tools/ort/run_model.js).
Tensor run_in_onnxruntime(const test::TempDir& dir, const std::string& model, const Tensor& x) {
  const Tensor c = x.contiguous();
  {
    std::ofstream f(dir.file("in.f32"), std::ios::binary);
    f.write(reinterpret_cast<const char*>(c.data<float>()), c.numel() * 4);
  }
  std::ostringstream cmd;
  cmd << "node " << source_dir() << "/tools/ort/run_model.js " << model << " " << dir.file("in.f32") << " "
      << c.size(0) << " " << c.size(1) << " " << c.size(2) << " " << c.size(3) << " " << dir.file("out.f32");
  const int rc = run(cmd.str(), dir.file("ort.log"));
  const std::string log = test::read_text(dir.file("ort.log"));
  INFO(log);
  REQUIRE(rc == 0);
  std::istringstream shape(log.substr(log.find("shape ") + 6));
  int64_t n, ch, h, w;
  shape >> n >> ch >> h >> w;
  const std::string out = test::read_text(dir.file("out.f32"));
  REQUIRE(int64_t(out.size()) == n * ch * h * w * 4);
  Tensor y = Tensor::empty({n, ch, h, w}, DType::f32);
  std::copy(out.data(), out.data() + out.size(), reinterpret_cast<char*>(y.data<float>()));
  return y;
}

bool onnx_tools(bool need_ort = true) {
  if (!deploy::onnx_export_built()) {
    WARN("SKIPPED: this srengine was built without ONNX export (no libonnx-dev / libprotobuf-dev: tools/setup.sh)");
    return false;
  }
  if (need_ort && !ort_available()) {
    WARN("SKIPPED: no onnxruntime-node in tools/ort (run tools/setup.sh)");
    return false;
  }
  return true;
}

// ONNX Runtime runs the QDQ graph in float32 after dequantising, so it agrees with the
// fake-quant forward up to float32 summation order (measured: 1.2e-7 max abs on these nets).
// A value within a rounding error of a quantisation tie could move by one step and exceed
// this; with random inputs that has not happened.
constexpr double kFakeQuantTolerance = 1e-5;

struct Int8Case {
  nlohmann::json network_g;
  CalibMethod method = CalibMethod::percentile;
  bool per_channel = true;
  bool symmetric = false;
  int h = 13, w = 11;  // odd sizes (even ones for RRDBNet x2)
  uint64_t seed = 1;
};

struct Int8Result {
  double vs_fake_quant = 0;  // max abs, ONNX Runtime vs srengine's fake-quant forward
  double psnr_vs_fp32 = 0;   // of ONNX Runtime's int8 output against srengine's fp32 output
};

// Calibrates a random net on random images, exports the QDQ model, checks it, runs it in ONNX
// Runtime and compares. `plant` alters the table the export gets (the reference keeps it).
Int8Result int8_compare(const Int8Case& c, const std::function<void(QuantTable&)>& plant = {}) {
  test::TempDir dir;
  std::unique_ptr<Module> net = random_net(c.network_g, c.seed);
  const int div = network_shape(*net).divisor;
  std::vector<Tensor> calib;
  for (int i = 0; i < 3; ++i) calib.push_back(random_input(1, 16 / div * div, 12 / div * div, c.seed + 10 + i));
  CalibrationOptions o;
  o.method = c.method;
  o.per_channel = c.per_channel;
  o.symmetric = c.symmetric;
  const QuantTable table = calibrate(*net, calib, o);
  QuantTable exported = table;
  if (plant) plant(exported);
  deploy::OnnxExportOptions eo;
  eo.int8 = &exported;
  const std::string model = dir.file("model_int8.onnx");
  deploy::export_onnx(*net, eo, model);
  check_qdq_model(dir, model);

  const Tensor x = random_input(1, c.h, c.w, c.seed + 100);
  const Tensor got = run_in_onnxruntime(dir, model, x);
  FakeQuantForward fq(*net, table);
  const Tensor want = fq(x);
  Tensor fp32;
  {
    NoGradGuard no_grad;
    fp32 = net->forward(x);
  }
  REQUIRE(got.shape() == want.shape());
  Int8Result r;
  r.vs_fake_quant = max_abs_diff(got, want);
  // PSNR over the raw outputs (not clamped: random nets need not stay in [0, 1]), peak 1.
  double mse = 0;
  const Tensor f = fp32.contiguous();
  for (int64_t i = 0; i < f.numel(); ++i) {
    const double d = double(got.data<float>()[i]) - double(f.data<float>()[i]);
    mse += d * d / double(f.numel());
  }
  r.psnr_vs_fp32 = 10 * std::log10(1.0 / mse);
  return r;
}

void require_int8_match(const Int8Case& c) {
  if (!onnx_tools()) return;
  const Int8Result r = int8_compare(c);
  std::printf("int8 %s (%s, %s): ONNX Runtime vs fake-quant max abs %.3g (%.0f%% of %.0e); PSNR vs fp32 %.2f dB\n",
              c.network_g.dump().c_str(), calib_method_name(c.method), c.per_channel ? "per channel" : "per tensor",
              r.vs_fake_quant, 100 * r.vs_fake_quant / kFakeQuantTolerance, kFakeQuantTolerance, r.psnr_vs_fp32);
  INFO("ONNX Runtime vs fake-quant max abs " << r.vs_fake_quant << "; PSNR vs fp32 " << r.psnr_vs_fp32);
  CHECK(r.vs_fake_quant <= kFakeQuantTolerance);
  // The quality budget of these tiny random nets (measured 70-78 dB; their outputs are not
  // images, so this is only a floor that a broken quantiser, e.g. a wrong axis, falls below).
  // The budget on trained models and photos is measured in docs/EXPORT.md.
  CHECK(r.psnr_vs_fp32 >= 50);
}

}  // namespace

TEST_CASE("onnx/int8_srvgg_prelu_x4_matches_fake_quant_in_onnxruntime") {
  require_int8_match({.network_g = srvgg_g(4, "prelu")});
}

TEST_CASE("onnx/int8_srvgg_leakyrelu_x2_entropy_per_tensor_matches_fake_quant_in_onnxruntime") {
  require_int8_match({.network_g = srvgg_g(2, "leakyrelu"), .method = CalibMethod::entropy, .per_channel = false,
                      .h = 9, .w = 15});
}

TEST_CASE("onnx/int8_rrdbnet_x4_matches_fake_quant_in_onnxruntime") {
  require_int8_match({.network_g = rrdbnet_g(4), .method = CalibMethod::minmax, .h = 9, .w = 7});
}

TEST_CASE("onnx/int8_rrdbnet_x2_matches_fake_quant_in_onnxruntime") {
  require_int8_match({.network_g = rrdbnet_g(2), .method = CalibMethod::entropy, .h = 14, .w = 10});
}

TEST_CASE("onnx/int8_rrdbnet_x2_symmetric_matches_fake_quant_in_onnxruntime") {
  require_int8_match({.network_g = rrdbnet_g(2), .symmetric = true, .h = 10, .w = 6});
}

// The comparison must be able to fail: one conv input's scale 3% off in the exported model (the
// fake-quant forward keeps the calibrated one), and one weight channel's quantised values off
// by one step, each beyond the tolerance.
TEST_CASE("onnx/int8_planted_wrong_scale_fails_the_comparison") {
  if (!onnx_tools()) return;
  const Int8Case c{.network_g = srvgg_g(4, "prelu")};
  const Int8Result wrong_scale = int8_compare(c, [](QuantTable& t) { t.inputs.at("body.2").scale *= 1.03f; });
  INFO("wrong scale: " << wrong_scale.vs_fake_quant);
  CHECK(wrong_scale.vs_fake_quant > 5 * kFakeQuantTolerance);
  const Int8Result wrong_zero = int8_compare(c, [](QuantTable& t) { t.inputs.at("body.0").zero_point += 3; });
  INFO("wrong zero point: " << wrong_zero.vs_fake_quant);
  CHECK(wrong_zero.vs_fake_quant > 5 * kFakeQuantTolerance);
}

namespace {

// A config, weights and folders of PNG images for the CLI: calibration LQ (odd sizes), and
// validation LQ with GT at `scale` (made by nearest upscaling: any image does).
struct CliFixture {
  test::TempDir dir;
  std::string model_args, calib, val, val_gt;
  explicit CliFixture(const nlohmann::json& g, int scale) {
    std::unique_ptr<Module> net = random_net(g, 51);
    write_safetensors(dir.file("w.safetensors"), net->state_dict());
    std::ofstream(dir.file("cfg.json")) << nlohmann::json{{"name", "q"}, {"network_g", g}}.dump();
    model_args = " --config " + dir.file("cfg.json") + " --weights " + dir.file("w.safetensors");
    calib = dir.subdir("calib");
    val = dir.subdir("val");
    val_gt = dir.subdir("val_gt");
    std::mt19937_64 rng(52);
    data::write_image(calib + "/a.png", test::random_image(rng, 21, 17, 3));
    data::write_image(calib + "/b.png", test::random_image(rng, 15, 23, 3));
    for (const char* name : {"v1.png", "v2.png"}) {
      const data::Image lq = test::random_image(rng, 19, 13, 3);
      data::write_image(val + "/" + name, lq);
      data::write_image(val_gt + "/" + name, test::block_upscale(lq, scale));
    }
  }
  std::pair<int, std::string> quantize(const std::string& args) const {
    const int rc = run(test::srengine_exe() + " quantize " + args, dir.file("cli.log"));
    return {rc, test::read_text(dir.file("cli.log"))};
  }
};

}  // namespace

TEST_CASE("onnx/quantize_cli_writes_a_qdq_model_and_reports_psnr_ssim") {
  if (!onnx_tools(false)) return;
  CliFixture f(srvgg_g(4, "prelu"), 4);
  const std::string model = f.dir.file("m_int8.onnx");
  const auto [rc, log] = f.quantize(f.model_args + " --calib " + f.calib + " --output " + model +
                                    " --val " + f.val + " --val-gt " + f.val_gt + " --method entropy");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("calibrated 5 conv inputs on 2 images") != std::string::npos);
  CHECK(log.find("method entropy") != std::string::npos);
  CHECK(log.find("int8 QDQ") != std::string::npos);
  CHECK(log.find("v1.png") != std::string::npos);
  CHECK(log.find("mean int8 vs fp32: PSNR") != std::string::npos);
  CHECK(log.find("mean vs GT: fp32 PSNR") != std::string::npos);
  check_qdq_model(f.dir, model);
  // Without --val the report is on the calibration images.
  const auto [rc2, log2] = f.quantize(f.model_args + " --calib " + f.calib + " --output " + model + " --per-tensor");
  INFO(log2);
  CHECK(rc2 == 0);
  CHECK(log2.find("validation on " + f.calib + " (2 images") != std::string::npos);
  CHECK(log2.find("asymmetric activations, weights per tensor") != std::string::npos);
  CHECK(log2.find("method percentile 99.99") != std::string::npos);
}

TEST_CASE("onnx/quantize_errors_name_the_bad_input") {
  if (!onnx_tools(false)) return;
  CliFixture f(rrdbnet_g(2), 2);
  const std::string empty = f.dir.subdir("empty");
  const std::string tiny_val = f.dir.subdir("tiny_val"), wrong_gt = f.dir.subdir("wrong_gt");
  std::mt19937_64 rng(53);
  data::write_image(tiny_val + "/tiny.png", test::random_image(rng, 4, 4, 3));
  data::write_image(wrong_gt + "/v1.png", test::random_image(rng, 5, 5, 3));
  data::write_image(wrong_gt + "/v2.png", test::random_image(rng, 5, 5, 3));
  const std::string fifo = f.dir.file("fifo.onnx");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  std::ofstream(f.dir.file("a_file")) << "x";
  const std::string out = " --output " + f.dir.file("m.onnx");
  struct Bad {
    std::string args;
    std::vector<std::string> says;
  };
  const std::vector<Bad> bad = {
      {f.model_args + " --calib " + empty + out, {"calibration folder", empty, "no images"}},
      {f.model_args + " --calib " + f.dir.file("nope") + out, {"calibration folder", "nope", "does not exist"}},
      {f.model_args + " --calib " + f.dir.file("a_file") + out, {"calibration folder", "a_file", "not a folder"}},
      {f.model_args + " --calib " + f.calib + " --output " + f.dir.file("no/such/m.onnx"),
       {"cannot write", "no/such/m.onnx", "does not exist"}},
      {f.model_args + " --calib " + f.calib + " --output " + f.dir.file("a_file/m.onnx"), {"cannot write", "a_file/m.onnx"}},
      {f.model_args + " --calib " + f.calib + out + " --method kl", {"--method 'kl'", "minmax, percentile or entropy"}},
      {f.model_args + " --calib " + f.calib + out + " --percentile 120", {"--percentile", "120", "(0, 100]"}},
      {f.model_args + " --calib " + f.calib + out + " --percentile 9x", {"--percentile '9x'"}},
      {f.model_args + " --calib " + f.calib + out + " --val " + f.val + " --val-gt " + f.calib,
       {"--val-gt", "v1.png"}},
      {f.model_args + out, {"--calib"}},
      {f.model_args + " --calib " + f.calib, {"--output"}},
      {f.model_args + " --calib " + f.calib + out + " --bogus", {"unknown argument", "--bogus"}},
      {f.model_args + " --calib " + f.calib + out + " --per-channel --per-tensor",
       {"--per-channel and --per-tensor contradict each other"}},
      {f.model_args + " --calib " + f.calib + out + " --per-tensor --per-channel",
       {"--per-tensor and --per-channel contradict each other"}},
      // The report's inputs are checked before the calibration and the model file.
      {f.model_args + " --calib " + f.calib + out + " --val " + tiny_val, {"tiny.png", "gives a 8x8 output",
                                                                           "under the 11x11 that SSIM needs"}},
      {f.model_args + " --calib " + f.calib + out + " --val " + f.val + " --val-gt " + wrong_gt,
       {"--val-gt", "v1.png", "is 5x5, not 2 times its input"}},
      {f.model_args + " --calib " + f.calib + " --output " + fifo, {"cannot write", "fifo.onnx", "not a regular file"}},
  };
  for (const Bad& b : bad) {
    const auto [rc, log] = f.quantize(b.args);
    INFO(b.args << "\n" << log);
    CHECK(rc != 0);
    for (const std::string& s : b.says) CHECK(log.find(s) != std::string::npos);
    CHECK(log.find("srengine quantize: error:") != std::string::npos);
    CHECK_FALSE(fs::exists(f.dir.file("m.onnx")));  // nothing written before the error
  }
}
