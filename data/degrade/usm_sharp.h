// Unsharp masking of the GT (BasicSR's USMSharp; Real-ESRGAN Sec. 4.1 sharpens the GT
// the L1 and perceptual losses see). Radius 50 becomes the odd 51; Gaussian of OpenCV's
// automatic sigma 0.3 ((51 - 1)/2 - 1) + 0.8 = 8.0, normalised in float64, reflect-101
// padding 25. Per element: B = blur(I), R = I - B, M = |R| 255 > threshold,
// S = blur(M), out = S clamp(I + weight R, 0, 1) + (1 - S) I (a convex mix: stays in [0, 1]).
// The 2-D kernel is the outer product of the 1-D one, so it is applied separably here.
#pragma once
#include "data/degrade/planes.h"

namespace sr::data::degrade {

Planes usm_sharp(const Planes& img, int radius = 50, double weight = 0.5, double threshold = 10);

}  // namespace sr::data::degrade
