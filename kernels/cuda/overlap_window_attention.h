// HAT's overlapping cross-attention on CUDA, float32: the twins of
// kernels/cpu/overlap_window_attention.h (the math is written out there). One block per
// (image, query window, head), blockIdx.x = (b nW + w) nh + h:
//   forward (8 warps): the wse x wse key / value window's k and v in shared memory (zero rows
//   outside the image, as nn.Unfold's padding), the head's table column beside them; a warp per
//   query row i: S[i, :] over the Nkv keys (lane j, j + 32, ...) with the bias index computed
//   inline, its softmax with warp-shuffle max and sum, then out_i (lane e), written at the
//   query's token.
//   backward (4 warps): phase 1, a warp per query row i: S, P, dP and dS of the row,
//   dQ_i = scale dS_i K written at the query's token (each query sits in one window: no sum),
//   the row's max, sum and D_i = sum_j P dP kept in shared memory; with the table's gradient,
//   each warp adds its rows' dS[i, j] into its own table-sized row at index t(i, j) (for one i
//   the Nkv keys hit Nkv distinct entries, so the lanes never collide), rows in increasing
//   order, and the block writes the warps' rows added in warp order: the window's partial.
//   Phase 2, a warp per key column j inside the image: P[:, j] and dS[:, j] recomputed from the
//   kept row statistics (bit for bit phase 1's), dK_w[j] = sum_i dS[i, j] (scale q_i),
//   dV_w[j] = sum_i P[i, j] dOut_i (i in order) into a per-window scratch. Then, no atomics:
//   dk / dv: one thread per (token, k or v channel) adds the scratch rows of the windows whose
//   key window holds the token (up to 4 at wse <= 2 ws), in row-major window order;
//   dtable[t, h]: one thread per entry adds the windows' partials in (image, window) order, in
//   double. Every sum has one fixed order: the same bits on every run.
// Limits: head dim d <= 64 and both blocks' shared memory within the device's opt-in limit
// (227 KiB on sm_90, 163 KiB on sm_80; sr::Error naming the op and both sizes otherwise; both entry points check both blocks, so a shape the
// forward takes is one the backward takes). Floats: 2 Nkv (d | 1) for the tiles, R^2 for the
// table column (R = ws + wse - 1), per warp d + Nkv (forward) or 2 d + 2 Nkv (backward); the
// backward adds 3 Nq row statistics and per warp R^2. HAT's ws 16, wse 24, d 30: 164 KiB
// forward, 191 KiB backward; at those windows d 37 is the largest head dim (218 KiB backward).
// One block an SM at HAT's shape (8 warps resident forward, 4 backward).
// Memory: the backward needs nothing from the forward (it recomputes S and P from qkv and the
// table); while it runs it holds B nW nh Nkv 2d floats of per-window dK / dV (13 MiB an image
// at HAT's 64 x 64 patch, 6 heads) when dqkv is wanted, and B nW nh R^2 floats of table
// partials (0.6 MiB an image) when dtable is.
#pragma once
#include <cstdint>

#include "kernels/common/overlap_window_attention.h"

namespace sr::cuda {

// qkv (B, H*W, 3C), table ((ws + wse - 1)^2, nh) -> out (B, H*W, C), overwritten.
void overlap_window_attention_forward(const float* qkv, const float* table, float* out,
                                      const OverlapWindowAttentionShape& s);
// dout (B, H*W, C) -> dqkv (B, H*W, 3C), dtable ((ws + wse - 1)^2, nh); each overwritten, each
// may be null.
void overlap_window_attention_backward(const float* qkv, const float* table, const float* dout, float* dqkv,
                                       float* dtable, const OverlapWindowAttentionShape& s);

}  // namespace sr::cuda
