// The multi-tensor optimizer kernels of kernels/cpu/optimizer.h (the CPU twins of
// kernels/cuda/optimizer.cu) against straightforward float64 reference loops of the
// torch.optim formulas, over tensors of awkward sizes (empty, tiny, across chunk borders),
// with a parameter that has no gradient, for a few steps; plus thread-count independence.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/optimizer.h"

namespace {

struct Model {
  std::vector<std::vector<float>> p, g, m, v;
  std::vector<std::vector<double>> pr, mr, vr;  // float64 reference state
};

Model make_model(const std::vector<int64_t>& sizes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  Model mo;
  for (int64_t n : sizes) {
    std::vector<float> p(n), g(n);
    for (auto& x : p) x = d(rng);
    for (auto& x : g) x = d(rng) * 0.1f;
    mo.p.push_back(p);
    mo.g.push_back(g);
    mo.m.emplace_back(n, 0.f);
    mo.v.emplace_back(n, 0.f);
    mo.pr.emplace_back(p.begin(), p.end());
    mo.mr.emplace_back(n, 0.0);
    mo.vr.emplace_back(n, 0.0);
  }
  return mo;
}

// The textbook update in double: AdamW decays p first, Adam adds wd*p to g.
void reference_step(Model& mo, const sr::AdamConfig& c, int64_t t, const std::vector<bool>& has_grad) {
  for (size_t k = 0; k < mo.p.size(); ++k) {
    if (!has_grad[k]) continue;
    for (size_t i = 0; i < mo.p[k].size(); ++i) {
      double& p = mo.pr[k][i];
      double g = mo.g[k][i];
      if (c.decoupled) p -= c.lr * c.weight_decay * p;
      else g += c.weight_decay * p;
      double& m = mo.mr[k][i];
      double& v = mo.vr[k][i];
      m = c.beta1 * m + (1 - c.beta1) * g;
      v = c.beta2 * v + (1 - c.beta2) * g * g;
      const double mhat = m / (1 - std::pow(c.beta1, (double)t));
      const double vhat = v / (1 - std::pow(c.beta2, (double)t));
      p -= c.lr * mhat / (std::sqrt(vhat) + c.eps);
    }
  }
}

void kernel_step(Model& mo, const sr::AdamConfig& c, int64_t t, const std::vector<bool>& has_grad) {
  std::vector<float*> p, m, v;
  std::vector<const float*> g;
  std::vector<int64_t> n;
  for (size_t k = 0; k < mo.p.size(); ++k) {
    p.push_back(mo.p[k].data());
    g.push_back(has_grad[k] ? mo.g[k].data() : nullptr);
    m.push_back(mo.m[k].data());
    v.push_back(mo.v[k].data());
    n.push_back((int64_t)mo.p[k].size());
  }
  sr::cpu::adam_update(sr::adam_step_scalars(c, t), p.data(), g.data(), m.data(), v.data(),
                       n.data(), (int)p.size());
}

void check_adam(const sr::AdamConfig& c) {
  const std::vector<int64_t> sizes = {0, 1, 7, 64, 16384, 16385, 50000, 3};
  const std::vector<bool> has_grad = {true, true, true, true, true, true, true, false};
  Model mo = make_model(sizes, 42);
  const std::vector<float> frozen = mo.p.back();
  for (int64_t t = 1; t <= 5; ++t) {
    kernel_step(mo, c, t, has_grad);
    reference_step(mo, c, t, has_grad);
  }
  double worst = 0;
  for (size_t k = 0; k < sizes.size(); ++k)
    for (size_t i = 0; i < mo.p[k].size(); ++i) {
      worst = std::max(worst, std::fabs(mo.p[k][i] - mo.pr[k][i]) / (1e-3 + std::fabs(mo.pr[k][i])));
      worst = std::max(worst, std::fabs(mo.m[k][i] - mo.mr[k][i]) / (1e-3 + std::fabs(mo.mr[k][i])));
    }
  INFO("worst relative difference to the float64 reference: " << worst);
  CHECK(worst < 2e-5);
  CHECK(mo.p.back() == frozen);  // no gradient, no update (and no weight decay)
  CHECK(mo.m.back() == std::vector<float>(3, 0.f));
}

}  // namespace

TEST_CASE("optimizer/adam_cpu") {
  sr::AdamConfig c;
  c.lr = 2e-3;
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  check_adam(c);
  c.weight_decay = 0.05;  // L2 through the gradient
  check_adam(c);
}

TEST_CASE("optimizer/adamw_cpu") {
  sr::AdamConfig c;
  c.lr = 1e-3;
  c.beta1 = 0.9;
  c.beta2 = 0.999;
  c.weight_decay = 0.01;
  c.decoupled = true;
  check_adam(c);
}

TEST_CASE("optimizer/ema_cpu") {
  const std::vector<int64_t> sizes = {5, 0, 16384 * 3 + 11, 1};
  Model mo = make_model(sizes, 9);
  std::vector<std::vector<float>> ema = mo.g;  // any starting values
  std::vector<std::vector<double>> ref;
  for (auto& e : ema) ref.emplace_back(e.begin(), e.end());
  std::vector<float*> e;
  std::vector<const float*> p;
  std::vector<int64_t> n;
  for (size_t k = 0; k < sizes.size(); ++k) {
    e.push_back(ema[k].data());
    p.push_back(mo.p[k].data());
    n.push_back(sizes[k]);
  }
  const double decay = 0.999;
  for (int step = 0; step < 3; ++step) {
    sr::cpu::ema_update(decay, e.data(), p.data(), n.data(), (int)n.size());
    for (size_t k = 0; k < sizes.size(); ++k)
      for (size_t i = 0; i < ref[k].size(); ++i) ref[k][i] = decay * ref[k][i] + (1 - decay) * mo.p[k][i];
  }
  double worst = 0;
  for (size_t k = 0; k < sizes.size(); ++k)
    for (size_t i = 0; i < ref[k].size(); ++i) worst = std::max(worst, std::fabs(ema[k][i] - ref[k][i]));
  CHECK(worst < 1e-6);
}

TEST_CASE("optimizer/adam_cpu_thread_independent") {
  sr::AdamConfig c;
  c.weight_decay = 0.01;
  c.decoupled = true;
  const std::vector<int64_t> sizes = {100000, 17, 40000};
  const std::vector<bool> has_grad(3, true);
  Model a = make_model(sizes, 5), b = make_model(sizes, 5);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  for (int t = 1; t <= 3; ++t) kernel_step(a, c, t, has_grad);
  omp_set_num_threads(std::max(2, threads));
  for (int t = 1; t <= 3; ++t) kernel_step(b, c, t, has_grad);
  omp_set_num_threads(threads);
  CHECK(a.p == b.p);
  CHECK(a.v == b.v);
}
