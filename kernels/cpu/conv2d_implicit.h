// Fast float32 CPU convolution: implicit GEMM on a zero-padded (and, for stride 2,
// phase-split) copy of the input, with register-blocked SIMD micro-kernels (simd.h).
// conv2d.cpp calls these for float32 when SR_CPU_SIMD is set; the im2col + GEMM code
// there stays the readable reference and the float64 path.
//
// Shapes and accumulation rules are those of conv2d.h: forward and backward-data
// overwrite their output, backward-weight adds into dw and dbias (either may be null).
#pragma once
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/simd.h"

namespace sr::cpu {

#if SR_CPU_SIMD
void conv2d_forward_implicit(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                             float* y);
void conv2d_backward_data_implicit(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_implicit(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                     float* dbias);
#endif

}  // namespace sr::cpu
