// bf16 convolution on the CPU with AVX512-BF16: the float32 operands (x, w, dy) are rounded
// to bfloat16 (nearest even, as vcvtneps2bf16) while they are packed, and vdpbf16ps sums
// products of adjacent bf16 pairs into float32 accumulators. conv2d.cpp calls these for
// float32 convolutions whose Conv2dShape says Precision::bf16; tensors stay float32.
//
// Shapes and accumulation rules are those of conv2d.h. The bias is added, and dbias summed,
// in float32 from the unrounded values. The *_bf16_reference functions are the readable
// definition the tests compare against: operands rounded by round_to_bf16
// (kernels/common/bf16_round.h), then the float32 im2col + GEMM reference.
#pragma once
#include "kernels/cpu/conv2d.h"

namespace sr::cpu {

// Whether this CPU (and OS) can run the bf16 kernels: AVX512-BF16 with AVX-512 F/BW/VL.
bool cpu_has_avx512_bf16();

// The bf16 kernels throw an sr::Error naming avx512_bf16 on a CPU without it.
void conv2d_forward_bf16(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_data_bf16(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_bf16(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                 float* dbias);

void conv2d_forward_bf16_reference(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                                   float* y);
void conv2d_backward_data_bf16_reference(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight_bf16_reference(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                           float* dbias);

}  // namespace sr::cpu
