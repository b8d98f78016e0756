// Swin's shifted windows on the CPU (see window_partition.h).
#include "kernels/cpu/window_partition.h"

#include <algorithm>

#include "kernels/common/window_index.h"

namespace sr::cpu {

namespace {

// dst row r = src row (partition ? token_of_row(r) : row_of_token(r)), C values each: a gather,
// so the rows split across threads with no two writing the same row.
template <typename T>
void gather_rows(const T* src, T* dst, int64_t rows, int64_t C, const math::WindowGrid& g, bool partition) {
#pragma omp parallel for schedule(static) if (rows * C > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t from = partition ? g.token_of_row(r) : g.row_of_token(r);
    std::copy_n(src + from * C, C, dst + r * C);
  }
}

}  // namespace

template <typename T>
void window_partition_forward(const T* x, T* windows, int64_t B, int64_t H, int64_t W, int64_t C, int ws, int shift) {
  gather_rows(x, windows, B * H * W, C, math::WindowGrid{H, W, ws, shift}, true);
}

template <typename T>
void window_partition_backward(const T* dwindows, T* dx, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                               int shift) {
  gather_rows(dwindows, dx, B * H * W, C, math::WindowGrid{H, W, ws, shift}, false);
}

#define SR_INSTANTIATE(T)                                                                                  \
  template void window_partition_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int, int); \
  template void window_partition_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int, int);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
