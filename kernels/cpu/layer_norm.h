// Layer normalisation over the last dim (F.layer_norm(x, (C,), weight, bias, eps), Ba et al.
// 2016; the norms of Swin / SwinIR blocks) on the CPU, x viewed as M rows of C values:
//   mean_r = (1/C) sum_c x[r,c],  var_r = (1/C) sum_c (x[r,c] - mean_r)^2   (biased, two passes)
//   rstd_r = 1 / sqrt(var_r + eps),  xhat[r,c] = (x[r,c] - mean_r) rstd_r
//   y[r,c] = xhat[r,c] w[c] + b[c]                    (w, b each optional: 1 and 0 when null)
// Backward, with g = dy w (dy when w is null):
//   dx[r,c] = rstd_r (g[r,c] - mean_c' g[r,c'] - xhat[r,c] mean_c' (g[r,c'] xhat[r,c']))
//   dw[c] = sum_r dy[r,c] xhat[r,c],   db[c] = sum_r dy[r,c]
// Row sums run in double (eight interleaved partial sums, added in order). The column sums of
// dw and db are deterministic whatever the thread count: blocks of kLayerNormRowChunk rows
// give double partials, which are then added in block order. mean and rstd (M values each)
// are saved by the forward for the backward, as PyTorch does. The CUDA twins:
// kernels/cuda/layer_norm.h.
#pragma once
#include <cstdint>

namespace sr::cpu {

constexpr int64_t kLayerNormRowChunk = 256;

// weight, bias may be null; writes y (M x C) and mean, rstd (M).
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t M, int64_t C,
                        double eps);
// dx, dweight, dbias may each be null (not wanted); those given are overwritten. weight may be
// null (no affine scale in the forward).
template <typename T>
void layer_norm_backward(const T* x, const T* weight, const T* mean, const T* rstd, const T* dy, T* dx, T* dweight,
                         T* dbias, int64_t M, int64_t C);

}  // namespace sr::cpu
