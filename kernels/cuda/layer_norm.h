// Layer normalisation over the last dim on CUDA: the twins of kernels/cpu/layer_norm.h
// (float32, x as M rows of C contiguous values; weight, bias optional).
//   forward and dx: one warp per row (8 rows to a 256-thread block), lane l taking columns
//   l, l + 32, ...; the row sums in float over a fixed shuffle tree (two passes: the mean,
//   then the squared deviations), so any C works (SwinIR's 180 is 5.6 columns a lane).
//   dweight, dbias: per (32-column, 256-row) tile partial sums (fixed order over the tile's
//   rows), then a second kernel adding a column's tile partials in tile order, in double.
// No atomics: every result is the same bits on every run. mean and rstd (M floats each) are
// the forward's, kept by the op for the backward.
#pragma once
#include <cstdint>

namespace sr::cuda {

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                        int64_t M, int64_t C, double eps);
// dx, dweight, dbias may each be null; weight may be null.
void layer_norm_backward(const float* x, const float* weight, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dweight, float* dbias, int64_t M, int64_t C);

}  // namespace sr::cuda
