// Dynamic loss scaling for fp16 training (precision: fp16; train.loss_scale). fp16 keeps
// gradients only down to 2^-24 (subnormal) and 2^-14 at full precision, while SR generator
// gradients are often ~1e-8: rounded to fp16 in the backward convolutions they would vanish.
// The generator's total loss is multiplied by S before backward, so every gradient the
// convolutions round is S times larger; the float32 parameter gradients are then multiplied
// by 1/S (unscaled) before the optimizer sees them.
//
// Per update:  loss' = S * loss;  backward;  found_inf = any gradient of net_g not finite;
//   grads *= 1/S (one pass over net_g's gradients, which also yields found_inf);
//   found_inf: skip the optimizer step and the EMA update, S *= backoff_factor, good = 0,
//              skipped += 1;
//   else:      step; good += 1; if good == growth_interval: S *= growth_factor, good = 0.
// The lr schedule still advances on a skipped step (as PyTorch's GradScaler with a
// scheduler stepped every iteration): lr is a function of the iteration number.
//
// Where S lives: on the parameters' device (kernels/cpu/optimizer.h, LossScaleState: S and
// 1/S in float64, the good-step and skip counts), as Adam's step count does. scale_loss
// multiplies by S read from device memory (a float32 copy the update writes), unscale by 1/S
// read from there, and update() is one device thread that reads the overflow flag where it
// was computed: an fp16 step makes no host read and passes no per-iteration value as a kernel
// argument, so it can be captured (docs/GPU.md). The host reads the state only for the log
// line and checkpoints (state(), scale()). float64 for S: the checkpoint's `scale` is a
// double, and any positive double (an init of 1000, a growth factor of 1.5) resumes exactly
// and moves by the same double arithmetic as on the host; the float32 rounding of S and 1/S
// happens where they multiply float32 values, as it did for the host's kernel arguments.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "train/config_types.h"  // LossScaleConfig

namespace sr::train {

// What an exact resume needs (saved in the training state).
struct LossScalerState {
  double scale = 65536.0;
  int64_t good_steps = 0;  // finite updates since the last growth or backoff
  int64_t skipped = 0;     // updates skipped for non-finite gradients, in this stage
  bool operator==(const LossScalerState&) const = default;
};

class LossScaler {
 public:
  // The state lives on `device`, where the gradients are.
  explicit LossScaler(const LossScaleConfig& config, Device device = Device::cpu());

  // Host reads of the device state (the log line, checkpoints, tests): one read each.
  double scale() const { return state().scale; }
  LossScalerState state() const;
  // A saved state (a host->device copy); an sr::Error naming the field when it is not valid.
  void load_state(const LossScalerState& s);

  // S * loss (a new tensor in the graph; its backward multiplies by S too), S read from
  // device memory. `loss`: float32 on the scaler's device.
  Tensor scale_loss(const Tensor& loss) const;
  // Multiplies every defined gradient (float32, contiguous, on the scaler's device) by 1/S in
  // place, in one multi-tensor pass, and returns the overflow flag: one float32 element on
  // the device, 0 when all products are finite, else NaN (the form of StageStep's skip gates,
  // so the optimizers can read it on the device).
  Tensor unscale(const std::vector<Tensor>& grads) const;
  // unscale, then whether all gradients were finite (one host read of the flag; tests).
  bool unscale_and_check(const std::vector<Tensor>& grads) const;
  // The bookkeeping after an update, on the device (one thread, no host read): a non-finite
  // `found` (unscale's flag, all-reduced over the ranks) backs off and counts a skip, else
  // the good-step counter grows S every growth_interval steps.
  void update(const Tensor& found);
  // The same with a host decision (tests): a flag of NaN or 0, then update(flag).
  void update(bool found_inf);

 private:
  LossScaleConfig config_;
  Device device_;
  Tensor state_;      // float64 {S, 1/S, good_steps, skipped}: LossScaleState, on device_
  Tensor scale_f32_;  // float32 {S}: the loss's multiplier, written with state_
};

}  // namespace sr::train
