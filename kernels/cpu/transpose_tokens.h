// torch.transpose(x, 1, 2) of a 3-d tensor as a copy, on the CPU: the image <-> token layout
// change of Swin / SwinIR ((B, C, H*W) <-> (B, H*W, C), PatchEmbed and PatchUnEmbed).
//   forward:  y[b, j, i] = x[b, i, j]      x (B, M, N) -> y (B, N, M)
//   backward: dx[b, i, j] = dy[b, j, i]    dy (B, N, M) -> dx (B, M, N): the same transpose
// 32 x 32 tiles, so both the rows read and the rows written stay in cache (a plain loop
// touches a new cache line per element on its strided side); float tiles use the 16 x 16
// register transposes of kernels/cpu/transpose.h (an unrelated helper of the conv kernels,
// hence this file's name). OpenMP over (b, row tile). The CUDA twins:
// kernels/cuda/transpose_tokens.h.
#pragma once
#include <cstdint>

namespace sr::cpu {

template <typename T>
void transpose_forward(const T* x, T* y, int64_t B, int64_t M, int64_t N);
template <typename T>
void transpose_backward(const T* dy, T* dx, int64_t B, int64_t M, int64_t N);

}  // namespace sr::cpu
