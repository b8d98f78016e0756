// Finite-difference gradient checker (see gradcheck.h).
#include "support/gradcheck.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace sr::test {

Tensor random_tensor(std::mt19937_64& rng, const Shape& shape, double lo, double hi,
                     const std::vector<double>& avoid, double margin, bool requires_grad) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(shape.numel());
  for (double& x : v) {
    bool near_kink;
    do {
      x = dist(rng);
      near_kink = false;
      for (double k : avoid) near_kink |= std::fabs(x - k) < margin;
    } while (near_kink);
  }
  Tensor t = Tensor::from_vector(v, shape, DType::f64);
  t.set_requires_grad(requires_grad);
  return t;
}

double tolerance_ratio(const std::vector<double>& a, const std::vector<double>& b, double atol,
                       double rtol, int64_t* worst_index) {
  double worst = 0;
  if (worst_index) *worst_index = -1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double diff = std::fabs(a[i] - b[i]);
    const double r = diff == 0 ? 0.0 : diff / (atol + rtol * std::fabs(b[i]));
    if (!(r <= worst)) {  // also catches NaN
      worst = std::isnan(r) ? INFINITY : r;
      if (worst_index) *worst_index = (int64_t)i;
    }
  }
  return worst;
}

void expect_gradients(const char* what, const TensorFn& fn,
                      const std::function<std::vector<Tensor>(std::mt19937_64&)>& make, GradcheckOptions opts) {
  const uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const std::vector<Tensor> inputs = make(rng);
  const GradcheckResult result = gradcheck(fn, inputs, seed, opts);
  INFO(what << " (seed " << seed << ")\n" << result.report);
  CHECK(result.ok);
}

void expect_close_scaled(const std::string& what, const Tensor& got, const Tensor& ref, double tol) {
  REQUIRE(got.defined());
  REQUIRE(ref.defined());
  INFO(what << ": got " << got.shape().str() << ", reference " << ref.shape().str());
  REQUIRE(got.numel() == ref.numel());
  const auto a = got.to_vector(), b = ref.to_vector();
  double scale = 0;
  for (double v : b) scale = std::max(scale, std::fabs(v));
  int64_t worst = -1;
  const double ratio = tolerance_ratio(a, b, tol * std::max(scale, 1e-30), tol, &worst);
  INFO("worst element " << worst << " of " << a.size() << ": " << (worst >= 0 ? a[worst] : 0) << " vs "
                        << (worst >= 0 ? b[worst] : 0) << ", " << ratio * 100 << "% of its budget (max |ref| "
                        << scale << ")");
  CHECK(ratio <= 1.0);
}

namespace {

// L = sum(r * y) without recording a graph.
double projected(const TensorFn& fn, const std::vector<Tensor>& inputs, const std::vector<double>& r) {
  NoGradGuard guard;
  const std::vector<double> y = fn(inputs).to_vector();
  double acc = 0;
  for (size_t i = 0; i < y.size(); ++i) acc += r[i] * y[i];
  return acc;
}

}  // namespace

GradcheckResult gradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs, uint64_t seed,
                          const GradcheckOptions& o) {
  GradcheckResult result;
  std::ostringstream report;
  for (const Tensor& x : inputs)
    SR_CHECK(!x.defined() || x.dtype() == DType::f64, "gradcheck: inputs must be float64, got ", x.str());

  // Analytic gradients.
  for (const Tensor& x : inputs)
    if (x.defined()) const_cast<Tensor&>(x).zero_grad();
  Tensor y = fn(inputs);
  std::mt19937_64 rng(seed ^ 0x9E3779B97F4A7C15ull);
  std::uniform_real_distribution<double> dist(0.5, 1.5);
  std::vector<double> r(y.numel());
  for (double& v : r) v = dist(rng) * (rng() & 1 ? 1 : -1);
  Tensor rt = Tensor::from_vector(r, y.shape(), DType::f64);
  Tensor loss = sum(mul(y, rt));
  loss.backward();

  // Numeric gradients, element by element, on a private copy of each input's data.
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    const std::vector<double> analytic =
        x.grad().defined() ? x.grad().to_vector() : std::vector<double>(x.numel(), 0.0);
    std::vector<double> numeric(x.numel());
    double* p = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double saved = p[i];
      p[i] = saved + o.eps;
      const double lp = projected(fn, inputs, r);
      p[i] = saved - o.eps;
      const double lm = projected(fn, inputs, r);
      p[i] = saved;
      numeric[i] = (lp - lm) / (2 * o.eps);
    }
    int64_t worst = -1;
    const double ratio = tolerance_ratio(analytic, numeric, o.atol, o.rtol, &worst);
    report << "input " << k << " " << x.shape().str() << ": worst element " << worst;
    if (worst >= 0)
      report << " analytic " << analytic[worst] << " numeric " << numeric[worst];
    report << ", " << ratio * 100 << "% of the tolerance budget\n";
    if (!(ratio <= 1.0)) result.ok = false;
  }
  result.report = report.str();
  return result;
}

}  // namespace sr::test
