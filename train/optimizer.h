// Adam / AdamW over a list of named float32 parameters (torch.optim semantics), with its
// state (first and second moments, step count) exposed for exact checkpoints.
//   Adam:  g += wd * p  (L2),                AdamW: p *= 1 - lr * wd  (decoupled)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once
#include <map>
#include <memory>
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
//
// The rate reaches the device rate (what the step's kernels read) by a host->device copy
// queued outside any captured graph (stage_lr), from a ring of kLrSlots page-locked host
// slots. The copy runs when the GPU gets to it, so the host may rewrite a slot only once
// that copy has run. Stream order makes each step (eager or a replay) read the rate staged
// before it; a StreamMark per slot says when the slot is free again, so the host waits only
// when it wraps onto a slot whose copy has not run: kLrSlots rate changes ahead of the GPU.
class Adam {
 public:
  // Slots in the ring: how many iterations with a new rate the host may queue before it
  // waits for the GPU to run the oldest one's copy. A training loop queues one iteration at a
  // time and reads back at every log line, so it runs a few iterations ahead at most; 8 lets
  // a rate that changes every iteration (warm-up, cosine) stay asynchronous that far ahead,
  // for 64 page-locked bytes per optimizer.
  static constexpr size_t kLrSlots = 8;

  Adam(NamedTensors params, AdamOptions options);
  ~Adam();
  Adam(const Adam&) = delete;
  Adam& operator=(const Adam&) = delete;
  void set_lr(double lr) { options_.lr = lr; }
  double lr() const { return options_.lr; }
  // One update of every parameter that has a gradient (others are left alone), unless
  // `gate` (undefined: always open) is not finite. Outside a capture it stages lr() first;
  // inside one (engine/cuda_graph.h) it reads the device rate as it is, so before each
  // replay the caller stages the iteration's rate (StageStep::prepare_replay).
  void step(const Tensor& gate = Tensor());
  // Queues the copy of lr() into the device rate, unless lr() is the rate staged last (a
  // constant rate copies nothing). On a GPU or simt through the ring (above): the host waits
  // only when the next slot's last copy has not run. On the CPU a plain write. An error
  // inside a capture (the graph would replay the staged value).
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
  Tensor lr_;  // float64 [1] on the device: the rate the step reads, staged before it
  struct Ring;  // the host slots and their marks (optimizer.cpp); null on the CPU
  std::unique_ptr<Ring> ring_;
  bool staged_ = false;   // whether a rate was staged yet
  double staged_lr_ = 0;  // the rate staged last: lr_'s value once the queued copies have run
  Tensor scalars_;  // float32 [kAdamStepFloats]: the step's AdamStep, written on the device
  Tensor open_;     // float32 [1] 0: the gate of an ungated step
};

// Test hook, a planted bug: Adam's ring reuses a slot without waiting for its last copy.
void set_lr_ring_reuse_without_wait(bool on);

// Exponential moving average of a network's parameters: e = d e + (1 - d) p.
// Buffers are copied, not averaged (spectral-norm vectors and BN statistics must not be
// averaged; RRDBNet has none). Nothing changes when `gate` (see Adam) is not finite.
void ema_update(NamedTensors& ema_params, const NamedTensors& params, double decay, const Tensor& gate = Tensor());

}  // namespace sr::train
