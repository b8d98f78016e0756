// The (B, M, N) -> (B, N, M) transpose on the CPU (see transpose_tokens.h).
#include "kernels/cpu/transpose_tokens.h"

#include <algorithm>
#include <type_traits>

#include "kernels/cpu/simd_gcc_warnings.h"  // transpose.h's AVX-512 intrinsics, inlined here
#include "kernels/cpu/transpose.h"

namespace sr::cpu {

namespace {

constexpr int64_t kTile = 32;

// dst (R x Cols -> Cols x R): dst[j * R + i] = src[i * Cols + j] for one matrix, rows of tiles
// split over the threads (the caller's loop over b stays inside the parallel region).
template <typename T>
void transpose_matrices(const T* src, T* dst, int64_t B, int64_t R, int64_t Cols) {
  const int64_t row_tiles = (R + kTile - 1) / kTile;
#pragma omp parallel for schedule(static) if (B * R * Cols > 65536)
  for (int64_t bt = 0; bt < B * row_tiles; ++bt) {
    const int64_t b = bt / row_tiles, i0 = (bt % row_tiles) * kTile, i1 = std::min(i0 + kTile, R);
    const T* s = src + b * R * Cols;
    T* d = dst + b * R * Cols;
    if constexpr (std::is_same_v<T, float>) {
      // 16 x 16 register blocks over this strip of rows (kernels/cpu/transpose.h).
      transpose(s + i0 * Cols, Cols, d + i0, R, i1 - i0, Cols, false);
    } else {
      for (int64_t j0 = 0; j0 < Cols; j0 += kTile) {
        const int64_t j1 = std::min(j0 + kTile, Cols);
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i) d[j * R + i] = s[i * Cols + j];
      }
    }
  }
}

}  // namespace

template <typename T>
void transpose_forward(const T* x, T* y, int64_t B, int64_t M, int64_t N) {
  transpose_matrices(x, y, B, M, N);
}

template <typename T>
void transpose_backward(const T* dy, T* dx, int64_t B, int64_t M, int64_t N) {
  transpose_matrices(dy, dx, B, N, M);
}

#define SR_INSTANTIATE(T)                                                             \
  template void transpose_forward<T>(const T*, T*, int64_t, int64_t, int64_t);  \
  template void transpose_backward<T>(const T*, T*, int64_t, int64_t, int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
