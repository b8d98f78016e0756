// BatchNorm2d (see batch_norm.h).
#include "layers/batch_norm.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_batch_norm.h"

namespace sr {

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps_, double momentum_) : eps(eps_), momentum(momentum_) {
  SR_CHECK(num_features > 0, "BatchNorm2d: num_features must be > 0, got ", num_features);
  weight = register_parameter("weight", Tensor::ones({num_features}));
  bias = register_parameter("bias", Tensor::zeros({num_features}));
  running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
  running_var = register_buffer("running_var", Tensor::ones({num_features}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  Tensor y = batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
  // Counted where the buffer lives (no read back on a GPU): num_batches_tracked += 1.
  if (is_training()) {
    NoGradGuard no_grad;
    num_batches_tracked.copy_(add(num_batches_tracked, Tensor::ones({}, num_batches_tracked.dtype(), num_batches_tracked.device())));
  }
  return y;
}

}  // namespace sr
