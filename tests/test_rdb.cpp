// The fused residual dense block (engine/ops_rdb.h, kernels/cpu/rdb.cpp): float64 gradient
// checks, forward and every gradient against BasicSR's unfused composition (layers/rrdb.cpp)
// for a block and a whole RRDB, the raw kernels on NaN-poisoned outputs, and the
// rdb_impl choice (from the config, per network). The CUDA twin is checked against the CPU in tests/test_cuda_parity.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_rdb.h"
#include "engine/random.h"
#include "engine/storage.h"
#include "kernels/cpu/rdb.h"
#include "kernels/kernel_choice.h"
#include "layers/rrdb.h"
#include "support/gradcheck.h"
#include "support/scoped_env.h"

using namespace sr;
using sr::test::random_tensor;
using V = std::vector<Tensor>;

namespace {

// The smallest |pre-activation| of the four LeakyReLUs (unfused, no grad): gradient checks
// redraw their inputs until it is well away from the kink at 0.
double min_abs_preactivation(const V& in) {
  NoGradGuard no_grad;
  V parts{in[0].detach()};
  double m = INFINITY;
  for (int k = 0; k < 4; ++k) {
    Tensor z = conv2d(cat_channels(parts), in[1 + k].detach(), in[6 + k].detach(), 1, 1);
    for (double v : z.to_vector()) m = std::min(m, std::fabs(v));
    parts.push_back(leaky_relu(z, 0.2));
  }
  return m;
}

// x, w1..w5, b1..b5 (and the outer residual) for a block of nf features and growth gc.
V rdb_inputs(std::mt19937_64& rng, int64_t N, int64_t nf, int64_t gc, int64_t H, int64_t W, bool outer) {
  V in{random_tensor(rng, {N, nf, H, W})};
  for (int k = 0; k < 5; ++k) {
    const int64_t cin = nf + k * gc, cout = k == 4 ? nf : gc;
    const double a = std::sqrt(3.0 / (9.0 * cin));  // unit-variance outputs: the LeakyReLUs bend
    in.push_back(random_tensor(rng, {cout, cin, 3, 3}, -a, a));
  }
  for (int k = 0; k < 5; ++k) in.push_back(random_tensor(rng, {k == 4 ? nf : gc}, -0.2, 0.2));
  if (outer) in.push_back(random_tensor(rng, {N, nf, H, W}));
  return in;
}

Tensor call_fused(const V& in, double slope = 0.2, double residual = 0.2, double outer_scale = 0.2) {
  RdbParams p;
  for (int k = 0; k < 5; ++k) {
    p.w[k] = in[1 + k];
    p.b[k] = in[6 + k];
  }
  return residual_dense_block(in[0], p, slope, residual, in.size() > 11 ? in[11] : Tensor(), outer_scale);
}

// Forward and every gradient of a module's forward on input x, for L = sum(r * y).
struct Result {
  Tensor y, dx;
  NamedTensors grads;
};
Result run(Module& m, const Tensor& x0, const Tensor& r, const std::function<Tensor(const Tensor&)>& fwd) {
  m.zero_grad();
  Tensor x = x0.clone();
  x.set_requires_grad(true);
  Result res;
  res.y = fwd(x);
  sum(mul(res.y, r)).backward();
  res.dx = x.grad();
  for (auto& [name, p] : m.named_parameters()) res.grads.emplace_back(name, p.grad());
  return res;
}

// Weights that make the LeakyReLUs matter (BasicSR's 0.1-scaled init keeps the block close
// to the identity), and non-zero biases.
void randomize(Module& m, Generator& gen) {
  for (auto& [name, p] : m.named_parameters()) {
    if (p.dim() == 4) {
      const double a = std::sqrt(3.0 / (double)(p.size(1) * p.size(2) * p.size(3)));
      uniform_(p, -a, a, gen);
    } else {
      uniform_(p, -0.2, 0.2, gen);
    }
  }
}

void compare_results(const Result& fused, const Result& unfused, double tol) {
  test::expect_close_scaled("output", fused.y, unfused.y, tol);
  test::expect_close_scaled("d input", fused.dx, unfused.dx, tol);
  REQUIRE(fused.grads.size() == unfused.grads.size());
  for (size_t i = 0; i < fused.grads.size(); ++i) {
    REQUIRE(fused.grads[i].first == unfused.grads[i].first);
    test::expect_close_scaled("d " + fused.grads[i].first, fused.grads[i].second, unfused.grads[i].second, tol);
  }
}

}  // namespace

