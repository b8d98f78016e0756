// Multi-tensor Adam/AdamW and EMA on CUDA: the twins of kernels/cpu/optimizer.h, one kernel
// launch per call whatever the number of tensors. The arrays are host arrays of device
// pointers; the same element math (cpu::adam_update_element / ema_update_element) runs.
#pragma once
#include <cstdint>

#include "kernels/cpu/optimizer.h"

namespace sr::cuda {

void adam_update(const cpu::AdamStep& s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count);

void ema_update(double decay, float* const* ema, const float* const* params, const int64_t* sizes,
                int count);

}  // namespace sr::cuda
