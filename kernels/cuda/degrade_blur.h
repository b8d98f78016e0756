// Per-sample blur of the degradation model on CUDA: the twin of data/degrade/filter2d.h
// (BasicSR's filter2D) applied to a whole batch, each sample with its own kernel.
#pragma once
#include <cstdint>

namespace sr::cuda {

// y[n][c] = correlation of x[n][c] (reflect-101 padded by k/2) with the k x k row-major
// kernel `kernels + n * kernel_stride` (kernel_stride 0: one kernel for the batch). x and y
// are N x C x H x W, distinct. k odd, 1 <= k <= 21; k/2 < H and k/2 < W (PyTorch's reflect
// rule; the CPU reference only needs the kernel's non-zero taps to fit). Taps outside the
// kernel's non-zero support (a 7 x 7 kernel padded to 21) are skipped, as on the CPU.
void degrade_blur(const float* x, const float* kernels, int64_t kernel_stride, float* y, int64_t N, int64_t C,
                  int64_t H, int64_t W, int k);

}  // namespace sr::cuda
