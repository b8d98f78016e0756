// tf32 and fp16 convolutions on the CPU: the operands a tensor core would read (forward: x
// and w; backward-data: dy and w; backward-weight: x and dy) are rounded to the format into
// scratch copies, and the float32 implicit GEMM (conv2d_implicit.h; the im2col reference
// where the build has no SIMD) multiplies them. A tf32 x tf32 or fp16 x fp16 product has at
// most 22 significant bits and fits float32's 24 exactly (fp16 subnormal products, >= 2^-48,
// are float32 normals), so this is the tensor-core result up to the order of the float32
// sums. The bias is added, and dbias summed, in float32 from the unrounded values.
// conv2d.cpp calls these for float32 convolutions whose Conv2dShape says tf32 or fp16. No
// speedup is sought: this CPU has no fp16 or tf32 multiply; the point is the same numerics
// as the GPU path, for training and its tests on any machine.
#pragma once
#include <cstdint>

#include "kernels/cpu/conv2d.h"

namespace sr::cpu {

// dst[i] = src[i] rounded to `p` (tf32 or fp16; src == dst allowed). fp16 uses F16C's
// vcvtps2ph on 16 lanes where the CPU has AVX-512F, the portable twin (fp16_round.h)
// otherwise; round_to_precision_portable always uses the twin (the tests compare them).
void round_to_precision(Precision p, const float* src, float* dst, int64_t n);
void round_to_precision_portable(Precision p, const float* src, float* dst, int64_t n);
bool cpu_has_avx512_f16c();

void conv2d_forward_rounded(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_data_rounded(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_rounded(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* dbias);

}  // namespace sr::cpu
