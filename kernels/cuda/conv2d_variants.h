// The variant implementations behind kernels/cuda/conv2d.h's dispatcher (conv2d.cu), one
// translation unit each so they compile in parallel: conv2d_igemm.cu (v2/v3 tensor cores), conv2d_igemm_v2.cu (v4)
// and conv2d_cudnn.cu (cuDNN). Plain C++.
#pragma once
#include "kernels/cuda/conv2d.h"

namespace sr::cuda::detail {

// v2 (bf16 = false: TF32 m16n8k8) and v3 (bf16 = true: bf16 m16n8k16) implicit GEMM.
void igemm_forward(bool bf16, const Conv2dShape& s, const float* x, const float* w,
                   const ConvEpilogue& ep, float* y);
void igemm_backward_data(bool bf16, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride);
void igemm_backward_weight(bool bf16, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw);  // dw += ...

// v4 igemm_v2 (conv2d_igemm_v2.cu): bf16 operands packed channels-last, cp.async + ldmatrix.
// Backward-data is stride 1 only (igemm_v2_backward_data_supported); the dispatcher sends
// other strides to v3's.
void igemm_v2_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y);
bool igemm_v2_backward_data_supported(const Conv2dShape& s);
void igemm_v2_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, bool accumulate,
                            int64_t dx_batch_stride);
void igemm_v2_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);  // dw += ...

// cuDNN (allow_tf32: default math; otherwise FMA math only). Forward writes the plain
// convolution (the dispatcher applies the epilogue); backward-weight adds into dw.
bool cudnn_built();
void cudnn_forward(bool allow_tf32, const Conv2dShape& s, const float* x, const float* w, float* y);
void cudnn_backward_data(bool allow_tf32, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride);
void cudnn_backward_weight(bool allow_tf32, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw);

}  // namespace sr::cuda::detail
