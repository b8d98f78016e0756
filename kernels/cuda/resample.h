// Pixel shuffle / unshuffle and nearest / bilinear (align_corners=false) upsampling by an
// integer factor on CUDA: the twins of kernels/cpu/resample.h, same arguments (planes are
// (NC, H, W)).
#pragma once
#include <cstdint>

namespace sr::cuda {

// y (N, C, H*r, W*r) from x (N, C*r*r, H, W).
void pixel_shuffle(const float* x, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int r);
// y (N, C*r*r, H, W) from x (N, C, H*r, W*r); H, W are the output's.
void pixel_unshuffle(const float* x, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int r);

// H, W are the input sizes; r the factor.
void upsample_nearest_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int r);
void upsample_nearest_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int r);
void upsample_bilinear_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int r);
// Gather formulation: each dx element sums its own contributions in the CPU's order
// (output row, then output column), so no atomics and the result is deterministic.
void upsample_bilinear_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int r);

}  // namespace sr::cuda
