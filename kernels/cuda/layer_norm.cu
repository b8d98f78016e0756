// Layer normalisation on CUDA (see layer_norm.h).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/layer_norm.h"

namespace sr::cuda {

namespace {

constexpr int kRowsPerBlock = 8;                  // warps of a 256-thread block, one row each
constexpr int kRowThreads = 32 * kRowsPerBlock;
constexpr int kColTile = 32;                      // columns of a dweight / dbias tile
constexpr int kColRowLanes = 8;                   // threads down the rows of a tile column
constexpr int kColRowChunk = 256;                 // rows of a tile

// Every lane gets the warp's sum: warp_sum's fixed tree into lane 0, then lane 0's value
// broadcast (a butterfly would leave lanes with differently rounded sums).
__device__ __forceinline__ float warp_total(float v) { return __shfl_sync(0xffffffffu, warp_sum(v), 0); }

// Warp w of block b normalises row r = b * 8 + w. mean_r, then sum (x - mean_r)^2 re-reading
// the row (from L1: 720 bytes a row at C = 180), rstd_r = 1 / sqrt(var_r + eps).
__global__ void __launch_bounds__(kRowThreads)
    layer_norm_forward_kernel(const float* __restrict__ x, const float* __restrict__ weight,
                              const float* __restrict__ bias, float* __restrict__ y, float* __restrict__ mean,
                              float* __restrict__ rstd, int64_t M, int64_t C, float eps) {
  const int64_t r = (int64_t)blockIdx.x * kRowsPerBlock + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (r >= M) return;  // the whole warp: no barrier below, shuffles stay within the warp
  const float* xr = x + r * C;
  float s = 0.f;
  for (int64_t c = lane; c < C; c += 32) s += xr[c];
  const float mu = warp_total(s) / (float)C;
  float ss = 0.f;
  for (int64_t c = lane; c < C; c += 32) {
    const float d = xr[c] - mu;
    ss += d * d;
  }
  const float rs = 1.f / sqrtf(warp_total(ss) / (float)C + eps);
  if (lane == 0) {
    mean[r] = mu;
    rstd[r] = rs;
  }
  float* yr = y + r * C;
  for (int64_t c = lane; c < C; c += 32) {
    float v = (xr[c] - mu) * rs;
    if (weight) v *= weight[c];
    if (bias) v += bias[c];
    yr[c] = v;
  }
}

// dx of row r (one warp): g = dy w, dx = rstd (g - mean(g) - xhat mean(g xhat)).
__global__ void __launch_bounds__(kRowThreads)
    layer_norm_backward_dx_kernel(const float* __restrict__ x, const float* __restrict__ weight,
                                  const float* __restrict__ mean, const float* __restrict__ rstd,
                                  const float* __restrict__ dy, float* __restrict__ dx, int64_t M, int64_t C) {
  const int64_t r = (int64_t)blockIdx.x * kRowsPerBlock + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (r >= M) return;
  const float* xr = x + r * C;
  const float* gr = dy + r * C;
  const float mu = mean[r], rs = rstd[r];
  // g = dy w rounded on its own (__fmul_rn is never fused into an FMA) in both passes, so the
  // g the mean was taken of is the g it is subtracted from: at C = 1, g - mean(g) is exactly 0.
  float sg = 0.f, sgx = 0.f;
  for (int64_t c = lane; c < C; c += 32) {
    const float g = weight ? __fmul_rn(gr[c], weight[c]) : gr[c];
    sg += g;
    sgx += g * ((xr[c] - mu) * rs);
  }
  const float mg = warp_total(sg) / (float)C, mgx = warp_total(sgx) / (float)C;
  float* dxr = dx + r * C;
  for (int64_t c = lane; c < C; c += 32) {
    const float g = weight ? __fmul_rn(gr[c], weight[c]) : gr[c];
    dxr[c] = rs * (g - mg - ((xr[c] - mu) * rs) * mgx);
  }
}

// grid (column tiles, row tiles): thread (tx, ty) sums column c = tile * 32 + tx over the
// tile's rows ty, ty + 8, ... (coalesced: a warp reads 32 neighbouring columns of 4 rows),
// then the 8 row lanes are added in ty order. partial_w / partial_b[row_tile * C + c].
__global__ void __launch_bounds__(kColTile * kColRowLanes)
    layer_norm_columns_partial_kernel(const float* __restrict__ x, const float* __restrict__ mean,
                                      const float* __restrict__ rstd, const float* __restrict__ dy, int64_t M,
                                      int64_t C, float* __restrict__ partial_w, float* __restrict__ partial_b) {
  SR_SHARED(float, sw, [kColRowLanes][kColTile]);
  SR_SHARED(float, sb, [kColRowLanes][kColTile]);
  const int tx = threadIdx.x % kColTile, ty = threadIdx.x / kColTile;
  const int64_t c = (int64_t)blockIdx.x * kColTile + tx;
  const int64_t r0 = (int64_t)blockIdx.y * kColRowChunk;
  const int64_t r1 = r0 + kColRowChunk < M ? r0 + kColRowChunk : M;
  float aw = 0.f, ab = 0.f;
  if (c < C)
    for (int64_t r = r0 + ty; r < r1; r += kColRowLanes) {
      const float g = dy[r * C + c];
      aw += g * ((x[r * C + c] - mean[r]) * rstd[r]);
      ab += g;
    }
  sw[ty][tx] = aw;
  sb[ty][tx] = ab;
  __syncthreads();
  if (ty == 0 && c < C) {
    float w = 0.f, b = 0.f;
    for (int k = 0; k < kColRowLanes; ++k) {
      w += sw[k][tx];
      b += sb[k][tx];
    }
    partial_w[(int64_t)blockIdx.y * C + c] = w;
    partial_b[(int64_t)blockIdx.y * C + c] = b;
  }
}

// out[c] = sum over row tiles k (in order) of partial[k * C + c], in double; grid-stride over
// the columns (grid_for caps the grid, C is any last-dim size).
__global__ void layer_norm_columns_finish_kernel(const float* __restrict__ partial_w,
                                                 const float* __restrict__ partial_b, int64_t C, int64_t tiles,
                                                 float* __restrict__ dweight, float* __restrict__ dbias) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C; c += (int64_t)gridDim.x * blockDim.x) {
    double w = 0, b = 0;
    for (int64_t k = 0; k < tiles; ++k) {
      w += (double)partial_w[k * C + c];
      b += (double)partial_b[k * C + c];
    }
    if (dweight) dweight[c] = (float)w;
    if (dbias) dbias[c] = (float)b;
  }
}

}  // namespace

