// Pixel shuffle / unshuffle and nearest / bilinear upsampling by an integer factor on the CPU.
// Planes are (NC, H, W) contiguous; NC = N*C.
#pragma once
#include <cstdint>

namespace sr::cpu {

// y (N, C, H*r, W*r) from x (N, C*r*r, H, W): y[n][c][h*r+i][w*r+j] = x[n][c*r*r + i*r + j][h][w].
// Its backward is pixel_unshuffle of dy, and the other way round.
template <typename T>
void pixel_shuffle(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r);
template <typename T>
void pixel_unshuffle(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r);  // H, W of the output

// Nearest by an integer factor r (PyTorch's interpolate(scale_factor=r, mode='nearest')):
// y[h*r+i][w*r+j] = x[h][w]; the backward sums each r x r block. H, W are input sizes.
template <typename T> void upsample_nearest_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int r);
template <typename T> void upsample_nearest_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int r);

// Bilinear by an integer factor r, align_corners=false (PyTorch's interpolate(scale_factor=r,
// mode='bilinear'); taps from math::bilinear_taps). H, W are input sizes.
template <typename T> void upsample_bilinear_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int r);
template <typename T> void upsample_bilinear_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int r);

}  // namespace sr::cpu