TEST_CASE("gradcheck/residual_dense_block") {
  struct Case { int64_t n, nf, gc, h, w; bool outer; };
  const Case cases[] = {{2, 4, 3, 5, 6, false}, {1, 3, 2, 4, 3, true}, {2, 2, 3, 3, 5, true}};
  for (const Case& c : cases) {
    const uint64_t seed = sr::test::fresh_seed();
    std::mt19937_64 rng(seed);
    V in = rdb_inputs(rng, c.n, c.nf, c.gc, c.h, c.w, c.outer);
    for (int tries = 0; tries < 100 && min_abs_preactivation(in) < 1e-4; ++tries)
      in = rdb_inputs(rng, c.n, c.nf, c.gc, c.h, c.w, c.outer);
    REQUIRE(min_abs_preactivation(in) >= 1e-4);
    auto result = sr::test::gradcheck([](const V& v) { return call_fused(v); }, in, seed);
    INFO("residual_dense_block n" << c.n << " nf" << c.nf << " gc" << c.gc << " " << c.h << "x" << c.w
                                  << (c.outer ? " + outer" : "") << " (seed " << seed << ")\n"
                                  << result.report);
    CHECK(result.ok);
  }
}

TEST_CASE("rdb/fused_matches_unfused") {
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f64 ? 1e-12 : 5e-5;
    struct Case { int64_t n, nf, gc, h, w; };
    for (const Case& c : {Case{2, 8, 4, 7, 9}, Case{1, 16, 8, 6, 5}, Case{3, 5, 3, 4, 11}}) {
      const uint64_t seed = sr::test::fresh_seed();
      INFO(dtype_name(dt) << " n" << c.n << " nf" << c.nf << " gc" << c.gc << " " << c.h << "x" << c.w
                          << " (seed " << seed << ")");
      Generator gen(seed);
      Tensor x = Tensor::empty({c.n, c.nf, c.h, c.w});
      Tensor r = Tensor::empty({c.n, c.nf, c.h, c.w});
      uniform_(x, -1, 1, gen);
      uniform_(r, -1, 1, gen);
      x = x.to(dt);
      r = r.to(dt);
      {
        ResidualDenseBlock block(c.nf, c.gc);
        randomize(block, gen);
        block.to(dt);
        const Result f = run(block, x, r, [&](const Tensor& t) { return block.forward_fused(t); });
        const Result u = run(block, x, r, [&](const Tensor& t) { return block.forward_unfused(t); });
        INFO("ResidualDenseBlock");
        compare_results(f, u, tol);
      }
      {
        RRDB rrdb(c.nf, c.gc);
        randomize(rrdb, gen);
        rrdb.to(dt);
        const Result f = run(rrdb, x, r, [&](const Tensor& t) { return rrdb.forward_fused(t); });
        const Result u = run(rrdb, x, r, [&](const Tensor& t) { return rrdb.forward_unfused(t); });
        INFO("RRDB (rdb3 fuses the outer residual)");
        compare_results(f, u, tol);
      }
    }
  }
}

// The raw kernels write every element they own: outputs start as NaN (dw/db as 0.25, to
// check they add), and must match the op.
template <typename T>
void check_poisoned_kernels(DType dt) {
  const uint64_t seed = sr::test::fresh_seed();
  INFO(dtype_name(dt) << " (seed " << seed << ")");
  std::mt19937_64 rng(seed);
  const int64_t N = 2, nf = 6, gc = 4, H = 5, W = 7;
  V in = rdb_inputs(rng, N, nf, gc, H, W, true);
  for (Tensor& t : in) {
    t = t.detach().to(dt);
    t.set_requires_grad(true);
  }
  Tensor y = call_fused(in);
  Tensor dy = random_tensor(rng, y.shape(), -1, 1, {}, 0, false).to(dt);
  sum(mul(y, dy)).backward();

  const T nan = std::numeric_limits<T>::quiet_NaN();
  const RdbShape s{N, nf, gc, H, W};
  RdbWeights<T> p{};
  for (int k = 0; k < 5; ++k) {
    p.w[k] = in[1 + k].template data<T>();
    p.b[k] = in[6 + k].template data<T>();
  }
  Tensor buf = Tensor::full({N, s.channels(), H, W}, nan, dt), out = Tensor::full(y.shape(), nan, dt);
  cpu::rdb_forward<T>(s, in[0].template data<T>(), p, in[11].template data<T>(), T(0.2), T(0.2), T(0.2),
                      buf.template data<T>(), out.template data<T>());
  for (double v : buf.to_vector()) REQUIRE(std::isfinite(v));
  test::expect_close_scaled("forward", out, y.detach(), 0);

  Tensor dx = Tensor::full(in[0].shape(), nan, dt);
  std::vector<Tensor> dw, db;
  T* dwp[5];
  T* dbp[5];
  for (int k = 0; k < 5; ++k) {
    dw.push_back(Tensor::full(in[1 + k].shape(), 0.25, dt));
    db.push_back(Tensor::full(in[6 + k].shape(), 0.25, dt));
    dwp[k] = dw[k].template data<T>();
    dbp[k] = db[k].template data<T>();
  }
  cpu::rdb_backward<T>(s, buf.template data<T>(), p, dy.template data<T>(), T(0.2), T(0.2), true, T(0.2),
                       dx.template data<T>(), dwp, dbp);
  const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
  test::expect_close_scaled("d input", dx, in[0].grad(), 0);
  for (int k = 0; k < 5; ++k) {
    test::expect_close_scaled("d w" + std::to_string(k + 1), add(dw[k], Tensor::full(dw[k].shape(), -0.25, dt)),
                 in[1 + k].grad(), tol);
    test::expect_close_scaled("d b" + std::to_string(k + 1), add(db[k], Tensor::full(db[k].shape(), -0.25, dt)),
                 in[6 + k].grad(), tol);
  }
  test::expect_close_scaled("d outer", in[11].grad(), dy, 0);
}