void layer_norm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                        int64_t M, int64_t C, double eps) {
  if (M <= 0 || C <= 0) return;
  const int64_t blocks = ceil_div(M, kRowsPerBlock);
  SR_CHECK(blocks < (int64_t{1} << 31), "layer_norm: ", M, " rows exceed the grid");
  launch_kernel(layer_norm_forward_kernel, dim3((unsigned)blocks), kRowThreads, 0, current_stream(), x, weight, bias,
                y, mean, rstd, M, C, (float)eps);
  CUDA_CHECK_LAUNCH("layer_norm");
}

void layer_norm_backward(const float* x, const float* weight, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dweight, float* dbias, int64_t M, int64_t C) {
  if (M <= 0 || C <= 0) return;
  if (dx) {
    const int64_t blocks = ceil_div(M, kRowsPerBlock);
    SR_CHECK(blocks < (int64_t{1} << 31), "layer_norm_backward: ", M, " rows exceed the grid");
    launch_kernel(layer_norm_backward_dx_kernel, dim3((unsigned)blocks), kRowThreads, 0, current_stream(), x, weight,
                  mean, rstd, dy, dx, M, C);
    CUDA_CHECK_LAUNCH("layer_norm_backward");
  }
  if (!dweight && !dbias) return;
  const int64_t col_tiles = ceil_div(C, kColTile), row_tiles = ceil_div(M, kColRowChunk);
  SR_CHECK(col_tiles < (int64_t{1} << 31) && row_tiles <= 65535, "layer_norm_backward: ", M, " rows of ", C,
           " exceed the column reduction's grid");
  DeviceScratch partial(2 * row_tiles * C * sizeof(float));
  float* pw = partial.as<float>();
  float* pb = pw + row_tiles * C;
  launch_kernel(layer_norm_columns_partial_kernel, dim3((unsigned)col_tiles, (unsigned)row_tiles),
                kColTile * kColRowLanes, 0, current_stream(), x, mean, rstd, dy, M, C, pw, pb);
  CUDA_CHECK_LAUNCH("layer_norm_backward");
  launch_kernel(layer_norm_columns_finish_kernel, grid_for(C), kBlock, 0, current_stream(), pw, pb, C, row_tiles,
                dweight, dbias);
  CUDA_CHECK_LAUNCH("layer_norm_backward");
}

}  // namespace sr::cuda
