// Gradient checking by central finite differences in float64.
//
// The function's output y is projected on fixed random weights r, L = sum(r * y), so every
// output element contributes and errors cannot cancel by symmetry. The analytic gradient
// dL/dx comes from backward(); the numeric one from (L(x + eps) - L(x - eps)) / (2 eps)
// for every element of every input that requires grad. An element passes when
// |analytic - numeric| <= atol + rtol * |numeric|.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "support/fresh_seed.h"

namespace sr::test {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-7;
  double rtol = 1e-5;
};

struct GradcheckResult {
  bool ok = true;
  std::string report;  // worst element per input, and the first failures
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const TensorFn& fn, const std::vector<Tensor>& inputs, uint64_t seed,
                          const GradcheckOptions& options = {});

// fresh_seed(): support/fresh_seed.h (SRENGINE_TEST_SEED replays a printed one).

// A float64 CPU tensor with values uniform in [lo, hi); `avoid` lists kinks that values
// are kept at least `margin` away from (e.g. 0 for LeakyReLU, +-1 for hinge terms).
Tensor random_tensor(std::mt19937_64& rng, const Shape& shape, double lo = -1.0, double hi = 1.0,
                     const std::vector<double>& avoid = {}, double margin = 1e-2,
                     bool requires_grad = true);

// Largest |a - b| / (atol + rtol*|b|) over all elements; <= 1 means within tolerance.
double tolerance_ratio(const std::vector<double>& a, const std::vector<double>& b, double atol,
                       double rtol, int64_t* worst_index = nullptr);

// Catch check: gradcheck of `fn` on inputs that `make` draws from a fresh seed (printed,
// with the checker's report, on failure).
void expect_gradients(const char* what, const TensorFn& fn,
                      const std::function<std::vector<Tensor>(std::mt19937_64&)>& make, GradcheckOptions opts = {});

// Catch check |got - ref| <= tol * (max|ref| over the tensor) + tol * |ref| elementwise:
// relative to the tensor's scale, so near-zero elements of a large tensor are not held to
// an impossible relative bound. A failure prints the worst element and the budget used.
// The default suits float64 parity.
void expect_close_scaled(const std::string& what, const Tensor& got, const Tensor& ref, double tol = 1e-9);

}  // namespace sr::test
