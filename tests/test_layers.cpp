// layers/: Module naming and order, state-dict loading (strict and not), in-place dtype
// moves, train/eval, and the initialisations (PyTorch default conv init, BasicSR's scaled
// Kaiming for dense blocks, spectral-norm u/v, batch-norm buffers).
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/ops.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/rrdb.h"
#include "layers/sequential.h"
#include "layers/spectral_norm_conv.h"

using namespace sr;

namespace {

struct Tiny : Module {
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<Sequential> body;
  Tensor scale_param, stat;
  Tiny() {
    scale_param = register_parameter("alpha", Tensor::ones({2}));
    stat = register_buffer("count", Tensor::zeros({}));
    conv = register_module("conv", std::make_shared<Conv2d>(2, 3, 3, 1, 1));
    body = register_module("body", std::make_shared<Sequential>());
    body->push_back(std::make_shared<Conv2d>(3, 3, 1));
    body->push_back(std::make_shared<LeakyReLU>(0.2));
    body->push_back(std::make_shared<BatchNorm2d>(3));
  }
  std::string type_name() const override { return "Tiny"; }
};

std::vector<std::string> keys(const NamedTensors& v) {
  std::vector<std::string> k;
  for (const auto& [n, t] : v) k.push_back(n);
  return k;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e;
  return s / v.size();
}

double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double e : v) s += (e - m) * (e - m);
  return std::sqrt(s / v.size());
}

}  // namespace

TEST_CASE("layers/module_names_in_registration_order") {
  Tiny m;
  CHECK(keys(m.named_parameters()) == std::vector<std::string>{"alpha", "conv.weight", "conv.bias", "body.0.weight",
                                                               "body.0.bias", "body.2.weight", "body.2.bias"});
  CHECK(keys(m.named_buffers()) ==
        std::vector<std::string>{"count", "body.2.running_mean", "body.2.running_var", "body.2.num_batches_tracked"});
  // PyTorch's state_dict order: a module's parameters, then its buffers, then its children.
  CHECK(keys(m.state_dict()) ==
        std::vector<std::string>{"alpha", "count", "conv.weight", "conv.bias", "body.0.weight", "body.0.bias",
                                 "body.2.weight", "body.2.bias", "body.2.running_mean", "body.2.running_var",
                                 "body.2.num_batches_tracked"});
  CHECK(m.num_parameters() == 2 + (3 * 2 * 9 + 3) + (9 + 3) + 6);
  for (const auto& [n, p] : m.named_parameters()) CHECK(p.requires_grad());
  for (const auto& [n, b] : m.named_buffers()) CHECK_FALSE(b.requires_grad());
}

TEST_CASE("layers/module_rejects_bad_names") {
  struct Bad : Module {
    std::string type_name() const override { return "Bad"; }
    void add(const std::string& n) { register_parameter(n, Tensor::zeros({1})); }
  } b;
  b.add("w");
  CHECK_THROWS_WITH(b.add("w"), Catch::Contains("registered twice") && Catch::Contains("Bad"));
  CHECK_THROWS_WITH(b.add("a.b"), Catch::Contains("invalid name"));
  CHECK_THROWS_WITH(b.forward(Tensor::zeros({1})), Catch::Contains("Bad has no single-input forward"));
}

TEST_CASE("layers/load_state_dict_strict_and_not") {
  Tiny a, b;
  for (auto& [n, t] : a.named_parameters()) t.fill_(0.5);
  b.load_state_dict(a.state_dict());
  for (auto& [n, t] : b.named_parameters()) CHECK(t.to_vector()[0] == 0.5);

  std::map<std::string, Tensor> dict;
  for (auto& [n, t] : a.state_dict()) dict[n] = t;
  dict.erase("conv.bias");                            // missing
  dict["conv.weight"] = Tensor::zeros({3, 2, 5, 5});  // mis-shaped
  dict["extra.weight"] = Tensor::zeros({1});          // unexpected
  dict["alpha"] = Tensor::full({2}, 7.0);
  try {
    b.load_state_dict(dict, true, "w.safetensors");
    FAIL("strict load accepted a bad dict");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("w.safetensors") != std::string::npos);
    CHECK(msg.find("missing key: conv.bias") != std::string::npos);
    CHECK(msg.find("unexpected key: extra.weight") != std::string::npos);
    CHECK(msg.find("conv.weight: w.safetensors [3, 2, 5, 5] vs module [3, 2, 3, 3]") != std::string::npos);
  }
  CHECK(b.scale_param.to_vector()[0] == 0.5);  // a failed strict load changes nothing
  const StateDictReport r = b.load_state_dict(dict, false);
  CHECK(r.missing == std::vector<std::string>{"conv.bias"});
  CHECK(r.unexpected == std::vector<std::string>{"extra.weight"});
  CHECK(r.mismatched.size() == 1);
  CHECK(b.scale_param.to_vector()[0] == 7.0);  // the matching keys were loaded
}

