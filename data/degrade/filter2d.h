// The blur of the degradation pipeline (BasicSR's filter2D): every plane is padded by
// k/2 on each side with reflect-101 (mirror without repeating the edge; the pad must be
// smaller than the image side) and correlated with the kernel (no flip; the Gaussian-family
// and sinc kernels are point-symmetric, so this is also a convolution). Output size = input size.
#pragma once
#include "data/degrade/blur_kernels.h"
#include "data/degrade/planes.h"

namespace sr::data::degrade {

// reflect-101 index of i into [0, n) for |overhang| < n.
inline int reflect101(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

// k x k row-major kernel, k odd. Sums in double; taps that are zero (the padding of a
// smaller kernel) are skipped, so a 7 x 7 kernel padded to 21 costs 49 taps and the pulse
// is an exact identity.
Planes filter2d(const Planes& x, const float* kernel, int k);
inline Planes filter2d(const Planes& x, const Kernel21& kernel) { return filter2d(x, kernel.data(), kKernelSide); }

}  // namespace sr::data::degrade
