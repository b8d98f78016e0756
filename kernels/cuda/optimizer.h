// Multi-tensor Adam/AdamW, EMA and the fp16 gradient unscale on CUDA: the twins of kernels/cpu/optimizer.h, one kernel
// launch per call whatever the number of tensors. The arrays are host arrays of device
// pointers; the same element math (adam_update_element / ema_update_element, kernels/common/optimizer_math.h) runs.
#pragma once
#include <cstdint>

#include "kernels/common/optimizer_math.h"

namespace sr::cuda {

// With the step's scalars from the host (tests, benchmarks): they travel with the chunk table.
void adam_update(const AdamStep& s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count);
// With the scalars in device memory (written by adam_step_gated): the training step's form.
void adam_update(const AdamStep* s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count);
// One device thread: *out = adam_step_gated(c, *lr, *gate, *step) (all device pointers).
void adam_step_gated(const AdamConfig& c, const double* lr, const float* gate, double* step,
                     AdamStep* out);

// gate: optional device float; not finite: nothing changes.
void ema_update(double decay, float* const* ema, const float* const* params, const int64_t* sizes,
                int count, const float* gate = nullptr);

// Loss scaling (LossScaleState; all pointers device pointers). One device thread:
// loss_scale_update(r, *found, *s), then *scale_f32 = (float)s->scale (the loss's multiplier).
void loss_scale_update(const LossScaleRule& r, const float* found, LossScaleState* s, float* scale_f32);
// grads[i] *= (float)s->inv_scale over all tensors in one launch (null grads[i] passed over);
// *found = NaN when a product is not finite, else left alone.
void loss_unscale(const LossScaleState* s, float* const* grads, const int64_t* sizes, int count, float* found);

}  // namespace sr::cuda
