// Dynamic loss scaling for fp16 training (train/loss_scaler.h): growth, backoff, skip
// counting, inf and NaN gradients, the state's round trip through a training-state file,
// and why it is needed: gradients of ~1e-8 vanish in fp16 unless the loss is scaled.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>

#include "engine/ops.h"
#include "engine/tensor.h"
#include "kernels/common/fp16_round.h"
#include "train/checkpoint.h"
#include "train/loss_scaler.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

LossScaleConfig config(double init, double growth, double backoff, int64_t interval) {
  return LossScaleConfig{init, growth, backoff, interval};
}

Tensor from(std::vector<float> v) { return Tensor::from_vector(v, {(int64_t)v.size()}); }

}  // namespace

TEST_CASE("train/loss_scaler_growth") {
  LossScaler s(config(1024, 2, 0.5, 3));
  CHECK(s.scale() == 1024);
  s.update(false);
  s.update(false);
  CHECK(s.scale() == 1024);
  CHECK(s.state().good_steps == 2);
  s.update(false);  // the third good step in a row grows S and restarts the count
  CHECK(s.scale() == 2048);
  CHECK(s.state().good_steps == 0);
  for (int i = 0; i < 3; ++i) s.update(false);
  CHECK(s.scale() == 4096);
  CHECK(s.state().skipped == 0);
}

TEST_CASE("train/loss_scaler_backoff_counts_skips") {
  LossScaler s(config(65536, 2, 0.25, 2));
  s.update(false);
  CHECK(s.state().good_steps == 1);
  s.update(true);  // an overflow: S backs off, the good-step run restarts, one skip counted
  CHECK(s.scale() == 16384);
  CHECK(s.state().good_steps == 0);
  CHECK(s.state().skipped == 1);
  s.update(false);  // one good step after the backoff is not yet a growth
  CHECK(s.scale() == 16384);
  s.update(true);
  s.update(true);
  CHECK(s.scale() == 1024);
  CHECK(s.state().skipped == 3);
  s.update(false);
  s.update(false);
  CHECK(s.scale() == 2048);
  CHECK(s.state().skipped == 3);
}

namespace {

// The update rule as loss_scaler.h states it, on the host, written apart from the device
// kernel it checks (kernels/cpu/optimizer.h, loss_scale_update).
using Rule = std::function<void(const LossScaleConfig&, bool overflow, LossScalerState&)>;
void reference_rule(const LossScaleConfig& c, bool overflow, LossScalerState& s) {
  if (overflow) {
    s.scale *= c.backoff_factor;
    s.good_steps = 0;
    ++s.skipped;
  } else if (++s.good_steps >= c.growth_interval) {
    s.scale *= c.growth_factor;
    s.good_steps = 0;
  }
}

// Runs `script` ('.' a finite update, 'x' an overflow, flagged as NaN, +inf or -inf in turn,
// as a device tensor) through a scaler on `device` and through `rule`; returns the first
// update (1-based) after which the device state differs from the rule's, or whose S the
// loss and 1/S the gradients are not multiplied by (read from device memory); 0 when none.
size_t first_disagreement(Device device, const LossScaleConfig& c, const std::string& script, const Rule& rule) {
  LossScaler s(c, device);
  LossScalerState ref{c.init, 0, 0};
  const float flags[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < script.size(); ++i) {
    const bool overflow = script[i] == 'x';
    s.update(Tensor::full({1}, overflow ? flags[i % 3] : 0.f, DType::f32, device));
    rule(c, overflow, ref);
    if (!(s.state() == ref)) return i + 1;
    const Tensor one = Tensor::full({1}, 1.0, DType::f32, device);
    Tensor g = one.clone();
    if (!s.unscale_and_check({g}) || g.item() != (double)(float)(1.0 / ref.scale) ||
        s.scale_loss(one).item() != (double)(float)ref.scale)
      return i + 1;
  }
  return 0;
}

}  // namespace

