// The ECB ops ecb_weight and ecb_bias (engine/ops_ecb.h): the folded convolution against
// ECBSR's five branches computed as BasicSR trains them (the 1x1 outputs padded with their
// bias, each branch a convolution of its own), gradients by central differences, the float
// kernels against the double ones, and the argument errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_ecb.h"
#include "support/gradcheck.h"

using namespace sr;
using sr::test::expect_close_scaled;
using sr::test::expect_gradients;
using sr::test::random_tensor;
using V = std::vector<Tensor>;

namespace {

struct EcbCase {
  int64_t O, I, M;
  bool identity;
};

// ECBSR's fixed taps (BasicSR's SeqConv3x3 masks), row-major 3x3: Sobel x, Sobel y, Laplacian.
const double kEdgeTaps[kEcbEdges][9] = {{1, 0, -1, 2, 0, -2, 1, 0, -1},
                                        {1, 2, 1, 0, 0, 0, -1, -2, -1},
                                        {0, 1, 0, 1, -4, 1, 0, 1, 0}};

Tensor edge_mask(int e, int64_t O) {
  std::vector<double> v;
  for (int64_t o = 0; o < O; ++o) v.insert(v.end(), kEdgeTaps[e], kEdgeTaps[e] + 9);
  return Tensor::from_vector(v, {O, 1, 3, 3}, DType::f64);
}

// A block's tensors drawn from rng; the masks are ECBSR's taps or, with random_masks, random
// constants (the ops take any taps: the ones whose sum is not 0 make the edge biases count).
EcbTensors random_block(std::mt19937_64& rng, const EcbCase& c, bool random_masks = false) {
  EcbTensors b;
  b.conv3x3_weight = random_tensor(rng, {c.O, c.I, 3, 3});
  b.conv3x3_bias = random_tensor(rng, {c.O});
  b.k0 = random_tensor(rng, {c.M, c.I, 1, 1});
  b.b0 = random_tensor(rng, {c.M});
  b.k1 = random_tensor(rng, {c.O, c.M, 3, 3});
  b.b1 = random_tensor(rng, {c.O});
  for (int e = 0; e < kEcbEdges; ++e) {
    EcbEdgeTensors& t = b.edges[e];
    t.k0 = random_tensor(rng, {c.O, c.I, 1, 1});
    t.b0 = random_tensor(rng, {c.O});
    t.scale = random_tensor(rng, {c.O, 1, 1, 1});
    t.bias = random_tensor(rng, {c.O});
    t.mask = random_masks ? random_tensor(rng, {c.O, 1, 3, 3}, -2, 2, {}, 1e-2, false) : edge_mask(e, c.O);
  }
  return b;
}

// ECBSR's training forward, written out as BasicSR runs it, in double loops over (N, C, H, W):
// each branch's 1x1 output padded with its bias, then its 3x3 (dense, or depthwise with taps
// scale * mask), the five branches summed, plus x with_idt.
std::vector<double> five_branches(const EcbTensors& b, bool identity, const Tensor& x_t) {
  const int64_t N = x_t.size(0), I = x_t.size(1), H = x_t.size(2), W = x_t.size(3);
  const int64_t O = b.conv3x3_weight.size(0), M = b.k0.size(0);
  const std::vector<double> x = x_t.to_vector(), w3 = b.conv3x3_weight.to_vector(), bias3 = b.conv3x3_bias.to_vector(),
                            k0 = b.k0.to_vector(), b0 = b.b0.to_vector(), k1 = b.k1.to_vector(), b1 = b.b1.to_vector();
  auto X = [&](int64_t n, int64_t c, int64_t y, int64_t xx) { return x[((n * I + c) * H + y) * W + xx]; };
  std::vector<double> out(N * O * H * W, 0.0);
  auto OUT = [&](int64_t n, int64_t o, int64_t y, int64_t xx) -> double& { return out[((n * O + o) * H + y) * W + xx]; };
  // A 1x1 convolution's output at (y, x) of the bias-padded (H + 2) x (W + 2) map.
  auto one_by_one = [&](const std::vector<double>& k, const std::vector<double>& bias, int64_t n, int64_t m,
                        int64_t y, int64_t xx) {
    if (y < 0 || y >= H || xx < 0 || xx >= W) return bias[m];
    double acc = bias[m];
    for (int64_t i = 0; i < I; ++i) acc += k[m * I + i] * X(n, i, y, xx);
    return acc;
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx) {
          double conv3 = bias3[o], seq = b1[o];
          for (int64_t dy = -1; dy <= 1; ++dy)
            for (int64_t dx = -1; dx <= 1; ++dx) {
              const int64_t t = (dy + 1) * 3 + (dx + 1), yy = y + dy, xs = xx + dx;
              if (yy >= 0 && yy < H && xs >= 0 && xs < W)
                for (int64_t i = 0; i < I; ++i) conv3 += w3[(o * I + i) * 9 + t] * X(n, i, yy, xs);
              for (int64_t m = 0; m < M; ++m) seq += k1[(o * M + m) * 9 + t] * one_by_one(k0, b0, n, m, yy, xs);
            }
          double edges = 0;
          for (const EcbEdgeTensors& e : b.edges) {
            const std::vector<double> ek0 = e.k0.to_vector(), eb0 = e.b0.to_vector(), es = e.scale.to_vector(),
                                      ec = e.bias.to_vector(), em = e.mask.to_vector();
            double acc = ec[o];
            for (int64_t dy = -1; dy <= 1; ++dy)
              for (int64_t dx = -1; dx <= 1; ++dx) {
                const int64_t t = (dy + 1) * 3 + (dx + 1);
                acc += es[o] * em[o * 9 + t] * one_by_one(ek0, eb0, n, o, y + dy, xx + dx);
              }
            edges += acc;
          }
          OUT(n, o, y, xx) = conv3 + seq + edges + (identity ? X(n, o, y, xx) : 0.0);
        }
  return out;
}

Tensor folded_conv(const EcbTensors& b, bool identity, const Tensor& x) {
  return conv2d(x, ecb_weight(b, identity), ecb_bias(b), 1, 1);
}

// The differentiable tensors of a block, in a fixed order, and the block rebuilt from them.
V trainable(const EcbTensors& b) {
  V v = {b.conv3x3_weight, b.conv3x3_bias, b.k0, b.b0, b.k1, b.b1};
  for (const EcbEdgeTensors& e : b.edges) v.insert(v.end(), {e.k0, e.b0, e.scale, e.bias});
  return v;
}
EcbTensors with_trainable(EcbTensors b, const V& v) {
  b.conv3x3_weight = v[0], b.conv3x3_bias = v[1], b.k0 = v[2], b.b0 = v[3], b.k1 = v[4], b.b1 = v[5];
  for (int e = 0; e < kEcbEdges; ++e) {
    b.edges[e].k0 = v[6 + 4 * e], b.edges[e].b0 = v[7 + 4 * e];
    b.edges[e].scale = v[8 + 4 * e], b.edges[e].bias = v[9 + 4 * e];
  }
  return b;
}

EcbTensors to_float(const EcbTensors& b) {
  V v = trainable(b);
  for (Tensor& t : v) t = t.to(DType::f32).detach();
  EcbTensors f = with_trainable(b, v);
  for (EcbEdgeTensors& e : f.edges) e.mask = e.mask.to(DType::f32);
  return f;
}

}  // namespace

