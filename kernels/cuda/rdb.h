// The fused residual dense block on CUDA: the counterpart of kernels/cpu/rdb.h (same math and
// accumulation rules and, without the packed twin below, the same buffer layout; float32
// device pointers). The convolutions run through
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

// Whether the block keeps a packed twin instead of the float32 buffer: igemm_v2 and wgmma with
// nf and gc multiples of 8 (rdb.cu). The twin is [N][H][W][nf + 4 gc] bf16, x and the growth
// slices x_1 .. x_4 rounded to bf16 channels-last (igemm_v2_pack_activations' layout): the
// convolutions' packed operand, and all the backward reads.
bool rdb_keeps_twin(ConvVariant v, const RdbShape& s);

// What the forward writes and the backward reads: without the twin the float32 buffer
// [x | x_1 .. x_4] (N, nf + 4 gc, H, W; kernels/cpu/rdb.h's layout), with it the twin alone.
struct RdbSaved {
  float* buf = nullptr;
  uint16_t* twin = nullptr;
};

// A chain of blocks whose outputs feed the next block (the RRDB trunk), all keeping twins of
// one shape: twin_holds_x says the forward's twin already holds x's channels (the previous
// block's conv5 stored them: bf16(x), what packing x would write), so x is not packed;
// next_twin (or null) is the next block's twin, whose x channels conv5's store writes, y
// rounded to bf16. Both need the twin.
struct RdbLink {
  bool twin_holds_x = false;
  uint16_t* next_twin = nullptr;
};

void rdb_forward(ConvVariant v, const RdbShape& s, const float* x, const RdbParams& p, const float* outer,
                 float slope, float residual, float outer_scale, const RdbSaved& saved, float* y,
                 const RdbLink& link = {});

void rdb_backward(ConvVariant v, const RdbShape& s, const RdbSaved& saved, const RdbParams& p, const float* dy,
                  float slope, float residual, bool has_outer, float outer_scale, float* dx, float* const dw[5],
                  float* const db[5]);

}  // namespace sr::cuda
