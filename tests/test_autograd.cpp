// The autograd tape: accumulation, zero_grad, detach, NoGradGuard, graph release,
// diamonds and explicit gradients.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"

using namespace sr;

namespace {
Tensor leaf(std::vector<double> v) {
  Tensor t = Tensor::from_vector(v, {(int64_t)v.size()}, DType::f64);
  t.set_requires_grad(true);
  return t;
}
}  // namespace

TEST_CASE("autograd/accumulates_into_grad_until_zero_grad") {
  Tensor x = leaf({1.0, 2.0, 3.0});
  sum(scale(x, 2.0)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2, 2});
  sum(scale(x, 3.0)).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{5, 5, 5});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{1, 1, 1});
}

TEST_CASE("autograd/diamond_graph_sums_both_paths") {
  // y = a*x + b*(x*x) reaches x along two paths (and x*x uses x twice).
  Tensor x = leaf({0.5, -1.5});
  Tensor y = axpby(3.0, x, 2.0, mul(x, x));
  sum(y).backward();
  CHECK(x.grad().to_vector()[0] == Approx(3.0 + 4.0 * 0.5));
  CHECK(x.grad().to_vector()[1] == Approx(3.0 + 4.0 * -1.5));
}

TEST_CASE("autograd/detach_and_no_grad_stop_recording") {
  Tensor x = leaf({1.0, 2.0});
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.same_storage(x));
  {
    NoGradGuard guard;
    Tensor y = scale(x, 2.0);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  Tensor y = add(scale(x, 2.0), d);
  CHECK(y.requires_grad());
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{2, 2});  // nothing through d
}

TEST_CASE("autograd/graph_is_freed_after_backward") {
  Tensor x = leaf({1.0, 2.0});
  std::weak_ptr<Storage> watch;
  Tensor loss;
  {
    Tensor saved = scale(x, 1.0);  // saved by mul's node below
    watch = saved.impl()->storage;
    loss = sum(mul(saved, saved));
  }
  CHECK_FALSE(watch.expired());  // held by the graph
  loss.backward();
  CHECK(watch.expired());  // released with the graph
  CHECK_THROWS_WITH(loss.backward(), Catch::Contains("already freed"));
}

TEST_CASE("autograd/explicit_gradient_and_errors") {
  Tensor x = leaf({1.0, 2.0, 3.0});
  Tensor y = scale(x, 4.0);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("one-element"));
  y.backward(Tensor::from_vector(std::vector<double>{1.0, 0.5, 0.0}, {3}, DType::f64));
  CHECK(x.grad().to_vector() == std::vector<double>{4.0, 2.0, 0.0});
  Tensor z = Tensor::zeros({1}, DType::f64);
  CHECK_THROWS_WITH(z.backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("autograd/unused_branch_gets_no_gradient") {
  // b only feeds an output that is not differentiated: its grad stays undefined, and a
  // node that receives no gradient does not block the rest of the walk.
  Tensor a = leaf({1.0}), b = leaf({2.0});
  Tensor shared = add(a, b);
  Tensor unused = scale(shared, 2.0);
  (void)unused;
  sum(scale(a, 3.0)).backward();
  CHECK(a.grad().to_vector() == std::vector<double>{3.0});
  CHECK_FALSE(b.grad().defined());
}
