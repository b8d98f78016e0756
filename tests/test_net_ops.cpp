// The ops the networks add to the engine: prelu (SRVGGNetCompact), max_pool2d (VGG19
// features), batch_norm (VGGStyleDiscriminator). Forward values by hand, gradients by
// central differences in float64 (fresh seed per run, printed on failure).
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_batch_norm.h"
#include "engine/ops_pool.h"
#include "engine/ops_prelu.h"
#include "support/gradcheck.h"

using namespace sr;
using sr::test::expect_gradients;
using sr::test::gradcheck;
using sr::test::random_tensor;
using V = std::vector<Tensor>;

namespace {

Tensor vec(std::vector<double> v, Shape s, DType dt = DType::f64) { return Tensor::from_vector(v, s, dt); }

}  // namespace

TEST_CASE("net_ops/prelu_forward") {
  Tensor x = vec({1, -2, 3, -4, -1, 2, -3, 4}, {1, 2, 2, 2});
  CHECK(prelu(x, vec({0.5, 0.25}, {2})).to_vector() == std::vector<double>{1, -1, 3, -2, -0.25, 2, -0.75, 4});
  CHECK(prelu(x, vec({0.1}, {1})).to_vector()[1] == Approx(-0.2));  // one shared slope
  CHECK_THROWS_WITH(prelu(x, vec({1, 2, 3}, {3})), Catch::Contains("prelu") && Catch::Contains("1 or 2"));
}

TEST_CASE("gradcheck/prelu") {
  for (int64_t slopes : {3, 1}) {
    expect_gradients("prelu", [](const V& in) { return prelu(in[0], in[1]); }, [&](std::mt19937_64& rng) {
      return V{random_tensor(rng, {2, 3, 4, 5}, -1, 1, {0.0}), random_tensor(rng, {slopes}, 0.05, 0.5)};
    });
  }
}

TEST_CASE("net_ops/max_pool2d_forward") {
  // 1 plane 4x5 -> 2x2 (the last column is dropped: floor mode).
  Tensor x = vec({1, 5, 2, 0, 9,  //
                  3, 4, 8, 8, 9,  //
                  -1, -2, -3, -4, 9,  //
                  -5, -1, -7, -3, 9},
                 {1, 1, 4, 5});
  Tensor y = max_pool2d(x);
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector() == std::vector<double>{5, 8, -1, -3});
  // Ties: the gradient goes to the first maximum in row-major order only (8 at (1,2)).
  Tensor xr = x.clone();
  xr.set_requires_grad(true);
  sum(max_pool2d(xr)).backward();
  const auto g = xr.grad().to_vector();
  CHECK(g[1 * 5 + 2] == 1.0);
  CHECK(g[1 * 5 + 3] == 0.0);
  CHECK(g[0 * 5 + 1] == 1.0);
  double total = 0;
  for (double v : g) total += v;
  CHECK(total == 4.0);
  CHECK_THROWS_WITH(max_pool2d(Tensor::zeros({1, 1, 1, 3})), Catch::Contains("smaller than"));
}

TEST_CASE("gradcheck/max_pool2d") {
  struct Case { Shape s; int k, stride; };
  for (const Case& c : {Case{{2, 3, 6, 8}, 2, 2}, Case{{1, 2, 7, 5}, 2, 2}, Case{{1, 2, 7, 6}, 3, 2},
                        Case{{1, 1, 5, 5}, 2, 1}}) {
    expect_gradients("max_pool2d", [c](const V& in) { return max_pool2d(in[0], c.k, c.stride); },
                     [&](std::mt19937_64& rng) { return V{random_tensor(rng, c.s)}; });
  }
}

TEST_CASE("net_ops/batch_norm_forward_and_running_stats") {
  // Channel 0 holds {1, 2, 3, 6} (2 images x 2 pixels): mean 3, biased var 3.5, unbiased 14/3.
  Tensor x = vec({1, 2, 10, 10, 3, 6, 10, 12}, {2, 2, 1, 2});
  Tensor w = vec({2, 1}, {2}), b = vec({0.5, 0}, {2});
  Tensor rm = vec({0, 0}, {2}), rv = vec({1, 1}, {2});
  Tensor y = batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5);
  const double inv = 1 / std::sqrt(3.5 + 1e-5);
  const auto yv = y.to_vector();
  CHECK(yv[0] == Approx(2 * (1 - 3) * inv + 0.5).epsilon(1e-12));
  CHECK(yv[5] == Approx(2 * (6 - 3) * inv + 0.5).epsilon(1e-12));
  CHECK(rm.to_vector()[0] == Approx(0.3).epsilon(1e-12));
  CHECK(rv.to_vector()[0] == Approx(0.9 + 0.1 * 14.0 / 3).epsilon(1e-12));
  CHECK(rm.to_vector()[1] == Approx(0.1 * 10.5).epsilon(1e-12));
  // Eval uses the running statistics.
  Tensor ye = batch_norm(x, w, b, rm, rv, false);
  CHECK(ye.to_vector()[0] == Approx(2 * (1 - 0.3) / std::sqrt(rv.to_vector()[0] + 1e-5) + 0.5).epsilon(1e-12));
  Tensor one = Tensor::zeros({1, 2, 1, 1}, DType::f64);
  CHECK_THROWS_WITH(batch_norm(one, w, b, rm, rv, true), Catch::Contains("more than 1 value"));
}

TEST_CASE("gradcheck/batch_norm") {
  for (bool training : {true, false}) {
    expect_gradients(
        training ? "batch_norm training" : "batch_norm eval",
        [training](const V& in) {
          Tensor rm = Tensor::from_vector(std::vector<double>{0.1, -0.2, 0.3}, {3}, DType::f64);
          Tensor rv = Tensor::from_vector(std::vector<double>{0.5, 1.5, 0.9}, {3}, DType::f64);
          return batch_norm(in[0], in[1], in[2], rm, rv, training);
        },
        [](std::mt19937_64& rng) {
          return V{random_tensor(rng, {2, 3, 3, 2}), random_tensor(rng, {3}, 0.5, 1.5),
                   random_tensor(rng, {3})};
        });
  }
  // No affine parameters, no running statistics (track_running_stats=False).
  expect_gradients(
      "batch_norm plain",
      [](const V& in) {
        Tensor none;
        return batch_norm(in[0], Tensor(), Tensor(), none, none, true);
      },
      [](std::mt19937_64& rng) { return V{random_tensor(rng, {3, 2, 2, 3})}; });
}
