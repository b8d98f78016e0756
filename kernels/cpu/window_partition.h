// Swin's shifted windows on the CPU: x (B, H*W, C) rolled by (-shift, -shift) over (H, W) and
// cut into ws x ws windows (B * nW, ws*ws, C), and the inverse. Both are permutations of whole
// C-channel token rows (kernels/common/window_index.h has the index math):
//   window_partition_forward:  windows[o, :] = x[token_of_row(o), :]
//   window_partition_backward: dx[t, :] = dwindows[row_of_token(t), :]
// The backward of a permutation is its inverse (its adjoint), so window_partition_backward is
// also window_merge's forward, and window_partition_forward window_merge's backward. Each
// writes every output row once, from one input row: no sums, exact in any precision.
// The CUDA twins: kernels/cuda/window_partition.h.
#pragma once
#include <cstdint>

namespace sr::cpu {

// H, W multiples of ws, 0 <= shift < ws; x holds B*H*W rows of C, windows as many.
template <typename T>
void window_partition_forward(const T* x, T* windows, int64_t B, int64_t H, int64_t W, int64_t C, int ws, int shift);
template <typename T>
void window_partition_backward(const T* dwindows, T* dx, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                               int shift);

}  // namespace sr::cpu