// A derived buffer (its value follows from the options, as HAT's relative position indices):
// saved like any buffer, absent from a dict without complaint (strict or not), and refused by key
// when a dict holds other values, before anything is loaded.
TEST_CASE("layers/derived_buffers_may_be_absent_and_must_match") {
  struct WithIndex : Module {
    Tensor w, index;
    WithIndex() {
      w = register_parameter("w", Tensor::zeros({2}));
      index = register_derived_buffer("index", Tensor::from_vector(std::vector<float>{3, -1, 4}, {3}));
    }
    std::string type_name() const override { return "WithIndex"; }
  };
  struct Outer : Module {
    std::shared_ptr<WithIndex> inner = register_module("inner", std::make_shared<WithIndex>());
    std::string type_name() const override { return "Outer"; }
  } m;
  CHECK(keys(m.state_dict()) == std::vector<std::string>{"inner.w", "inner.index"});
  std::map<std::string, Tensor> dict = {{"inner.w", Tensor::full({2}, 2.0)}};
  CHECK(m.load_state_dict(dict, true).clean());  // an older file without the buffer
  CHECK(m.inner->w.to_vector()[0] == 2.0);
  // The same values in another dtype.
  dict["inner.index"] = Tensor::from_vector(std::vector<double>{3, -1, 4}, {3}, DType::f64);
  dict["inner.w"] = Tensor::full({2}, 3.0);
  CHECK(m.load_state_dict(dict, true).clean());
  dict["inner.index"] = Tensor::from_vector(std::vector<double>{3, -1, 5}, {3}, DType::f64);
  dict["inner.w"] = Tensor::full({2}, 4.0);
  for (bool strict : {true, false})
    CHECK_THROWS_WITH(m.load_state_dict(dict, strict, "old.pth"),
                      Catch::Contains("old.pth") && Catch::Contains("'inner.index' holds 5 at element 2") &&
                          Catch::Contains("computes 4"));
  CHECK(m.inner->w.to_vector()[0] == 3.0);  // nothing loaded
  CHECK(m.inner->index.to_vector() == std::vector<double>{3, -1, 4});
  dict["inner.index"] = Tensor::zeros({2});
  CHECK(m.load_state_dict(dict, false).mismatched.size() == 1);  // another shape: mis-shaped as any key
}

TEST_CASE("layers/to_dtype_keeps_handles") {
  Tiny m;
  Tensor handle = m.conv->weight;  // as an optimizer would hold it
  const auto before = handle.to_vector();
  m.to(DType::f64);
  CHECK(handle.dtype() == DType::f64);
  CHECK(m.named_parameters()[1].second.dtype() == DType::f64);
  CHECK(handle.requires_grad());
  CHECK(handle.to_vector() == before);
  CHECK(m.stat.dtype() == DType::f64);
  Tensor y = m.conv->forward(Tensor::zeros({1, 2, 4, 4}, DType::f64));
  CHECK(y.dtype() == DType::f64);
}

TEST_CASE("layers/train_eval_recursive") {
  Tiny m;
  CHECK(m.is_training());
  m.eval();
  CHECK_FALSE(m.body->is_training());
  CHECK_FALSE(m.named_children()[1].second->named_children()[2].second->is_training());
  m.train();
  CHECK(m.conv->is_training());
  m.set_requires_grad(false);
  for (auto& [n, p] : m.named_parameters()) CHECK_FALSE(p.requires_grad());
}

TEST_CASE("layers/conv2d_default_init") {
  // PyTorch: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in * k * k.
  Conv2d c(64, 64, 3, 1, 1);
  const double bound = 1.0 / std::sqrt(64.0 * 9);
  const auto w = c.weight.to_vector(), b = c.bias.to_vector();
  double lo = 1, hi = -1;
  for (double v : w) lo = std::min(lo, v), hi = std::max(hi, v);
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi > 0.99 * bound);
  CHECK(std_of(w) == Approx(bound / std::sqrt(3.0)).epsilon(0.02));  // uniform's std
  for (double v : b) CHECK(std::fabs(v) <= bound);
  CHECK(std_of(b) > 0.3 * bound);
  Linear l(100, 7);
  for (double v : l.weight.to_vector()) CHECK(std::fabs(v) <= 0.1);
}

