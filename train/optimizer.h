// Adam / AdamW over a list of named float32 parameters (torch.optim semantics), with its
// state (first and second moments, step count) exposed for exact checkpoints.
//   Adam:  g += wd * p  (L2),                AdamW: p *= 1 - lr * wd  (decoupled)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once
#include <map>
#include <string>
#include <vector>

#include "train/config_types.h"

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace sr::train {

struct AdamOptions {
  bool decoupled_weight_decay = false;  // AdamW
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.0;
  static AdamOptions from_config(const OptimizerConfig& optim);
};

class Adam {
 public:
  Adam(NamedTensors params, AdamOptions options);
  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }
  // One update of every parameter that has a gradient (others are left alone).
  void step();
  void zero_grad();
  int64_t steps() const { return step_; }

  // "<prefix>m.<name>" and "<prefix>v.<name>" tensors; the step count goes in metadata.
  NamedTensors state(const std::string& prefix) const;
  void load_state(const SafetensorsFile& file, const std::string& prefix, int64_t steps);

 private:
  NamedTensors params_;
  std::vector<Tensor> m_, v_;
  AdamOptions options_;
  int64_t step_ = 0;
};

// Exponential moving average of a network's parameters: e = d e + (1 - d) p.
// Buffers are copied, not averaged (spectral-norm vectors and BN statistics must not be
// averaged; RRDBNet has none).
void ema_update(NamedTensors& ema_params, const NamedTensors& params, double decay);

}  // namespace sr::train
