// Adam / AdamW against torch.optim (values computed with PyTorch 1.13, float32), the EMA
// update, and the optimizer state round trip used by checkpoints.
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "train/optimizer.h"

using namespace sr;
using namespace sr::train;

namespace {
std::vector<double> run_adam(const std::string& type, double wd) {
  Tensor p = Tensor::from_vector(std::vector<double>{0.5, -1.0, 2.0, 0.0}, {4});
  p.set_requires_grad(true);
  Adam opt({{"p", p}}, AdamOptions::from_config(OptimizerConfig{type, 1e-2, 0.9, 0.99, 1e-8, wd}));
  const std::vector<std::vector<double>> grads = {{0.1, -0.2, 0.3, 0.0}, {0.5, 0.5, -0.5, 1.0}, {-1.0, 0.25, 0.0, -0.1}};
  for (const auto& g : grads) {
    p.set_grad(Tensor::from_vector(g, {4}));
    opt.step();
  }
  return p.to_vector();
}

void expect_values(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(2e-7).margin(1e-9));
}
}  // namespace

TEST_CASE("optimizer/adam_matches_torch") {
  expect_values(run_adam("Adam", 0.0), {0.4840673804283142, -1.0002046823501587, 1.9952045679092407, -0.012512118555605412});
  expect_values(run_adam("Adam", 0.1), {0.48300471901893616, -0.9952333569526672, 1.9846367835998535, -0.012507017701864243});
}

TEST_CASE("optimizer/adamw_matches_torch") {
  expect_values(run_adam("AdamW", 0.1), {0.4825974702835083, -0.9972233176231384, 1.9892277717590332, -0.012504694052040577});
}

TEST_CASE("optimizer/parameters_without_grad_are_untouched") {
  Tensor a = Tensor::ones({3}), b = Tensor::ones({3});
  a.set_requires_grad(true);
  b.set_requires_grad(true);
  Adam opt({{"a", a}, {"b", b}}, AdamOptions{});
  a.set_grad(Tensor::full({3}, 0.5));
  opt.step();
  CHECK(a.to_vector()[0] < 1.0);
  CHECK(b.to_vector() == std::vector<double>{1, 1, 1});
}

TEST_CASE("optimizer/state_round_trip_continues_identically") {
  auto make = [] {
    Tensor p = Tensor::from_vector(std::vector<double>{0.3, -0.7}, {2});
    p.set_requires_grad(true);
    return p;
  };
  Tensor p1 = make(), p2 = make();
  Adam a1({{"w", p1}}, AdamOptions{}), a2({{"w", p2}}, AdamOptions{});
  for (int i = 0; i < 3; ++i) {
    p1.set_grad(Tensor::from_vector(std::vector<double>{0.1 * i, -0.2}, {2}));
    a1.step();
  }
  // Move a1's state (and weights) into a2 through the safetensors serialisation.
  const auto bytes = serialize_safetensors(a1.state("optim_g."));
  SafetensorsFile f = parse_safetensors(bytes.data(), bytes.size(), "state");
  a2.load_state(f, "optim_g.", a1.steps());
  p2.copy_(p1);
  for (Tensor* p : {&p1, &p2}) p->set_grad(Tensor::from_vector(std::vector<double>{0.4, 0.1}, {2}));
  a1.step();
  a2.step();
  CHECK(p1.to_vector() == p2.to_vector());  // bit-identical continuation
}

TEST_CASE("optimizer/ema_update") {
  Tensor e = Tensor::from_vector(std::vector<double>{1.0, 2.0}, {2}), p = Tensor::from_vector(std::vector<double>{3.0, -2.0}, {2});
  NamedTensors ema{{"w", e}};
  ema_update(ema, {{"w", p}}, 0.9);
  CHECK(e.to_vector()[0] == Approx(0.9 * 1.0 + 0.1 * 3.0));
  CHECK(e.to_vector()[1] == Approx(0.9 * 2.0 - 0.1 * 2.0));
}
