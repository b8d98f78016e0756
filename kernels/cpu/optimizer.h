// Multi-tensor optimizer updates on the CPU: Adam / AdamW (torch.optim semantics) and the
// EMA of BasicSR's net_g_ema, with the per-element math of kernels/common/optimizer_math.h
// (the CUDA twins, kernels/cuda/optimizer.h, run the same functions); train/ calls these or
// the CUDA ones on all parameters at once.
#pragma once
#include <cstdint>

#include "kernels/common/optimizer_math.h"

namespace sr::cpu {

// grads[i] *= (float)s.inv_scale for every tensor (a null grads[i] is passed over); *found
// becomes NaN when a product is not finite and is left alone otherwise (the caller zeroes it).
void loss_unscale(const LossScaleState& s, float* const* grads, const int64_t* sizes, int count, float* found);

// Updates `count` tensors in one call: tensor i has sizes[i] elements at params[i],
// grads[i], exp_avg[i], exp_avg_sq[i]. A null grads[i] skips tensor i (no gradient, as
// torch skips params whose .grad is None). OpenMP over fixed chunks of all tensors. s.skip:
// nothing changes.
void adam_update(const AdamStep& s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count);

// ema[i] = decay * ema[i] + (1 - decay) * params[i] for every tensor; nothing changes when
// `gate` (optional, one float) is not finite.
void ema_update(double decay, float* const* ema, const float* const* params, const int64_t* sizes,
                int count, const float* gate = nullptr);

}  // namespace sr::cpu
