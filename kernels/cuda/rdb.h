// The fused residual dense block on CUDA: the twin of kernels/cpu/rdb.h (same buffer layout,
// math and accumulation rules; float32 device pointers). The convolutions run through
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

void rdb_forward(ConvVariant v, const RdbShape& s, const float* x, const RdbParams& p, const float* outer,
                 float slope, float residual, float outer_scale, float* buf, float* y);

void rdb_backward(ConvVariant v, const RdbShape& s, const float* buf, const RdbParams& p, const float* dy,
                  float slope, float residual, bool has_outer, float outer_scale, float* dx,
                  float* const dw[5], float* const db[5]);

}  // namespace sr::cuda
