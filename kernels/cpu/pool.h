// Max pooling on the CPU (nn.MaxPool2d without padding or dilation, floor mode), the
// VGG feature extractor's downsampling.
#pragma once
#include <cstdint>

namespace sr::cpu {

// x (NC, H, W) -> y (NC, P, Q) with P = (H - k) / s + 1, Q = (W - k) / s + 1. argmax
// receives, per output, the flat index h*W + w of its maximum inside its plane; ties go
// to the first in row-major order and NaN wins, as in PyTorch.
template <typename T>
void max_pool2d_forward(const T* x, T* y, int64_t* argmax, int64_t NC, int64_t H, int64_t W,
                        int k, int s);
// dx = 0, then dx[plane][argmax] += dy for every output (overlapping windows add up).
template <typename T>
void max_pool2d_backward(const T* dy, const int64_t* argmax, T* dx, int64_t NC, int64_t H, int64_t W,
                         int64_t P, int64_t Q);

}  // namespace sr::cpu
