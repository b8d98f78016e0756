// Per-sample blur (see degrade_blur.h): one fused kernel. A block owns a 32 x 32 output
// tile of one (sample, channel) plane; it stages the sample's kernel and the tile with its
// reflect-101 halo in shared memory, finds the kernel's non-zero reach r (the sampled
// kernels are 7..21 wide, zero-padded to 21), and each thread sums (2r+1)^2 taps for four
// outputs of one column, loading each tap once for the four. CPU reference: data/degrade/filter2d.cpp, per sample.
//
// Cost: a 21 x 21 kernel is 441 FMAs per output against 8 bytes moved, so the kernel is
// bound by the shared-memory reads (one tile read per FMA, one broadcast kernel read per four
// FMAs) and the FMA rate; skipping the zero padding saves (21/k)^2 of it (about half on
// average).
#include "kernels/common/degrade_math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/degrade_blur.h"

namespace sr::cuda {

namespace {

constexpr int kTile = 32;            // output tile side
constexpr int kRows = 8;             // threads per column of the block: each does kTile / kRows rows
constexpr int kMaxK = 21;            // largest kernel
constexpr int kMaxHalo = kMaxK / 2;  // largest reflect pad
constexpr int kSide = kTile + 2 * kMaxHalo;

// Largest |offset| from the centre of a non-zero tap in the k x k kernel ks, over the block:
// each thread scans a strided share, the warps combine by shuffles, warp leaders through
// shared memory.
__device__ int kernel_reach(const float* ks, int k, int tid, int* warp_reach) {
  const int c = k / 2;
  int r = 0;
  for (int i = tid; i < k * k; i += kTile * kRows)
    if (ks[i] != 0.0f) {
      const int dy = i / k - c, dx = i % k - c;
      r = max(r, max(dy < 0 ? -dy : dy, dx < 0 ? -dx : dx));
    }
  for (int o = 16; o > 0; o >>= 1) r = max(r, __shfl_xor_sync(0xffffffffu, r, o));
  if ((tid & 31) == 0) warp_reach[tid >> 5] = r;
  __syncthreads();
  int all = 0;
  for (int w = 0; w < kTile * kRows / 32; ++w) all = max(all, warp_reach[w]);
  return all;
}

// grid (ceil(W/32), ceil(H/32), N*C), block (32, 8).
__global__ void __launch_bounds__(kTile* kRows)
    degrade_blur_kernel(const float* __restrict__ x, const float* __restrict__ kernels, int64_t kernel_stride,
                        float* __restrict__ y, int C, int H, int W, int k) {
  SR_SHARED(float, ks, [kMaxK * kMaxK]);
  SR_SHARED(float, tile, [kSide][kSide]);
  SR_SHARED(int, warp_reach, [kTile * kRows / 32]);
  const int tid = threadIdx.y * kTile + threadIdx.x;
  const int64_t plane = blockIdx.z;
  const int64_t n = plane / C;
  const float* kern = kernels + n * kernel_stride;
  for (int i = tid; i < k * k; i += kTile * kRows) ks[i] = kern[i];
  __syncthreads();
  const int reach = kernel_reach(ks, k, tid, warp_reach);

  // The tile and a halo of `reach` pixels; rows and columns past the image's far edge plus
  // the halo are never read (the bottom and right tiles are partial), so they stay unloaded
  // and reflect101 is only asked for indices in [-reach, H + reach).
  const int y0 = blockIdx.y * kTile, x0 = blockIdx.x * kTile;
  const int side = kTile + 2 * reach;
  const float* src = x + plane * H * W;
  for (int i = tid; i < side * side; i += kTile * kRows) {
    const int ty = i / side, tx = i % side;
    const int gy = y0 - reach + ty, gx = x0 - reach + tx;
    if (gy < H + reach && gx < W + reach)
      tile[ty][tx] = src[(int64_t)degrade_math::reflect101(gy, H) * W + degrade_math::reflect101(gx, W)];
  }
  __syncthreads();

  // The thread's outputs are rows ry + 8 q (q < 4) of column tx; output (y0 + ry, x0 + tx)
  // reads tile rows ry .. ry + 2 reach. Each kernel tap is loaded from shared memory once
  // for the four outputs (5 loads per 4 FMAs instead of 8). Taps in row-major order, the
  // CPU's order (it sums in double, here in float). `rows` is the same for a whole warp.
  const int c = k / 2, tx = threadIdx.x, ry = threadIdx.y;
  if (x0 + tx >= W) return;
  const int rows = min(kTile / kRows, (H - y0 - ry + kRows - 1) / kRows);
  float acc[kTile / kRows] = {};
  for (int i = -reach; i <= reach; ++i) {
    const float* krow = ks + (c + i) * k + c;
    const float* trow = &tile[ry + reach + i][tx + reach];
    for (int j = -reach; j <= reach; ++j) {
      const float w = krow[j];
#pragma unroll
      for (int q = 0; q < kTile / kRows; ++q)
        if (q < rows) acc[q] += w * trow[q * kRows * kSide + j];
    }
  }
#pragma unroll
  for (int q = 0; q < kTile / kRows; ++q)
    if (q < rows) y[plane * H * W + (int64_t)(y0 + ry + q * kRows) * W + x0 + tx] = acc[q];
}

}  // namespace

void degrade_blur(const float* x, const float* kernels, int64_t kernel_stride, float* y, int64_t N, int64_t C,
                  int64_t H, int64_t W, int k) {
  SR_CHECK(k >= 1 && k <= kMaxK && k % 2 == 1, "degrade_blur: kernel size must be odd and at most ", kMaxK,
           ", got ", k);
  SR_CHECK(N >= 0 && C >= 1 && H >= 1 && W >= 1, "degrade_blur: bad shape N ", N, " C ", C, " H ", H, " W ", W);
  SR_CHECK(k / 2 < H && k / 2 < W, "degrade_blur: a ", W, "x", H, " image is too small for reflect padding ", k / 2,
           " (kernel size ", k, ")");
  SR_CHECK(kernel_stride == 0 || kernel_stride >= (int64_t)k * k,
           "degrade_blur: kernel stride ", kernel_stride, " is neither 0 (shared) nor at least k*k = ", k * k);
  if (N == 0) return;
  SR_CHECK(N * C <= 65535, "degrade_blur: N*C = ", N * C, " planes exceed the grid's z limit 65535");
  SR_CHECK(ceil_div(H, kTile) <= 65535 && W <= INT32_MAX - kTile, "degrade_blur: a ", W, "x", H,
           " plane exceeds the grid (at most ", 65535 * kTile, " rows)");
  const dim3 grid((unsigned)ceil_div(W, kTile), (unsigned)ceil_div(H, kTile), (unsigned)(N * C));
  launch_kernel(degrade_blur_kernel, grid, dim3(kTile, kRows), 0, current_stream(), x, kernels, kernel_stride, y,
                (int)C, (int)H, (int)W, k);
  CUDA_CHECK_LAUNCH("degrade_blur");
}

}  // namespace sr::cuda
