// Nearest x2 upsampling folded into the convolution that follows it, on the CPU:
//   y = conv2d(upsample_nearest(x, 2), w) + bias, stride 1, zero padding `pad`,
// without materialising the upsampled tensor (RRDBNet's conv_up1 / conv_up2).
//
// Math. Nearest x2 means xu[2h + a][2w + b] = x[h][w] (a, b in {0, 1}), so the convolution's
// gather reads xu[oh + r - pad][ow + s - pad] = x[(oh + r - pad) >> 1][(ow + s - pad) >> 1]
// when 0 <= oh + r - pad < 2H (likewise for w), zero otherwise. The shift is a floor
// division; C++'s truncating `/` would send oh + r - pad = -1 to row 0 instead of the
// zero padding. Since floor(u / 2) lies in [0, H) exactly when u lies in [0, 2H), the
// bound can be tested on the source row.
//   backward-data:   dx[h][w] = sum over a, b of conv_transpose(dy, w)[2h + a][2w + b]
//   backward-weight: the convolution's weight gradient with the same folded gather of x
// The kernels below split the output by phase (oh mod 2, ow mod 2): each phase is a plain
// convolution of x at its own size with a smaller filter of summed taps (2x2 for 3x3: 4/9 of
// the MACs), run on conv2d's kernels (upsample_nearest2x_conv2d.cpp gives the derivation); the
// references compose upsample_nearest2x_* with conv2d_* (kernels/cpu/resample.h, conv2d.h).
// float32 with a rounding precision (bf16, tf32, fp16) runs the reference, whose conv2d
// kernels round the composition's operands.
//
// Shapes: s is the convolution over the upsampled input (make_upsample_nearest2x_conv2d_shape:
// s.H = 2H, s.W = 2W, stride 1, s.x_batch_stride = C * s.H * s.W for that input); x and dx
// are contiguous (N, C, s.H / 2, s.W / 2), y and dy contiguous (N, K, P, Q).
#pragma once
#include <cstdint>

#include "kernels/cpu/conv2d.h"

namespace sr::cpu {

// The shape of conv2d(upsample_nearest(x, 2)) for x (N, C, H, W) and a K x C x R x S filter:
// P = 2H + 2 pad - R + 1, Q = 2W + 2 pad - S + 1.
inline Conv2dShape make_upsample_nearest2x_conv2d_shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                                                       int64_t R, int64_t S, int pad) {
  return make_conv2d_shape(N, C, 2 * H, 2 * W, K, R, S, 1, pad);
}

// y = conv(upsample(x), w) + bias (bias may be null). Overwrites y.
template <typename T>
void upsample_nearest2x_conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);
// dx = the 2 x 2 sums of conv_transpose(dy, w). Overwrites dx.
template <typename T>
void upsample_nearest2x_conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx);
// dw += correlation(upsample(x), dy); dbias += sum over N, P, Q of dy (either may be null).
template <typename T>
void upsample_nearest2x_conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* dbias);

// The references: upsample_nearest(x, 2) into a scratch tensor, then conv2d_* (and for
// backward-data conv2d_backward_data into a scratch, then upsample_nearest2x_backward).
template <typename T>
void upsample_nearest2x_conv2d_forward_reference(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void upsample_nearest2x_conv2d_backward_data_reference(const Conv2dShape& s, const T* dy, const T* w, T* dx);
template <typename T>
void upsample_nearest2x_conv2d_backward_weight_reference(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                                                         T* dbias);

}  // namespace sr::cpu
