// Reflect padding and crop on CUDA: the twins of kernels/cpu/pad_reflect.h, float32, (NC, H, W)
// planes. Every kernel is a grid-stride map over its output, one thread per element:
//   pad_reflect_forward: y[p, i, j] = x[p, m_H(i), m_W(j)] (m: the mirror about the last row /
//     column, without repeating it).
//   pad_reflect_backward: dx[p, i, j] = dy[i, j] + dy[i, j'] + dy[i', j] + dy[i', j'] (mirror
//     positions i' = 2(H-1) - i, j' = 2(W-1) - j only where they are padded positions), added
//     in that order as the CPU adds them: a gather, no atomics, the same bits as the CPU.
//   crop_forward: y = x[:, :height, :width]; crop_backward: dx = dy inside, 0 outside.
#pragma once
#include <cstdint>

namespace sr::cuda {

void pad_reflect_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int bottom, int right);
void pad_reflect_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int bottom, int right);
void crop_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width);
void crop_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width);

}  // namespace sr::cuda
