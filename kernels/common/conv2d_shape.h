// The shape of a 2-D convolution, shared by the CPU kernels (kernels/cpu/conv2d.h), the CUDA
// kernels (kernels/cuda/conv2d.h) and the SIMT interpreter's tests: one struct, so a problem
// described for one device runs unchanged on the other.
//
// Shapes: x (N, C, H, W), w (K, C, R, S), y (N, K, P, Q) with P = (H + 2*pad - R)/stride + 1.
// x and y may be channel-range views: consecutive images are x_batch_stride (y_batch_stride)
// elements apart, channels H*W apart.
#pragma once
#include <cstdint>

#include "kernels/common/precision.h"

namespace sr {

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

}  // namespace sr