// The device update (one thread) against the host rule over a scripted run of finite and
// overflowing updates: backoffs in and out of a good-step run, growths, runs just short of
// the interval, on the CPU and the simt device. S starts at 1000.1 and grows by 1.5 (neither
// float32 values nor powers of two: the double arithmetic must be the same). Wrong rules
// planted in the reference are caught, so the comparison can fail.
TEST_CASE("train/loss_scaler_device_update_matches_host_rule") {
  const LossScaleConfig c = config(1000.1, 1.5, 0.25, 3);
  const std::string script = "...x..x...x.xx.......x..x..";
  std::vector<Device> devices{Device::cpu()};
#ifdef SRENGINE_WITH_SIMT
  devices.push_back(Device::simt());
#endif
  const std::vector<std::pair<const char*, Rule>> wrong = {
      {"no good-step restart on backoff",
       [](const LossScaleConfig& c, bool o, LossScalerState& s) {
         const int64_t good = s.good_steps;
         reference_rule(c, o, s);
         if (o) s.good_steps = good;
       }},
      {"growth one step late",
       [](const LossScaleConfig& c, bool o, LossScalerState& s) {
         if (o) return reference_rule(c, o, s);
         if (++s.good_steps > c.growth_interval) s.scale *= c.growth_factor, s.good_steps = 0;
       }},
      {"skip not counted",
       [](const LossScaleConfig& c, bool o, LossScalerState& s) {
         reference_rule(c, o, s);
         if (o) --s.skipped;
       }},
      {"backoff by half, not backoff_factor",
       [](const LossScaleConfig& c, bool o, LossScalerState& s) {
         reference_rule(c, o, s);
         if (o) s.scale *= 0.5 / c.backoff_factor;
       }},
      {"S rounded to float32",
       [](const LossScaleConfig& c, bool o, LossScalerState& s) {
         reference_rule(c, o, s);
         s.scale = (float)s.scale;
       }},
  };
  for (Device d : devices) {
    INFO(d.str());
    CHECK(first_disagreement(d, c, script, reference_rule) == 0);
    for (const auto& [what, rule] : wrong) {
      INFO("planted: " << what);
      CHECK(first_disagreement(d, c, script, rule) > 0);
    }
  }
}

TEST_CASE("train/loss_scaler_inf_and_nan_gradients") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  LossScaler s(config(256, 2, 0.5, 10));
  // Finite: unscaled exactly (S is a power of two) and reported finite; undefined gradients
  // (frozen parameters) are passed over.
  Tensor a = from({256.f, -512.f, 3.f}), b = from({1e30f, 0.f});
  CHECK(s.unscale_and_check({a, Tensor(), b}));
  CHECK(a.to_vector() == std::vector<double>{1.0, -2.0, 3.0 / 256});
  CHECK(b.to_vector() == std::vector<double>{(double)(1e30f / 256), 0.0});
  // One infinity, one NaN, or +inf and -inf (whose sum would be NaN, not inf), anywhere.
  for (const std::vector<float>& bad : {std::vector<float>{1.f, inf, 2.f}, std::vector<float>{nan, 0.f},
                                        std::vector<float>{inf, -inf}, std::vector<float>{-inf}}) {
    Tensor g = from(bad), ok = from({1.f, 2.f});
    CHECK_FALSE(s.unscale_and_check({ok, g}));
    CHECK_FALSE(s.unscale_and_check({g, ok}));
  }
  // Large finite gradients whose plain sum would overflow are not mistaken for overflow.
  Tensor big = from({3e38f, 3e38f, 3e38f});
  CHECK(s.unscale_and_check({big}));
}

TEST_CASE("train/loss_scaler_config_and_state_errors") {
  CHECK_THROWS_WITH(LossScaler(config(0, 2, 0.5, 10)), Catch::Contains("train.loss_scale.init"));
  CHECK_THROWS_WITH(LossScaler(config(1, 0.5, 0.5, 10)), Catch::Contains("train.loss_scale.growth_factor"));
  CHECK_THROWS_WITH(LossScaler(config(1, 2, 1.0, 10)), Catch::Contains("train.loss_scale.backoff_factor"));
  CHECK_THROWS_WITH(LossScaler(config(1, 2, 0.5, 0)), Catch::Contains("train.loss_scale.growth_interval"));
  LossScaler s(config(8, 2, 0.5, 10));
  CHECK_THROWS_WITH(s.load_state({-1, 0, 0}), Catch::Contains("scale"));
  CHECK_THROWS_WITH(s.load_state({8, 10, 0}), Catch::Contains("good_steps 10"));
  CHECK_THROWS_WITH(s.load_state({8, 0, -2}), Catch::Contains("skipped"));
  s.load_state({0.125, 9, 4});
  CHECK(s.state() == LossScalerState{0.125, 9, 4});
  s.update(false);
  CHECK(s.scale() == 0.25);
}

