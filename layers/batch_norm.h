// BatchNorm2d with nn.BatchNorm2d's names: parameters weight (1) and bias (0), buffers
// running_mean (0), running_var (1) and num_batches_tracked (a scalar count; stored as a
// float here because tensors are floating point, read from int64 files as well).
#pragma once
#include "layers/module.h"

namespace sr {

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  std::string type_name() const override { return "BatchNorm2d"; }
  // Training mode: batch statistics, running statistics updated, count + 1.
  // Eval mode: running statistics.
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps, momentum;
};

}  // namespace sr
