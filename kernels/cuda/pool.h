// Max pooling on CUDA: the twin of kernels/cpu/pool.h (nn.MaxPool2d, no padding, floor mode).
// The op (engine/ops_pool.cpp) keeps the argmax indices in host memory, so these entry
// points take a HOST argmax array: the forward computes it on the device and copies it
// back (synchronising); the backward copies it up again. A device-resident argmax would
// remove both copies but needs the op to store a device tensor.
#pragma once
#include <cstdint>

namespace sr::cuda {

// x (NC, H, W) -> y (NC, P, Q); argmax_host[o] = h*W + w of output o's maximum (first in
// row-major order on ties; NaN wins, the first NaN stays), as the CPU.
void max_pool2d_forward(const float* x, float* y, int64_t* argmax_host, int64_t NC, int64_t H,
                        int64_t W, int k, int s);
// dx = 0, then every output's dy added at its argmax; as a gather over the windows that
// contain each input element, in ascending output order (the CPU's order): deterministic.
void max_pool2d_backward(const float* dy, const int64_t* argmax_host, float* dx, int64_t NC,
                         int64_t H, int64_t W, int64_t P, int64_t Q, int k, int s);

}  // namespace sr::cuda
