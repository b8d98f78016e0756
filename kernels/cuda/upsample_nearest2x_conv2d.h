// Nearest x2 upsampling folded into the following convolution on CUDA, float32 (the CPU twin
// and the math are kernels/cpu/upsample_nearest2x_conv2d.h; the shapes are the same: s is the
// convolution over the upsampled input, x and dx contiguous (N, C, s.H / 2, s.W / 2), y and dy
// contiguous (N, K, P, Q)).
//
// Every conv2d variant (kernels/cuda/conv2d.h) runs the op:
//   igemm_v2   convolutions at x's size with tap-summed filters (conv2d_igemm_v2.cu,
//              igemm_v2_upsample_nearest2x_*, where the derivation is): the forward as four
//              output-phase convolutions through the forward epilogue, backward-data as one
//              stride-2 convolution of dy, the weight gradient as one stride-2 weight gradient
//              folded back onto w's taps; 4/9 of the composed MACs for 3 x 3 and no tensor of
//              the upsampled size
//   wgmma      the same forward phases as wgmma convolutions (wgmma_upsample_nearest2x_forward);
//              backward-data (a stride-2 convolution) and the weight gradient are igemm_v2's
//   the others (naive, tf32, bf16, fp16, cudnn, cudnn_fp32) compose: upsample_nearest(x, 2) into
//              a scratch tensor, then the variant's conv2d; backward-data is the variant's
//              conv2d backward-data at 2H x 2W into a scratch tensor, then
//              upsample_nearest_backward's 2 x 2 sums
//
// Plain C++ header (no CUDA types), so engine/ops_conv.cpp can call it.
#pragma once
#include "kernels/cuda/conv2d.h"

namespace sr::cuda {

// y = epilogue(conv(upsample(x), w)) (ConvEpilogue's bias, leaky ReLU, gain, residual).
void upsample_nearest2x_conv2d_forward_with(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                                            const ConvEpilogue& ep, float* y);
// y = conv(upsample(x), w) + bias (bias may be null). Overwrites y.
void upsample_nearest2x_conv2d_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                                       const float* bias, float* y);
// dx = the 2 x 2 sums of conv_transpose(dy, w). Overwrites dx.
void upsample_nearest2x_conv2d_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                                             float* dx);
// dw += correlation(upsample(x), dy); dbias += sum of dy (either may be null).
void upsample_nearest2x_conv2d_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                                               float* dw, float* dbias);

}  // namespace sr::cuda
