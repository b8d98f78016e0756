// torch.transpose(x, 1, 2) of a 3-d tensor on CUDA: the twins of kernels/cpu/transpose_tokens.h
// (float32). The classic shared-memory tiled transpose: a 32 x 8 block moves a 32 x 32 tile,
// reading rows of x and writing rows of y, both coalesced; the tile is 32 x 33 floats so
// that the column reads from shared memory hit 32 different banks. grid (the M x N tiles, B).
#pragma once
#include <cstdint>

namespace sr::cuda {

// x (B, M, N) -> y (B, N, M).
void transpose_forward(const float* x, float* y, int64_t B, int64_t M, int64_t N);
// dy (B, N, M) -> dx (B, M, N).
void transpose_backward(const float* dy, float* dx, int64_t B, int64_t M, int64_t N);

}  // namespace sr::cuda
