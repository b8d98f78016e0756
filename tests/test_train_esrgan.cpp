// The esrgan stage type (BasicSR's ESRGANModel: the relativistic average GAN) against
// PyTorch: tests/fixtures/train/esrgan_steps.safetensors (tools/make_esrgan_step_fixture.py)
// holds a tiny RRDBNet and VGGStyleDiscriminator, their weights before and after three
// ESRGANModel iterations in float32 PyTorch. srengine's StageStep runs the same three
// iterations from the same weights and batch; every parameter and buffer (batch-norm running
// statistics and counts, which follow the number of D forwards) must match.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "nets/factory.h"
#include "support/net_fixtures.h"
#include "support/train_support.h"
#include "train/comm.h"
#include "train/stage_step.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;

namespace {

const std::string kFixture = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train/esrgan_steps.safetensors";

std::map<std::string, Tensor> with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = t;
  return out;
}

// The fixture's batch: make_fixtures.hashed_input, GT flipped left-right.
std::pair<Tensor, Tensor> batch() {
  Tensor lq = test::fixture_hashed_input(Shape({2, 3, 32, 32}), DType::f32);
  const std::vector<double> h = test::fixture_hashed_input(Shape({2, 3, 128, 128}), DType::f64).to_vector();
  std::vector<double> flipped(h.size());
  for (size_t row = 0; row < h.size() / 128; ++row)
    for (size_t x = 0; x < 128; ++x) flipped[row * 128 + x] = h[row * 128 + 127 - x];
  return {lq, Tensor::from_vector(flipped, Shape({2, 3, 128, 128}), DType::f32)};
}

struct Trained {
  std::unique_ptr<Module> g, d;
};

Trained train_steps(const SafetensorsFile& f, const std::string& type) {
  Trained t;
  t.g = build_network(nlohmann::json::parse(f.metadata.at("net_g")));
  t.d = build_network(nlohmann::json::parse(f.metadata.at("net_d")));
  t.g->load_state_dict(with_prefix(f, "init.g."), true, kFixture);
  t.d->load_state_dict(with_prefix(f, "init.d."), true, kFixture);
  auto comm = make_communicator("auto", Device::cpu());
  StageStep step(test::gan_step_fixture_stage(nlohmann::json::parse(f.metadata.at("stage")), type), *t.g, nullptr, t.d.get(), 0.0,
                 *comm, 1.0);
  const auto [lq, gt] = batch();
  const int iters = std::stoi(f.metadata.at("iters"));
  for (int i = 1; i <= iters; ++i) REQUIRE_FALSE(step.run(lq, gt, i).skipped());
  return t;
}

// Worst |ours - reference| over every tensor of `net`, and the largest distance any
// reference tensor moved from its start (so the comparison is known to be meaningful).
struct Diff {
  double worst = 0, moved = 0;
  std::string where;
};
Diff compare(const Module& net, const SafetensorsFile& f, const std::string& which) {
  Diff d;
  const auto final_ = with_prefix(f, "final." + which + ".");
  const auto init = with_prefix(f, "init." + which + ".");
  for (const auto& [k, t] : net.state_dict()) {
    REQUIRE(final_.count(k));
    const auto ours = t.to_vector(), ref = final_.at(k).to_vector(), start = init.at(k).to_vector();
    REQUIRE(ours.size() == ref.size());
    for (size_t i = 0; i < ours.size(); ++i) {
      const double e = std::fabs(ours[i] - ref[i]);
      if (e > d.worst) d.worst = e, d.where = which + "." + k + "[" + std::to_string(i) + "]";
      d.moved = std::max(d.moved, std::fabs(ref[i] - start[i]));
    }
  }
  return d;
}

}  // namespace

TEST_CASE("train/esrgan_steps_match_pytorch") {
  SafetensorsReadOptions as_f32;
  as_f32.dtype = DType::f32;
  const SafetensorsFile f = read_safetensors(kFixture, as_f32);
  // Three Adam steps of lr 1e-3 move a weight by up to 3e-3; float32 evaluation-order
  // differences stay far below 1e-5 of that.
  constexpr double kTol = 2e-5;
  const Trained ours = train_steps(f, "esrgan");
  for (const auto& [which, net] : {std::pair<std::string, const Module*>{"g", ours.g.get()}, {"d", ours.d.get()}}) {
    const Diff d = compare(*net, f, which);
    INFO(which << ": worst |srengine - pytorch| " << d.worst << " at " << d.where << ", largest move " << d.moved);
    CHECK(d.worst <= kTol);
    CHECK(d.moved > 100 * kTol);
  }
  // The check of the check: the standard GAN (srgan) from the same start ends elsewhere.
  const Trained plain = train_steps(f, "srgan");
  const Diff g = compare(*plain.g, f, "g");
  INFO("srgan instead of esrgan: worst G difference " << g.worst << " at " << g.where);
  CHECK(g.worst > 10 * kTol);
}

// The stage type through the whole run: the tiny two-stage config with an esrgan second
// stage (vanilla GAN against the UNet discriminator) trains, logs the relativistic losses
// and leaves its final generator.
TEST_CASE("train/esrgan_stage_runs_end_to_end") {
  const json c = test::tiny_train_config(
      "esrgan_stage", {"train.stages.1.type=esrgan", "train.stages.1.gan_opt.gan_type=vanilla",
                       "train.stages.1.gan_opt.loss_weight=0.005"});
  REQUIRE(run_training(c, {}) == 0);
  const std::string dir = test::train_exp_dir("esrgan_stage");
  CHECK(std::filesystem::exists(dir + "/models/net_g_gan_final.safetensors"));
  bool logged = false;
  for (const json& e : test::train_events("esrgan_stage"))
    if (e.value("event", "") == "train" && e.value("stage", "") == "gan")
      logged = e.contains("l_g_gan") && e.contains("l_d_real") && e.contains("l_d_fake");
  CHECK(logged);
}
