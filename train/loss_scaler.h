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
// Host round trip: S lives on the host (it changes only on the host's decision), so
// scaling the loss needs no read. found_inf is computed on the device as one scalar (the
// sum of 0 * g over all gradients: 0 for finite gradients, NaN otherwise); the optimizer and
// the EMA read it on the device as a skip gate, and the host reads it once per update to
// move S: the one host round trip of an fp16 step (the loss's own non-finite check stays
// on the device, stage_step.h).
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
  explicit LossScaler(const LossScaleConfig& config);

  double scale() const { return state_.scale; }
  const LossScalerState& state() const { return state_; }
  // A saved state; an sr::Error naming the field when it is not a valid state.
  void load_state(const LossScalerState& s);

  // S * loss (a new tensor in the graph).
  Tensor scale_loss(const Tensor& loss) const;
  // Multiplies every defined gradient by 1/S in place and returns the overflow flag: one
  // float32 element on the gradients' device, 0 when all of them are finite, else NaN (the
  // form of StageStep's skip gates, so the optimizers can read it on the device).
  Tensor unscale(const std::vector<Tensor>& grads) const;
  // unscale, then whether all gradients were finite (one host read of the flag).
  bool unscale_and_check(const std::vector<Tensor>& grads) const;
  // The bookkeeping after an update: found_inf backs off and counts a skip, else the
  // good-step counter grows S every growth_interval steps.
  void update(bool found_inf);

 private:
  LossScaleConfig config_;
  LossScalerState state_;
};

}  // namespace sr::train
