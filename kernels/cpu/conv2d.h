// 2-D convolution on the CPU. Two implementations:
//  - im2col + GEMM per image, OpenMP over images (or inside the GEMM when the batch is
//    smaller than the thread count): the readable reference, and the float64 path;
//  - an implicit GEMM with SIMD micro-kernels (conv2d_implicit.h): the float32 path
//    wherever the build has AVX2 or AVX-512.
// conv2d_forward/backward_* pick the fast one (conv2d.cpp); the *_im2col names force the
// reference (conv2d_reference.cpp).
// With precision bf16 (float32 only) they run the AVX512-BF16 kernels (conv2d_bf16.h), with
// tf32 or fp16 the rounded-operand kernels (conv2d_rounded.h).
// The shapes: Conv2dShape (kernels/common/conv2d_shape.h).
#pragma once
#include <cstdint>

#include "kernels/common/conv2d_shape.h"

namespace sr::cpu {

// y = conv(x, w) + bias (bias may be null). Overwrites y.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);

// dx = conv_transpose(dy, w). Overwrites dx (contiguous (N, C, H, W)).
template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx);

// dw += correlation(x, dy); dbias += sum over N, P, Q of dy (either may be null: a frozen
// weight with a trainable bias, or no bias).
// dy is contiguous (N, K, P, Q).
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* dbias);

// The im2col + GEMM reference implementations of the three functions above.
template <typename T>
void conv2d_forward_im2col(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv2d_backward_data_im2col(const Conv2dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void conv2d_backward_weight_im2col(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* dbias);

}  // namespace sr::cpu
