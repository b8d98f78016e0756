// The squeeze and the excitation of a channel attention (Hu et al., "Squeeze-and-Excitation
// Networks", CVPR 2018; RCAN's CALayer) on the CPU, each plane (one channel of one image) as
// a row of HW values of an (NC, HW) buffer:
//   spatial_mean:  y[p] = (1 / HW) sum_i x[p, i]       (nn.AdaptiveAvgPool2d(1))
//   channel_scale: y[p, i] = x[p, i] s[p]              (x * s with s broadcast over H, W)
// Sums run in double, as eight interleaved partial sums added in order; the CUDA twins
// (kernels/cuda/channel_attention.h) sum in double over a fixed tree, so float32 results agree
// to one rounding.
#pragma once
#include <cstdint>

namespace sr::cpu {

template <typename T>
void spatial_mean_forward(const T* x, T* y, int64_t NC, int64_t HW);
// dx[p, i] = dy[p] / HW (the division in T, as CUDA's).
template <typename T>
void spatial_mean_backward(const T* dy, T* dx, int64_t NC, int64_t HW);

template <typename T>
void channel_scale_forward(const T* x, const T* s, T* y, int64_t NC, int64_t HW);
// dx[p, i] = dy[p, i] s[p] (when dx), ds[p] = sum_i dy[p, i] x[p, i] (when ds); both overwritten.
template <typename T>
void channel_scale_backward(const T* x, const T* s, const T* dy, T* dx, T* ds, int64_t NC, int64_t HW);

}  // namespace sr::cpu
