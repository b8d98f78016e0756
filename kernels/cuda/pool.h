// Max pooling on CUDA: the twin of kernels/cpu/pool.h (nn.MaxPool2d, no padding, floor mode).
// The argmax indices stay on the device between forward and backward (the op keeps them in
// a device buffer): int32, half the bytes of the CPU's int64 and no host round trip, which
// for VGG19 at batch 16 / 128 px was about 63 MB over PCIe and a sync per pass.
#pragma once
#include <cstdint>

namespace sr::cuda {

// x (NC, H, W) -> y (NC, P, Q); argmax[o] (device, NC*P*Q int32) = h*W + w of output o's
// maximum (first in row-major order on ties; NaN wins, the first NaN stays), as the CPU.
// H*W above INT32_MAX is an error naming the shape.
void max_pool2d_forward(const float* x, float* y, int32_t* argmax, int64_t NC, int64_t H,
                        int64_t W, int k, int s);
// dx = 0, then every output's dy added at its argmax; as a gather over the windows that
// contain each input element, in ascending output order (the CPU's order): deterministic.
void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, int64_t NC,
                         int64_t H, int64_t W, int64_t P, int64_t Q, int k, int s);

}  // namespace sr::cuda
