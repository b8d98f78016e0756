// Swin's shifted windows on CUDA (see window_partition.h).
#include "kernels/common/window_index.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/window_partition.h"

namespace sr::cuda {

namespace {

constexpr int kWarpsPerBlock = kBlock / 32;

// 16 bytes moved as one word: a copy of an aligned 16-byte struct is one 128-bit load and one
// 128-bit store (the type float4 is, without needing CUDA's vector types in the SIMT build).
struct alignas(16) Words4 {
  float v[4];
};

// dst row r (Cv words) = src row partition ? token_of_row(r) : row_of_token(r). Warp w of the
// grid takes rows w, w + warps, ...; lane l copies words l, l + 32, ... of the row.
template <class V>
__global__ void __launch_bounds__(kBlock)
    window_rows_kernel(const V* __restrict__ src, V* __restrict__ dst, int64_t rows, int64_t Cv, math::WindowGrid g,
                       bool partition) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * kWarpsPerBlock;
  for (int64_t r = (int64_t)blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5); r < rows; r += warps) {
    const int64_t from = partition ? g.token_of_row(r) : g.row_of_token(r);
    const V* s = src + from * Cv;
    V* d = dst + r * Cv;
    for (int64_t c = lane; c < Cv; c += 32) d[c] = s[c];
  }
}

void window_rows(const char* name, const float* src, float* dst, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                 int shift, bool partition) {
  const int64_t rows = B * H * W;
  if (rows <= 0 || C <= 0) return;
  const math::WindowGrid g{H, W, ws, shift};
  const unsigned grid = grid_for(rows, kWarpsPerBlock);
  const bool words = C % 4 == 0 && reinterpret_cast<uintptr_t>(src) % 16 == 0 &&
                     reinterpret_cast<uintptr_t>(dst) % 16 == 0;
  if (words)
    launch_kernel(window_rows_kernel<Words4>, grid, kBlock, 0, current_stream(), reinterpret_cast<const Words4*>(src),
                  reinterpret_cast<Words4*>(dst), rows, C / 4, g, partition);
  else
    launch_kernel(window_rows_kernel<float>, grid, kBlock, 0, current_stream(), src, dst, rows, C, g, partition);
  CUDA_CHECK_LAUNCH(name);
}

}  // namespace

void window_partition_forward(const float* x, float* windows, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                              int shift) {
  window_rows("window_partition", x, windows, B, H, W, C, ws, shift, true);
}

void window_partition_backward(const float* dwindows, float* dx, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                               int shift) {
  window_rows("window_partition_backward", dwindows, dx, B, H, W, C, ws, shift, false);
}

}  // namespace sr::cuda
