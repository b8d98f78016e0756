// Unsharp masking of the GT on CUDA (BasicSR's USMSharp): the twin of
// data/degrade/usm_sharp.h for a batch of planes.
#pragma once
#include <cstdint>

namespace sr::cuda {

// y (NC x H x W) = USM(x): radius (even radii become the next odd one; at most 101),
// Gaussian of OpenCV's automatic sigma, reflect-101; B = blur(x), M = |x - B| 255 >
// threshold, S = blur(M), y = S clamp(x + weight (x - B), 0, 1) + (1 - S) x. The blurs are
// separable (rows, then columns) and in double, as on the CPU. radius/2 < H and W.
void degrade_usm_sharp(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int radius = 50,
                       double weight = 0.5, double threshold = 10);

}  // namespace sr::cuda
