// Swin's shifted windows on CUDA: the twins of kernels/cpu/window_partition.h, float32.
//   window_partition_forward:  windows[o, :] = x[token_of_row(o), :]   (roll by -shift, cut)
//   window_partition_backward: dx[t, :] = dwindows[row_of_token(t), :] (= window_merge)
// (index math: kernels/common/window_index.h). A warp per C-channel row, grid-stride over the
// rows: the row's source is computed once per warp and its lanes copy the row contiguously,
// in 16-byte words where C % 4 == 0 and both pointers are 16-byte aligned, else in floats.
// SwinIR-M's rows are C = 180 floats: 45 16-byte words a row. Pure copies: deterministic.
#pragma once
#include <cstdint>

namespace sr::cuda {

void window_partition_forward(const float* x, float* windows, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                              int shift);
void window_partition_backward(const float* dwindows, float* dx, int64_t B, int64_t H, int64_t W, int64_t C, int ws,
                               int shift);

}  // namespace sr::cuda
