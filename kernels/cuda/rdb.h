// The fused residual dense block on CUDA: the twin of kernels/cpu/rdb.h (same math and
// accumulation rules and, but for the packed twin's buffer of slices alone, the same buffer
// layout; float32 device pointers). The convolutions run through
// conv2d variant v's explicit entry points (kernels/cuda/conv2d.h) on channel-range
// views of the buffer, with their fused epilogues: bias + LeakyReLU straight into the next
// slice, `x + residual * (conv5 + b5)` (and the RRDB's outer residual around it) straight
// into y, and in backward LeakyReLU's derivative in the backward-data stores.
// Plain C++ header (no CUDA types), so engine/ops_rdb.cpp can call it.
#pragma once
#include "kernels/cpu/rdb.h"
#include "kernels/cuda/conv2d.h"

namespace sr::cuda {

using RdbShape = cpu::RdbShape;
using RdbParams = cpu::RdbParams<float>;

// The channels of the buffer the forward writes and the backward reads, (N, channels, H, W):
// nf + 4 gc ([x | x_1 .. x_4], kernels/cpu/rdb.h's layout), or 4 gc (the growth slices alone)
// when the block keeps a packed twin of it (igemm_v2 and wgmma with nf and gc multiples of 8,
// rdb.cu): there no convolution reads x's channels from the float32 buffer (the forward reads
// x through the twin, the backward packs the twin from x itself), so x is not copied into it,
// and the caller keeps x for the backward instead.
int64_t rdb_buffer_channels(ConvVariant v, const RdbShape& s);

void rdb_forward(ConvVariant v, const RdbShape& s, const float* x, const RdbParams& p, const float* outer,
                 float slope, float residual, float outer_scale, float* buf, float* y);

// x: the forward's input (read when the buffer holds the growth slices alone).
void rdb_backward(ConvVariant v, const RdbShape& s, const float* x, const float* buf, const RdbParams& p,
                  const float* dy, float slope, float residual, bool has_outer, float outer_scale, float* dx,
                  float* const dw[5], float* const db[5]);

}  // namespace sr::cuda