TEST_CASE("layers/dense_block_init_and_shapes") {
  ResidualDenseBlock rdb(64, 32);
  const int64_t in_ch[] = {64, 96, 128, 160, 192}, out_ch[] = {32, 32, 32, 32, 64};
  Conv2d* convs[] = {rdb.conv1.get(), rdb.conv2.get(), rdb.conv3.get(), rdb.conv4.get(), rdb.conv5.get()};
  for (int k = 0; k < 5; ++k) {
    INFO("conv" << k + 1);
    CHECK(convs[k]->weight.shape() == Shape{out_ch[k], in_ch[k], 3, 3});
    // kaiming_normal (fan_in, gain sqrt(2)) x 0.1, zero bias.
    CHECK(std_of(convs[k]->weight.to_vector()) == Approx(0.1 * std::sqrt(2.0 / (in_ch[k] * 9))).epsilon(0.05));
    CHECK(std::fabs(mean_of(convs[k]->weight.to_vector())) < 0.002);
    for (double v : convs[k]->bias.to_vector()) CHECK(v == 0.0);
  }
  int64_t n = 0;
  for (auto& [k, t] : rdb.named_parameters()) n += t.numel();
  CHECK(n == 239808);
  RRDB rrdb(64, 32);
  CHECK(rrdb.num_parameters() == 719424);
  CHECK(keys(rrdb.named_parameters())[0] == "rdb1.conv1.weight");
}

TEST_CASE("layers/spectral_norm_conv_buffers_and_modes") {
  SpectralNormConv2d c(4, 6, 4, 2, 1, false);
  CHECK(keys(c.state_dict()) == std::vector<std::string>{"weight_orig", "weight_u", "weight_v"});
  CHECK(c.weight_u.shape() == Shape{6});
  CHECK(c.weight_v.shape() == Shape{64});
  auto norm = [](const Tensor& t) {
    double s = 0;
    for (double v : t.to_vector()) s += v * v;
    return std::sqrt(s);
  };
  CHECK(norm(c.weight_u) == Approx(1.0).epsilon(1e-6));
  CHECK(norm(c.weight_v) == Approx(1.0).epsilon(1e-6));
  Tensor x = Tensor::ones({1, 4, 8, 8});
  const auto u0 = c.weight_u.to_vector();
  c.eval();
  c.forward(x);
  CHECK(c.weight_u.to_vector() == u0);  // eval: no power iteration
  c.train();
  c.forward(x);
  CHECK(c.weight_u.to_vector() != u0);  // training: u advances every forward
  // Repeated power iterations converge to the top singular value: W/sigma has norm 1.
  for (int i = 0; i < 50; ++i) c.forward(x);
  Tensor w = c.normalized_weight();
  const auto wv = w.to_vector();
  // sigma_max(W / sigma) = 1, so |(W/sigma) v| = 1 for the converged v.
  const auto v = c.weight_v.to_vector();
  double s = 0;
  for (int64_t r = 0; r < 6; ++r) {
    double d = 0;
    for (int64_t k = 0; k < 64; ++k) d += wv[r * 64 + k] * v[k];
    s += d * d;
  }
  CHECK(std::sqrt(s) == Approx(1.0).epsilon(1e-4));
}

TEST_CASE("layers/batch_norm_counts_batches_in_training_only") {
  BatchNorm2d bn(3);
  Tensor x = Tensor::from_vector(std::vector<double>(24, 1.0), {2, 3, 2, 2});
  bn.forward(x);
  bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2);
  bn.eval();
  bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2);
  CHECK(bn.running_mean.to_vector()[0] == Approx(0.19));  // 0.1 * 1 then 0.9 * 0.1 + 0.1
}

TEST_CASE("layers/prelu_module") {
  PReLU p(3);
  CHECK(p.weight.to_vector() == std::vector<double>{0.25, 0.25, 0.25});
  Tensor y = p.forward(Tensor::full({1, 3, 1, 1}, -4.0));
  CHECK(y.to_vector() == std::vector<double>{-1, -1, -1});
}
