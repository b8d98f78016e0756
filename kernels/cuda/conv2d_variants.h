// The variant implementations behind kernels/cuda/conv2d.h's dispatcher (conv2d.cu), one
// translation unit each so they compile in parallel: conv2d_igemm.cu (v2/v3 tensor cores)
// and conv2d_cudnn.cu (cuDNN). Plain C++.
#pragma once
#include "kernels/cuda/conv2d.h"

namespace sr::cuda::detail {

// v2 / v3 / v4 implicit GEMM, `v` naming the operand format: tf32 (TF32 m16n8k8), bf16 or
// fp16 (m16n8k16); another variant throws.
void igemm_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                   const ConvEpilogue& ep, float* y);
void igemm_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride);
void igemm_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw);  // dw += ...

// cuDNN (allow_tf32: default math; otherwise FMA math only). Forward writes the plain
// convolution (the dispatcher applies the epilogue); backward-weight adds into dw.
bool cudnn_built();
void cudnn_forward(bool allow_tf32, const Conv2dShape& s, const float* x, const float* w, float* y);
void cudnn_backward_data(bool allow_tf32, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride);
void cudnn_backward_weight(bool allow_tf32, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw);

}  // namespace sr::cuda::detail
