// Resizing as PyTorch's F.interpolate does it in Real-ESRGAN's pipeline (align_corners
// False, no antialiasing), for area, bilinear and bicubic. This is not MATLAB's imresize
// (data/imresize.h): no antialiasing, so downscaling by 0.15 aliases, as in training.
//
// Per axis, r = source pixels per output pixel: r = 1/f when a scale factor f is given
// (output floor(in * f); PyTorch >= 1.6 keeps the given factor, not in/out), r = in/out
// when a size is given.
//   bilinear: s = max(0, r (d + 0.5) - 0.5), i0 = floor(s), i1 = min(i0 + 1, in - 1),
//             out = (1 - l) x[i0] + l x[i1], l = s - i0 (two taps, whatever r is).
//   bicubic:  s = r (d + 0.5) - 0.5 (not clamped), i = floor(s), t = s - i, taps i-1..i+2
//             clamped to [0, in-1] with Keys' cubic W(t - m), A = -0.75 (overshoots).
//   area:     adaptive average pooling from the sizes alone: mean of
//             x[floor(d in/out) .. ceil((d+1) in/out) - 1].
// Separable: rows, then columns, summed in double.
#pragma once
#include <string>

#include "data/degrade/planes.h"

namespace sr::data::degrade {

enum class ResizeMode { area, bilinear, bicubic };
const char* resize_mode_name(ResizeMode m);

// Keys' cubic convolution weight with A = -0.75 (PyTorch's bicubic).
double cubic_weight_a075(double z);

Planes resize_by_factor(const Planes& x, double factor, ResizeMode mode);
Planes resize_to(const Planes& x, int out_height, int out_width, ResizeMode mode);

}  // namespace sr::data::degrade
