// The fused residual dense block on CUDA: the counterpart of kernels/cpu/rdb.h (same math and
// accumulation rules and, without the packed twin below, the same buffer layout; float32
// device pointers). The convolutions run through
// conv2d variant v's explicit entry points (kernels/cuda/conv2d.h) on channel-range
// views of the buffer, with their fused epilogues: bias + LeakyReLU straight into the next
// slice, `x + residual * (conv5 + b5)` (and the RRDB's outer residual around it) straight
// into y, and in backward LeakyReLU's derivative in the backward-data stores.
// Plain C++ header (no CUDA types), so engine/ops_rdb.cpp can call it.
#pragma once
#include "kernels/common/rdb_shape.h"
#include "kernels/cuda/conv2d.h"

namespace sr::cuda {

using RdbWeights = sr::RdbWeights<float>;  // the float32 block

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

void rdb_forward(ConvVariant v, const RdbShape& s, const float* x, const RdbWeights& p, const float* outer,
                 float slope, float residual, float outer_scale, const RdbSaved& saved, float* y,
                 const RdbLink& link = {});

// conv5's dy is dz5 = this factor * the block's dy (inner = x + residual * conv5, y = outer +
// outer_scale * inner): the scale its packed copy carries, here and in a link.
inline float rdb_dz5_scale(float residual, bool has_outer, float outer_scale) {
  return residual * (has_outer ? outer_scale : 1.0f);
}

// The backward's half of the chain, where block A's output feeds the next block B alone (rdb1's
// and rdb2's in an RRDB), so B's dx is A's dy: B's backward (it runs first) also stores its dx,
// scaled by A's rdb_dz5_scale and packed, where A's conv5 reads its packed dy (B's conv1
// backward-data store writes it: ConvDgradEpilogue::packed over dx's nf channels), and A
// packs no dy for conv5. Rows of igemm_v2_packed_channels(nf) = nf bf16 per pixel. Both need
// the twin; prev_dz5 needs dx.
// dz5_packed (given to A): A's conv5 dy, rdb_dz5_scale * dy, already packed (or null).
// prev_dz5 (given to B): where to store B's dx, times prev_dz5_scale (A's), packed (or null).
struct RdbBackwardLink {
  const uint16_t* dz5_packed = nullptr;
  uint16_t* prev_dz5 = nullptr;
  float prev_dz5_scale = 1.0f;
};

void rdb_backward(ConvVariant v, const RdbShape& s, const RdbSaved& saved, const RdbWeights& p, const float* dy,
                  float slope, float residual, bool has_outer, float outer_scale, float* dx, float* const dw[5],
                  float* const db[5], const RdbBackwardLink& link = {});

}  // namespace sr::cuda