TEST_CASE("rdb/cpu_kernels_poisoned") {
  check_poisoned_kernels<double>(DType::f64);
  check_poisoned_kernels<float>(DType::f32);
}

// What a block keeps alive between forward and backward, at RRDBNet's shapes (nf 64, gc 32,
// batch 4, 32 x 32, float32): the fused node saves its buffer only; the unfused graph keeps
// x_1..x_4 and, in each conv's saved input, the four concatenations (4 nf + 10 gc channels).
// The fused buffer holds its own copy of x, so a lone block saves 4 nf + 10 gc - nf channels
// (the test holds x either way); in a chain the previous output is freed, and each block
// saves the full 4 nf + 10 gc.
TEST_CASE("rdb/fused_saves_the_cat_copies") {
  const int64_t N = 4, nf = 64, gc = 32, H = 32, W = 32, plane = N * H * W * 4;  // bytes per channel
  const int64_t cat_channels = 4 * nf + 10 * gc;
  Tensor x = Tensor::zeros({N, nf, H, W});
  x.set_requires_grad(true);
  // Bytes held by the output and its graph once forward has returned.
  auto held = [&](const std::function<Tensor()>& forward) {
    const size_t before = host_memory_stats().current_bytes;
    Tensor y = forward();
    return (int64_t)(host_memory_stats().current_bytes - before);
  };
  ResidualDenseBlock block(nf, gc);
  const int64_t fused = held([&] { return block.forward_fused(x); });
  const int64_t unfused = held([&] { return block.forward_unfused(x); });
  RRDB rrdb(nf, gc);
  const int64_t fused3 = held([&] { return rrdb.forward_fused(x); });
  const int64_t unfused3 = held([&] { return rrdb.forward_unfused(x); });
  INFO("held after forward, in channels of " << plane << " bytes: block fused " << fused / plane
                                             << ", unfused " << unfused / plane << "; RRDB fused "
                                             << fused3 / plane << ", unfused " << unfused3 / plane);
  CHECK(fused == (nf + 4 * gc + nf) * plane);                // the buffer and y
  CHECK(unfused - fused >= (cat_channels - nf) * plane);
  CHECK(fused3 == (3 * (nf + 4 * gc) + nf) * plane);         // three buffers and y
  CHECK(unfused3 - fused3 >= (3 * cat_channels - nf) * plane);
  WARN("held after forward (channels of " << plane << " bytes): block fused " << fused / plane
                                          << " unfused " << unfused / plane << "; RRDB fused "
                                          << fused3 / plane << " unfused " << unfused3 / plane);
}

TEST_CASE("rdb/shape_errors") {
  std::mt19937_64 rng(7);
  V in = rdb_inputs(rng, 1, 4, 2, 3, 3, false);
  V bad = in;
  bad[3] = random_tensor(rng, {2, 7, 3, 3});  // conv3 must read nf + 2 gc = 8 channels
  CHECK_THROWS_WITH(call_fused(bad), Catch::Contains("conv3 weight") && Catch::Contains("(2, 8, 3, 3)"));
  CHECK_THROWS_WITH(call_fused(in, 0.0), Catch::Contains("slope must be > 0"));
  bad = in;
  bad.push_back(random_tensor(rng, {1, 4, 3, 4}));
  CHECK_THROWS(call_fused(bad));
}

