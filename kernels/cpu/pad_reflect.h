// Reflect padding at the bottom and right of NCHW planes, and its undoing crop, on the CPU:
// SwinIR's inference pads an image to a multiple of the window and crops the output back.
// Each plane (one channel of one image) is H x W of an (NC, H, W) buffer.
//   pad_reflect (F.pad(x, (0, right, 0, bottom), mode='reflect')): y is (H + bottom) x (W + right),
//     y[p, i, j] = x[p, m_H(i), m_W(j)],  m_n(i) = i for i < n, 2 (n - 1) - i for i >= n
//     (row n - 1 + k copies row n - 1 - k: the edge row is not repeated); bottom < H, right < W.
//   backward: dx[p, i, j] = sum of dy[p, i', j'] over the (at most 2 x 2) positions with
//     m_H(i') = i and m_W(j') = j: i' in {i, 2(H-1) - i} (the second when it lies in
//     [H, H + bottom), i.e. H - 1 - bottom <= i <= H - 2), j' likewise. Added as a gather in the
//     fixed order dy[i, j] + dy[i, j'] + dy[i', j] + dy[i', j'] (terms that do not exist left
//     out), the CUDA kernel's order: the two agree bit for bit in float32.
//   crop (x[:, :, :height, :width], a copy): y[p, i, j] = x[p, i, j] for i < height, j < width;
//   backward: dx = dy inside the height x width block, 0 outside.
// The CUDA twins: kernels/cuda/pad_reflect.h.
#pragma once
#include <cstdint>

namespace sr::cpu {

// x (NC, H, W) -> y (NC, H + bottom, W + right).
template <typename T>
void pad_reflect_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int bottom, int right);
// dy (NC, H + bottom, W + right) -> dx (NC, H, W), overwritten.
template <typename T>
void pad_reflect_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int bottom, int right);

// x (NC, H, W) -> y (NC, height, width).
template <typename T>
void crop_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width);
// dy (NC, height, width) -> dx (NC, H, W), overwritten (zeros outside the block).
template <typename T>
void crop_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width);

}  // namespace sr::cpu
