// The per-element math of the optimizers, shared by the CPU kernels (kernels/cpu/optimizer.h)
// and the CUDA ones (kernels/cuda/optimizer.h) through SR_HD functions, so both devices run
// the same formula.
//
// Adam at step t (1-based), per element, as torch.optim.Adam/AdamW (foreach=False) do it:
//   AdamW:      p = p * (1 - lr*wd)                       (decoupled weight decay, first)
//   Adam + wd:  g = g + wd*p                              (L2 in the gradient)
//   m = m + (1-b1) (g - m)                                (torch's lerp_; = b1 m + (1-b1) g)
//   v = b2 v + (1-b2) g^2
//   p = p - (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
// EMA: e = d e + (1-d) p.
//
// The gate: a training step hands the optimizer a one-element tensor that is 0 when the
// iteration's losses were finite and NaN when one was not (loss * 0), and the step count
// and learning rate live beside the parameters. adam_step_gated turns them into the step's
// scalars where the parameters are, so a step on a GPU reads nothing back and passes no
// per-iteration value as a kernel argument (docs/GPU.md, "The sync-free step").
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/math.h"

namespace sr {

struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = false;  // true: AdamW
};

// The scalars of one step, computed in double and rounded once (on the host, or by one
// device thread from device values: adam_step_gated).
struct AdamStep {
  float one_minus_beta1, beta2, one_minus_beta2, eps;
  float weight_decay;    // Adam's L2 term (0 for AdamW)
  float decay_factor;    // AdamW's 1 - lr*wd (1 for Adam)
  float step_size;       // lr / (1 - beta1^t)
  float bc2_sqrt;        // sqrt(1 - beta2^t)
  float skip = 0;        // 1: change nothing (the iteration's loss was not finite)
};

// pow and sqrt in double: the C library's on the host, CUDA's on a GPU (within an ulp of
// each other; the float rounding of the results absorbs it).
SR_HD AdamStep adam_step_scalars(const AdamConfig& c, int64_t step) {
  const double bc1 = 1.0 - pow(c.beta1, (double)step);
  const double bc2 = 1.0 - pow(c.beta2, (double)step);
  AdamStep s;
  s.one_minus_beta1 = (float)(1.0 - c.beta1);
  s.beta2 = (float)c.beta2;
  s.one_minus_beta2 = (float)(1.0 - c.beta2);
  s.eps = (float)c.eps;
  s.weight_decay = c.decoupled ? 0.f : (float)c.weight_decay;
  s.decay_factor = c.decoupled ? (float)(1.0 - c.lr * c.weight_decay) : 1.f;
  s.step_size = (float)(c.lr / bc1);
  s.bc2_sqrt = (float)sqrt(bc2);
  return s;
}

// The gated step: a finite `gate` advances `step` (the count of steps taken, a double: exact
// to 2^53) and gives the scalars of that step at learning rate `lr`; a non-finite one leaves
// `step` alone and gives skip = 1. (g - g) == 0 exactly when g is finite: inf - inf and
// NaN - NaN are NaN.
SR_HD AdamStep adam_step_gated(AdamConfig c, double lr, float gate, double& step) {
  if (!(gate - gate == 0.f)) {
    AdamStep s{};
    s.skip = 1.f;
    return s;
  }
  step += 1.0;
  c.lr = lr;
  return adam_step_scalars(c, (int64_t)step);
}

SR_HD void adam_update_element(const AdamStep& s, float& p, float g, float& m, float& v) {
  p = p * s.decay_factor;
  g = g + s.weight_decay * p;
  m = m + s.one_minus_beta1 * (g - m);
  v = v * s.beta2 + s.one_minus_beta2 * (g * g);
  const float denom = sqrtf(v) / s.bc2_sqrt + s.eps;
  p = p - s.step_size * (m / denom);
}

SR_HD void ema_update_element(float decay, float one_minus_decay, float& e, float p) {
  e = e * decay + one_minus_decay * p;
}

// Dynamic loss scaling of precision fp16 (train/loss_scaler.h), kept where the gradients
// are: the scale S, the good-step count and the skip count live in device memory, the loss
// is multiplied by S read from there and the gradients by 1/S, and one device thread moves
// S once the overflow flag is known, so an fp16 step reads nothing back.
struct LossScaleRule {
  double growth_factor = 2.0;   // S *= growth_factor after growth_interval good steps in a row
  double backoff_factor = 0.5;  // S *= backoff_factor on overflow
  int64_t growth_interval = 2000;
};

// S in double (the checkpoint's `scale`; any positive double resumes exactly) with 1/S
// beside it; the counts are doubles, exact to 2^53. The kernels round S and 1/S to float
// where they multiply float32 values.
struct LossScaleState {
  double scale, inv_scale, good_steps, skipped;
};

// One update once the overflow flag is known (0, or NaN when a gradient was not finite;
// (f - f) == 0 exactly when f is finite): overflow backs S off, restarts the good-step run
// and counts a skip; else the good-step run grows by one and, reaching growth_interval,
// grows S and restarts.
SR_HD void loss_scale_update(const LossScaleRule& r, float found, LossScaleState& s) {
  if (!(found - found == 0.f)) {
    s.scale *= r.backoff_factor;
    s.good_steps = 0;
    s.skipped += 1;
  } else if ((s.good_steps += 1) >= (double)r.growth_interval) {
    s.scale *= r.growth_factor;
    s.good_steps = 0;
  }
  s.inv_scale = 1.0 / s.scale;
}

}  // namespace sr
