// 2-D convolution on the CPU. Two implementations:
//  - im2col + GEMM per image, OpenMP over images (or inside the GEMM when the batch is
//    smaller than the thread count): the readable reference, and the float64 path;
//  - an implicit GEMM with SIMD micro-kernels (conv2d_implicit.h): the float32 path
//    wherever the build has AVX2 or AVX-512.
// conv2d_forward/backward_* pick the fast one; the *_im2col names force the reference.
// With precision bf16 (float32 only) they run the AVX512-BF16 kernels (conv2d_bf16.h), with
// tf32 or fp16 the rounded-operand kernels (conv2d_rounded.h).
//
// Shapes: x (N, C, H, W), w (K, C, R, S), y (N, K, P, Q) with P = (H + 2*pad - R)/stride + 1.
// x and y may be channel-range views: consecutive images are x_batch_stride (y_batch_stride)
// elements apart, channels H*W apart.
#pragma once
#include <cstdint>

#include "kernels/common/precision.h"

namespace sr::cpu {

struct Conv2dShape {
  int64_t N, C, H, W;  // input
  int64_t K, R, S;     // filters
  int stride, pad;
  int64_t P, Q;        // output spatial size
  int64_t x_batch_stride, y_batch_stride;
  // float32 only: bf16 / tf32 / fp16 round the operands (x, w, dy) to the format and
  // accumulate in float32 (conv2d_bf16.h, conv2d_rounded.h); fp32 and device_default do
  // not. float64 ignores it (gradient checks stay exact).
  Precision precision = Precision::fp32;
};

// The shape of a convolution with P = (H + 2 pad - R) / stride + 1 (likewise Q) and
// contiguous images; callers reading or writing channel-range views then widen the
// batch strides.
inline Conv2dShape make_conv2d_shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                     int64_t S, int stride, int pad) {
  Conv2dShape s{N, C, H, W, K, R, S, stride, pad, 0, 0, 0, 0};
  s.P = (H + 2 * pad - R) / stride + 1;
  s.Q = (W + 2 * pad - S) / stride + 1;
  s.x_batch_stride = C * H * W;
  s.y_batch_stride = K * s.P * s.Q;
  return s;
}

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