namespace {

// How many autograd nodes of each op the graph behind y holds (each node once).
std::map<std::string, int> graph_ops(const Tensor& y) {
  std::map<std::string, int> count;
  std::set<const Node*> seen;
  std::vector<std::shared_ptr<Node>> todo{y.grad_fn()};
  while (!todo.empty()) {
    const std::shared_ptr<Node> n = todo.back();
    todo.pop_back();
    if (!n || !seen.insert(n.get()).second) continue;
    ++count[n->name()];
    for (const Edge& e : n->next_edges)
      if (e.fn) todo.push_back(e.fn);
  }
  return count;
}

}  // namespace

TEST_CASE("rdb/choice_from_config") {
  namespace k = sr::kernels;
  sr::test::ScopedEnv env;  // puts back a suite-wide SRENGINE_RDB_IMPL
  env.unset("SRENGINE_RDB_IMPL");
  CHECK(k::KernelChoice{}.rdb == k::RdbImpl::fused);
  CHECK(k::kernel_choice("native", "fused").rdb == k::RdbImpl::fused);
  CHECK(k::kernel_choice("native", "unfused").rdb == k::RdbImpl::unfused);
  CHECK_THROWS_WITH(k::kernel_choice("native", "fast"),
                    Catch::Contains("rdb_impl: unknown rdb_impl 'fast'") && Catch::Contains("valid: fused, unfused"));
  env.set("SRENGINE_RDB_IMPL", "fused");  // the environment wins over the config
  CHECK(k::kernel_choice("native", "unfused").rdb == k::RdbImpl::fused);
  env.set("SRENGINE_RDB_IMPL", "unfused");  // and over the default
  CHECK(k::KernelChoice{}.rdb == k::RdbImpl::unfused);
  env.set("SRENGINE_RDB_IMPL", "nonsense");
  CHECK_THROWS_WITH(k::KernelChoice{}, Catch::Contains("SRENGINE_RDB_IMPL") && Catch::Contains("'nonsense'"));
  CHECK_THROWS_WITH(k::kernel_choice("native", "fused"), Catch::Contains("SRENGINE_RDB_IMPL"));
}

// Two RRDBs with different choices, built side by side with the same weights and run
// interleaved in one process: each runs its own path, told apart by the nodes of its graph
// (one fused node per block, or BasicSR's cat_channels + conv2d composition), and both
// compute the same function. A choice held anywhere but in the module would give both
// graphs the same nodes.
TEST_CASE("rdb/choice_per_network") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  Generator gen(seed);
  LayerOptions fused, unfused;
  fused.kernels.rdb = kernels::RdbImpl::fused;
  unfused.kernels.rdb = kernels::RdbImpl::unfused;
  RRDB a(6, 3, fused), b(6, 3, unfused);
  randomize(a, gen);
  b.load_state_dict(a.state_dict(), true);
  std::map<std::string, int> ops_a, ops_b;
  for (int round = 0; round < 2; ++round) {  // a, b, a, b: no choice leaks from one to the next
    Tensor x = Tensor::empty({2, 6, 5, 4}), r = Tensor::empty({2, 6, 5, 4});
    uniform_(x, -1, 1, gen);
    uniform_(r, -1, 1, gen);
    const Result ra = run(a, x, r, [&](const Tensor& t) {
      Tensor y = a.forward(t);
      ops_a = graph_ops(y);
      return y;
    });
    const Result rb = run(b, x, r, [&](const Tensor& t) {
      Tensor y = b.forward(t);
      ops_b = graph_ops(y);
      return y;
    });
    INFO("round " << round);
    CHECK(ops_a["residual_dense_block"] == 3);
    CHECK(ops_a["cat_channels"] == 0);
    CHECK(ops_a["conv2d"] == 0);
    CHECK(ops_b["residual_dense_block"] == 0);
    CHECK(ops_b["cat_channels"] == 12);  // 4 per block
    CHECK(ops_b["conv2d"] == 15);        // 5 per block
    compare_results(ra, rb, 5e-5);
  }
  // The options reach every layer the blocks build.
  for (const auto* m : {&a, &b})
    for (const auto& rdb : {m->rdb1, m->rdb2, m->rdb3}) {
      CHECK(rdb->options.kernels == m->options.kernels);
      CHECK(rdb->conv5->options.kernels == m->options.kernels);
    }
}
