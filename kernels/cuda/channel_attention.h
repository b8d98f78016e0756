// Channel attention's squeeze and excitation on CUDA: the twins of
// kernels/cpu/channel_attention.h, float32, (NC, HW) planes.
//   spatial_mean: one block of 256 threads per plane, double partials in a fixed tree
//   (block_sum), so the result is the same on every run; the backward a map.
//   channel_scale: a map; its ds the same per-plane reduction of dy * x.
// RCAN's attention at batch 16 and 48x48 patches is 1024 planes of 2304 values: one block each.
#pragma once
#include <cstdint>

namespace sr::cuda {

void spatial_mean_forward(const float* x, float* y, int64_t NC, int64_t HW);
void spatial_mean_backward(const float* dy, float* dx, int64_t NC, int64_t HW);
void channel_scale_forward(const float* x, const float* s, float* y, int64_t NC, int64_t HW);
// dx and ds may each be null.
void channel_scale_backward(const float* x, const float* s, const float* dy, float* dx, float* ds, int64_t NC,
                            int64_t HW);

}  // namespace sr::cuda
