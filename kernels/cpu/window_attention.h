// Swin's window multi-head self-attention (Liu et al., "Swin Transformer", ICCV 2021; SwinIR's
// WindowAttention after its qkv linear) on the CPU, fused: the relative position bias and the
// shifted-window mask are computed from (H, W, ws, shift) inside the kernel, no index or mask
// tensors. For window b of B_ (window b % nW of its image, nW = (H/ws)(W/ws)) and head h:
//   q_i, k_i, v_i = qkv[b, i, h*d ...], qkv[b, i, C + h*d ...], qkv[b, i, 2C + h*d ...], C = nh d
//   S[i, j] = (scale q_i) . k_j + table[index(i, j), h] + mask(b % nW, i, j)
//   P[i, :] = softmax(S[i, :]) (the row max subtracted),  out[b, i, h*d + e] = sum_j P[i, j] v_j[e]
//   index(i, j) = (yi - yj + ws - 1)(2 ws - 1) + (xi - xj + ws - 1), (y, x) = (t / ws, t % ws)
//   mask = -100 where tokens i and j lie in different regions of the rolled image (rows split
//   at H - ws and H - shift, columns at W - ws and W - shift), else 0; no mask when shift = 0.
// The backward, given dOut, recomputes S and P (the op keeps qkv and the table, never an N x N
// map):
//   dV_j = sum_i P[i, j] dOut_i,  dP[i, j] = dOut_i . v_j,
//   dS[i, j] = P[i, j] (dP[i, j] - sum_j' P[i, j'] dP[i, j'])
//   dQ_i = scale sum_j dS[i, j] k_j,  dK_j = scale sum_i dS[i, j] q_i
//   dTable[t, h] = sum over windows b, then over the pairs (i, j) with index(i, j) = t, of dS
// Two paths. double (the reference, which gradcheck checks): scalar loops with sums in double in
// index order. float (the fast path): per (window, head) q * scale (rounded to float, as
// PyTorch), k^T, v (and for the backward k, v^T, dOut) are copied into small contiguous
// per-thread buffers and every product is a small GEMM over contiguous rows in register blocks
// of kernels/cpu/simd.h vectors (FMA), each element summed in float in a fixed order (S over e,
// P V over j, dP over e, dQ over j, dK = dS^T (scale q) and dV over i); the softmax in float
// (max subtracted, a branch-free Cephes expf that vectorises, within 1.01 ulp of exp on every
// float in (-87.3, 0]); its row sum and D = sum_j P dP as 16 interleaved partials (j % 16, each
// in j order) added in order.
// dTable, both paths: the windows are taken in chunks of 8; one thread adds a chunk's dS of a
// head over its windows in order into a double partial per (chunk, h, i, j), then the chunks are
// summed in chunk order and each table entry over its pairs in row-major (i, j) order (scratch
// (B_ / 8) nh N N doubles). So results are the same on every run and every thread count.
// B_ = 0 gives dtable = 0. The CUDA twins: kernels/cuda/window_attention.h.
#pragma once
#include <cstdint>

#include "kernels/common/window_attention.h"

namespace sr::cpu {

// qkv (B_, N, 3C), table ((2ws-1)^2, nh) -> out (B_, N, C), overwritten.
template <typename T>
void window_attention_forward(const T* qkv, const T* table, T* out, const WindowAttentionShape& s);
// dout (B_, N, C) -> dqkv (B_, N, 3C) and dtable ((2ws-1)^2, nh), each overwritten when not null.
template <typename T>
void window_attention_backward(const T* qkv, const T* table, const T* dout, T* dqkv, T* dtable,
                               const WindowAttentionShape& s);

}  // namespace sr::cpu