TEST_CASE("ops/ecb_conv_matches_the_five_branches") {
  // O != I (ECBSR's first and last blocks), with_idt, M twice O (depth_multiplier 2), one
  // channel in (a Y-channel net's first block), and random taps.
  const EcbCase cases[] = {{4, 3, 8, false}, {3, 3, 6, true}, {5, 1, 10, false}, {2, 2, 3, true}};
  std::mt19937_64 rng(sr::test::fresh_seed());
  for (const EcbCase& c : cases)
    for (bool random_masks : {false, true}) {
      INFO("O " << c.O << " I " << c.I << " M " << c.M << " identity " << c.identity << " random masks "
                << random_masks);
      NoGradGuard no_grad;
      const EcbTensors b = random_block(rng, c, random_masks);
      const Tensor x = random_tensor(rng, {2, c.I, 5, 7}, -1, 1, {}, 1e-2, false);
      const Tensor ref = Tensor::from_vector(five_branches(b, c.identity, x), {2, c.O, 5, 7}, DType::f64);
      expect_close_scaled("ecb folded conv", folded_conv(b, c.identity, x), ref, 1e-12);
    }
}

TEST_CASE("gradcheck/ecb_weight") {
  for (const EcbCase& c : {EcbCase{3, 2, 4, false}, EcbCase{2, 2, 3, true}}) {
    std::mt19937_64 rng(sr::test::fresh_seed());
    const EcbTensors base = random_block(rng, c, true);
    expect_gradients("ecb_weight", [&](const V& in) { return ecb_weight(with_trainable(base, in), c.identity); },
                     [&](std::mt19937_64& r) { return trainable(random_block(r, c)); });
  }
}