TEST_CASE("train/loss_scaler_state_round_trip") {
  const std::string dir = (fs::temp_directory_path() / "srengine_loss_scaler_state").string();
  fs::remove_all(dir);
  TrainingState st;
  st.stage = "psnr";
  st.iter = 12;
  st.tensors.push_back({"x", from({1.f})});
  st.info.optim_g_steps = 12;
  st.info.loss_scaler = LossScalerState{std::ldexp(1.0, 13), 1234, 7};
  save_training_state(dir, st);
  const TrainingState back = load_training_state(state_path(dir, "psnr", 12));
  REQUIRE(back.info.loss_scaler.has_value());
  CHECK(*back.info.loss_scaler == *st.info.loss_scaler);
  // Without a scaler (other precisions) the record has none.
  st.info.loss_scaler.reset();
  st.iter = 13;
  save_training_state(dir, st);
  CHECK_FALSE(load_training_state(state_path(dir, "psnr", 13)).info.loss_scaler.has_value());
  fs::remove_all(dir);
}

// Why fp16 needs loss scaling: a conv whose output gradients are ~1e-8 (below half of
// fp16's smallest subnormal, 2^-25 = 3e-8) gets an all-zero weight gradient in fp16, and
// with the loss scaled by S = 2^16 (then the gradient by 1/S) a nonzero one that matches
// the exact (float64) gradient to fp16 precision.
TEST_CASE("train/loss_scaling_rescues_tiny_fp16_gradients") {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> u(-1.f, 1.f), tiny(0.5e-8f, 1.5e-8f);
  const int64_t N = 2, C = 3, H = 6, W = 7, K = 4;
  std::vector<float> xv(N * C * H * W), wv(K * C * 9), cv(N * K * H * W);
  for (auto& v : xv) v = u(rng);
  for (auto& v : wv) v = u(rng);
  for (auto& v : cv) v = (u(rng) < 0 ? -1.f : 1.f) * tiny(rng);  // dL/dy = c
  auto weight_grad = [&](Precision p, const LossScaler* scaler, DType dt) {
    Tensor x = Tensor::from_vector(xv, {N, C, H, W}).to(dt);
    Tensor w = Tensor::from_vector(wv, {K, C, 3, 3}).to(dt);
    w.set_requires_grad(true);
    Tensor c = Tensor::from_vector(cv, {N, K, H, W}).to(dt);
    Tensor loss = sum(mul(conv2d(x, w, Tensor(), 1, 1, {}, p), c));
    (scaler ? scaler->scale_loss(loss) : loss).backward();
    Tensor g = w.grad();
    if (scaler) REQUIRE(scaler->unscale_and_check({g}));
    return g.to_vector();
  };
  const std::vector<double> exact = weight_grad(Precision::fp32, nullptr, DType::f64);
  const std::vector<double> plain = weight_grad(Precision::fp16, nullptr, DType::f32);
  LossScaler scaler(LossScaleConfig{65536, 2, 0.5, 2000});
  const std::vector<double> scaled = weight_grad(Precision::fp16, &scaler, DType::f32);
  // The bound: each product's operands are within 2^-11 of themselves (x in fp16's normal
  // range or below 2^-14 with absolute error 2^-25; S c is normal), so the sum is within
  // (2^-10 + 2^-20) A + N P Q 2^-25 max|S c| / S of the exact one, A = sum |x| |c|, plus
  // float32 summation.
  double worst = 0, nonzero = 0;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t ci = 0; ci < C; ++ci)
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t s = 0; s < 3; ++s) {
          double A = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t y = 0; y < H; ++y)
              for (int64_t xq = 0; xq < W; ++xq) {
                const int64_t iy = y + r - 1, ix = xq + s - 1;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                A += std::fabs(xv[((n * C + ci) * H + iy) * W + ix]) * std::fabs(cv[((n * K + k) * H + y) * W + xq]);
              }
          const int64_t i = ((k * C + ci) * 3 + r) * 3 + s;
          const double bound = (std::ldexp(1.0, -10) + std::ldexp(1.0, -20) + N * H * W * std::ldexp(1.0, -23)) * A +
                               N * H * W * std::ldexp(1.0, -25) * 1.5e-8 + 1e-30;
          worst = std::max(worst, std::fabs(scaled[i] - exact[i]) / bound);
          nonzero += scaled[i] != 0;
          INFO("weight " << i);
          CHECK(plain[i] == 0.0);  // every dy rounded to fp16 zero
        }
  INFO("worst |scaled - exact| / bound " << worst);
  CHECK(worst <= 1.0);
  CHECK(nonzero == K * C * 9);
}
