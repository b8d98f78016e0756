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

// The step count and the learning rate of the step live on the parameters' device, and
// step() takes a gate: a one-element float32 tensor there, 0 to update, NaN (a non-finite
// loss) to change nothing, the step count included (kernels/cpu/optimizer.h). So on a GPU a
// step reads nothing back, and no per-iteration value is a kernel argument.
class Adam {
 public:
  Adam(NamedTensors params, AdamOptions options);
  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }
  // One update of every parameter that has a gradient (others are left alone), unless
  // `gate` (undefined: always open) is not finite.
  void step(const Tensor& gate = Tensor());
  // Writes lr() into the host buffer step() copies the learning rate from. step() calls it;
  // before replaying a captured step (whose copy reads that buffer) the caller does.
  void stage_lr();
  void zero_grad();
  // The steps taken (skipped ones not counted). Reads the device's count: a host round
  // trip on a GPU, for checkpoints and tests.
  int64_t steps() const;

  // "<prefix>m.<name>" and "<prefix>v.<name>" tensors; the step count goes in metadata.
  NamedTensors state(const std::string& prefix) const;
  void load_state(const SafetensorsFile& file, const std::string& prefix, int64_t steps);

 private:
  NamedTensors params_;
  std::vector<Tensor> m_, v_;
  AdamOptions options_;
  Device device_;
  Tensor step_;     // float64 [1]: steps taken
  Tensor lr_;       // float64 [1]: this step's learning rate, copied from lr_host_ before each step
  Tensor lr_host_;  // float64 [1] on the host (page-locked for a GPU): outlives a captured copy
  Tensor scalars_;  // float32 [kAdamStepFloats]: the step's cpu::AdamStep, written on the device
  Tensor open_;     // float32 [1] 0: the gate of an ungated step
};

// Exponential moving average of a network's parameters: e = d e + (1 - d) p.
// Buffers are copied, not averaged (spectral-norm vectors and BN statistics must not be
// averaged; RRDBNet has none). Nothing changes when `gate` (see Adam) is not finite.
void ema_update(NamedTensors& ema_params, const NamedTensors& params, double decay, const Tensor& gate = Tensor());

}  // namespace sr::train
