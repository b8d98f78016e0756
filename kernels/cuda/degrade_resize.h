// Resizing of the degradation model on CUDA (PyTorch's F.interpolate, align_corners False,
// no antialiasing: area, bilinear, bicubic A = -0.75): the twin of data/degrade/resize.h for a
// batch of planes.
#pragma once
#include <cstdint>

namespace sr::cuda {

enum class DegradeResizeMode : int { area = 0, bilinear = 1, bicubic = 2 };

// y (NC x OH x OW) from x (NC x H x W). ry, rx: source pixels per output pixel, as in
// data/degrade/resize.cpp: 1/f for a scale factor f (resize_by_factor), in/out for a size
// (resize_to); area ignores them (its bins come from the sizes). Every output is the
// separable sum, in double, of the rows' taps then the columns' taps, in the CPU's order.
void degrade_resize(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t OH, int64_t OW, double ry,
                    double rx, DegradeResizeMode mode);

}  // namespace sr::cuda
