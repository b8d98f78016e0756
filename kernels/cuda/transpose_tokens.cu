// The (B, M, N) -> (B, N, M) transpose on CUDA (see transpose_tokens.h).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/transpose_tokens.h"

namespace sr::cuda {

namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;  // a block is 32 x 8 threads: each moves 4 elements of the tile

// Block (t, b) moves tile (ty, tx) = (t / col_tiles, t % col_tiles), x[b, ty*32 .. +32,
// tx*32 .. +32], to y[b, tx*32 .., ty*32 ..]. The tiles of an image run along gridDim.x (up to
// 2^31 - 1 blocks), not x and y: PatchUnEmbed's rows are the image's tokens, 3.7 M at 1440p,
// beyond gridDim.y's 65535 row tiles.
// Read: thread (tx, ty) loads rows ty, ty + 8, ... of the tile at column tx (a warp reads 32
// consecutive floats of a row of x). Write: the same thread stores tile column ty + 8k at row
// tx, i.e. 32 consecutive floats of a row of y. The 33rd column staggers the banks.
__global__ void __launch_bounds__(kTile * kTileRows)
    transpose_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t M, int64_t N, int64_t col_tiles) {
  SR_SHARED(float, tile, [kTile][kTile + 1]);
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t b = blockIdx.z;
  const int64_t t = blockIdx.x;
  const int64_t i0 = (t / col_tiles) * kTile, j0 = (t % col_tiles) * kTile;
  const float* xb = x + b * M * N;
  float* yb = y + b * M * N;
  for (int k = ty; k < kTile; k += kTileRows) {
    const int64_t i = i0 + k, j = j0 + tx;
    if (i < M && j < N) tile[k][tx] = xb[i * N + j];
  }
  __syncthreads();
  for (int k = ty; k < kTile; k += kTileRows) {
    const int64_t j = j0 + k, i = i0 + tx;  // y[b, j, i] = x[b, i, j]
    if (j < N && i < M) yb[j * M + i] = tile[tx][k];
  }
}

void transpose_3d(const char* name, const float* src, float* dst, int64_t B, int64_t R, int64_t Cols) {
  if (B <= 0 || R <= 0 || Cols <= 0) return;
  const int64_t col_tiles = ceil_div(Cols, kTile), tiles = col_tiles * ceil_div(R, kTile);
  SR_CHECK(tiles < (int64_t{1} << 31) && B <= 65535, name, ": (", B, ", ", R, ", ", Cols,
           ") exceeds the kernel's grid");
  launch_kernel(transpose_kernel, dim3((unsigned)tiles, 1u, (unsigned)B), dim3(kTile, kTileRows), 0,
                current_stream(), src, dst, R, Cols, col_tiles);
  CUDA_CHECK_LAUNCH(name);
}

}  // namespace

void transpose_forward(const float* x, float* y, int64_t B, int64_t M, int64_t N) {
  transpose_3d("transpose", x, y, B, M, N);
}

void transpose_backward(const float* dy, float* dx, int64_t B, int64_t M, int64_t N) {
  transpose_3d("transpose_backward", dy, dx, B, N, M);
}

}  // namespace sr::cuda