TEST_CASE("gradcheck/ecb_bias") {
  // Random taps: ECBSR's sum to 0, which would leave the edge b0 gradients 0 and untested.
  std::mt19937_64 rng(sr::test::fresh_seed());
  const EcbTensors base = random_block(rng, {3, 2, 4, false}, true);
  expect_gradients("ecb_bias", [&](const V& in) { return ecb_bias(with_trainable(base, in)); },
                   [&](std::mt19937_64& r) { return trainable(random_block(r, {3, 2, 4, false})); });
}

TEST_CASE("gradcheck/ecb_conv") {
  // Through conv2d, as a training block runs it: x and every branch parameter.
  const EcbCase c{3, 3, 5, true};
  std::mt19937_64 rng(sr::test::fresh_seed());
  const EcbTensors base = random_block(rng, c, true);
  expect_gradients("ecb conv", [&](const V& in) {
    return folded_conv(with_trainable(base, V(in.begin() + 1, in.end())), c.identity, in[0]);
  }, [&](std::mt19937_64& r) {
    V v = {random_tensor(r, {2, 3, 4, 5})};
    for (const Tensor& t : trainable(random_block(r, c))) v.push_back(t);
    return v;
  });
}

TEST_CASE("ops/ecb_float_matches_double") {
  // Each float element is its double sum rounded once: within a float's rounding of the
  // double result, gradients included.
  std::mt19937_64 rng(sr::test::fresh_seed());
  const EcbCase c{16, 16, 32, true};
  const EcbTensors b = random_block(rng, c, true);
  const EcbTensors f = to_float(b);
  V vb = trainable(b), vf = trainable(f);
  for (Tensor& t : vf) t.set_requires_grad(true);
  const EcbTensors fb = with_trainable(f, vf);
  const Tensor wd = ecb_weight(b, true), bd = ecb_bias(b);
  const Tensor wf = ecb_weight(fb, true), bf = ecb_bias(fb);
  expect_close_scaled("ecb_weight float", wf.to(DType::f64), wd, 1e-6);
  expect_close_scaled("ecb_bias float", bf.to(DType::f64), bd, 1e-6);
  const Tensor gw = random_tensor(rng, wd.shape(), -1, 1, {}, 1e-2, false);
  const Tensor gb = random_tensor(rng, bd.shape(), -1, 1, {}, 1e-2, false);
  run_backward(add(sum(mul(wf, gw.to(DType::f32))), sum(mul(bf, gb.to(DType::f32)))), Tensor());
  for (Tensor& t : vb) t.set_requires_grad(true);
  const EcbTensors db = with_trainable(b, vb);
  run_backward(add(sum(mul(ecb_weight(db, true), gw)), sum(mul(ecb_bias(db), gb))), Tensor());
  for (size_t k = 0; k < vb.size(); ++k) {
    INFO("tensor " << k);
    REQUIRE(vf[k].grad().defined());
    expect_close_scaled("ecb gradient float", vf[k].grad().to(DType::f64), vb[k].grad(), 1e-6);
  }
}

TEST_CASE("ops/ecb_argument_errors") {
  std::mt19937_64 rng(sr::test::fresh_seed());
  const EcbTensors good = random_block(rng, {3, 2, 4, false});
  {
    EcbTensors b = good;
    b.k1 = random_tensor(rng, {3, 5, 3, 3});
    CHECK_THROWS_WITH(ecb_weight(b, false), Catch::Contains("ecb_weight") && Catch::Contains("k1") &&
                                                Catch::Contains("[3, 5, 3, 3]") && Catch::Contains("[3, 4, 3, 3]"));
  }
  {
    EcbTensors b = good;
    b.edges[2].scale = random_tensor(rng, {3});
    CHECK_THROWS_WITH(ecb_bias(b), Catch::Contains("ecb_bias") && Catch::Contains("laplacian scale"));
  }
  CHECK_THROWS_WITH(ecb_weight(good, true), Catch::Contains("with_idt") && Catch::Contains("3 and 2"));
  {
    EcbTensors b = good;
    b.edges[0].mask = random_tensor(rng, {3, 1, 3, 3});  // requires grad
    CHECK_THROWS_WITH(ecb_weight(b, false), Catch::Contains("sobelx mask") && Catch::Contains("constant"));
  }
  {
    EcbTensors b = good;
    b.b0 = b.b0.to(DType::f32);
    CHECK_THROWS_WITH(ecb_bias(b), Catch::Contains("ecb_bias"));
  }
}
