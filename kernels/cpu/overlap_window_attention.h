// HAT's overlapping cross-attention (Chen et al., "Activating More Pixels in Image
// Super-Resolution Transformer", CVPR 2023; OCAB's attention after its qkv linear) on the CPU,
// fused: the query windows, the overlapping key / value windows (nn.Unfold of k and v, zero
// padded) and the window merge back to image order are index arithmetic inside the kernel.
// qkv (B, H*W, 3C) holds the tokens of B images, row-major, [q | k | v] with head h at h*d.
// Query window (wy, wx) covers rows wy ws .. wy ws + ws - 1 (and columns alike); its key / value
// window covers rows wy ws - p .. wy ws - p + wse - 1, p = (wse - ws) / 2, whose tokens outside
// the image are zero vectors (they still take part in the softmax with their bias alone).
// For a window and head h, query token i at image token I(i), key token j at J(j):
//   S[i, j] = (scale q_I(i)) . k_J(j) + table[overlap_relative_index(i, j), h]   (k = 0 outside)
//   P[i, :] = softmax(S[i, :]) (the row max subtracted),  out[I(i), h*d + e] = sum_j P[i, j] v_J(j)[e]
// The backward, given dOut, recomputes S and P (no Nq x Nkv map is kept):
//   dP[i, j] = dOut_I(i) . v_J(j),  dS[i, j] = P[i, j] (dP[i, j] - sum_j' P[i, j'] dP[i, j'])
//   dq_I(i) = scale sum_j dS[i, j] k_J(j);  dk_J(j) += scale sum_i dS[i, j] q_I(i);
//   dv_J(j) += sum_i P[i, j] dOut_I(i)   (a token's key sits in up to 4 windows: += over them)
//   dTable[t, h] = sum over the images and windows, then over the pairs (i, j) with index t, of dS
// Two paths over per-window contiguous copies of scale q, k (and k^T), v (and v^T), dOut. double
// (the reference, which gradcheck checks): every element summed in index order in double. float
// (the fast path): the products as register-blocked small GEMMs (kernels/cpu/attention_float.h),
// each element summed in float over its inner index in order; the softmax in float with a
// vectorised expf, its row sum and D = sum_j P dP as 16 interleaved partials added in order.
// The forward runs (image, window, head) triples in
// parallel. The backward runs one task per head: its images and windows in row-major order, so a
// key's gradient adds its windows in that order, and the head's dS into one double partial per
// (i, j), then each table entry its pairs in row-major (i, j) order: the same bits on every run
// and thread count. The CUDA twins: kernels/cuda/overlap_window_attention.h.
#pragma once
#include <cstdint>

#include "kernels/common/overlap_window_attention.h"

namespace sr::cpu {

// qkv (B, H*W, 3C), table ((ws + wse - 1)^2, nh) -> out (B, H*W, C), overwritten.
template <typename T>
void overlap_window_attention_forward(const T* qkv, const T* table, T* out, const OverlapWindowAttentionShape& s);
// dout (B, H*W, C) -> dqkv (B, H*W, 3C) and dtable ((ws + wse - 1)^2, nh), each overwritten when
// not null.
template <typename T>
void overlap_window_attention_backward(const T* qkv, const T* table, const T* dout, T* dqkv, T* dtable,
                                       const OverlapWindowAttentionShape& s);

}  // namespace sr::cpu
