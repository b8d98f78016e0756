// Swin's fused window attention on CUDA, float32: the twins of kernels/cpu/window_attention.h
// (the math is written out there). One block of 128 threads (4 warps) per (window, head):
//   forward: k and v of the pair in shared memory; a warp per row i of S computes the row
//   (lane j, j + 32, ...), its softmax with warp-shuffle max and sum, then out_i (lane e).
//   backward: phase 1, a warp per row i: S, P, dP and dS of the row, dQ_i = scale dS_i K, the
//   row's max, sum and D_i = sum_j P dP kept in shared memory, dS written to a scratch when the
//   table's gradient is wanted; phase 2, a warp per column j: P[:, j] and dS[:, j] recomputed
//   from the kept row statistics (bit for bit phase 1's), dK_j = sum_i dS[i, j] (scale q_i),
//   dV_j = sum_i P[i, j] dOut_i. Then the table's gradient: per (h, i, j) the sum over windows
//   b = 0, 1, ... (one thread each), per table entry the sum of its pairs in row-major order
//   (one thread each). Every sum has one fixed order and no atomics: the same bits on every run.
// Limits: N = ws * ws <= 256 tokens and d <= 64 (sr::Error otherwise). Shared memory is two
// N x (d | 1) float tiles plus rows: 139 KiB forward, 151 KiB backward at N 256, d 64 (HAT's
// ws 16); 17 KiB / 21 KiB at SwinIR's ws 8, d 30.
// Memory: the backward needs no N x N map from the forward (it recomputes S and P from qkv and
// the table); only while it runs, the table gradient's scratch holds dS, B_ nh N N floats
// (14 MiB at swinir.block: 144 windows, 6 heads, N 64).
#pragma once
#include <cstdint>

#include "kernels/common/window_attention.h"

namespace sr::cuda {

// qkv (B_, N, 3C), table ((2ws-1)^2, nh) -> out (B_, N, C).
void window_attention_forward(const float* qkv, const float* table, float* out, const WindowAttentionShape& s);
// dout (B_, N, C) -> dqkv (B_, N, 3C), dtable ((2ws-1)^2, nh); each overwritten, each may be null.
void window_attention_backward(const float* qkv, const float* table, const float* dout, float* dqkv, float* dtable,
                               const WindowAttentionShape& s);

}  // namespace sr::cuda
