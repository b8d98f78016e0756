// Antialiased Lanczos-3 resampling as Pillow's Image.resize(size, Image.LANCZOS) computes it:
// the resize of BasicSR's generate_multiscale_DF2K.py (srengine multiscale). Per axis, with
// scale = in / out and support = 3 max(scale, 1) (the filter is stretched when shrinking, which
// is the antialiasing), output pixel d is centred on the source coordinate c = (d + 0.5) scale
// and reads the source pixels [lo, hi) with lo = max(int(c - support + 0.5), 0) and
// hi = min(int(c + support + 0.5), in), weighted L((i - c + 0.5) / max(scale, 1)) where
// L(t) = sinc(t) sinc(t / 3) on [-3, 3) (sinc(t) = sin(pi t) / (pi t), sinc(0) = 1), normalised
// to sum 1. No pixel outside the image is read (the window is cut, not padded).
//
// Arithmetic, 8-bit images (Pillow's, to the bit): the normalised weights become fixed point
// with 22 fraction bits, rounded half away from zero; each sum starts at 2^21 (rounding) and
// is shifted right by 22 and clamped to [0, 255]. Rows are resampled first, into 8-bit rows,
// then columns. With alpha (RGBA, gray + alpha), colour is premultiplied by alpha first and
// divided by it after, in Pillow's integer arithmetic (its RGBa / La modes). 16-bit images
// follow Pillow's 32-bit integer path (how it resizes a 16-bit gray PNG): float64 weights and
// sums, each pass rounded half away from zero, clamped to [0, 65535] at the end; with alpha,
// premultiplied in float64 (Pillow reads 16-bit colour and alpha PNGs as 8-bit).
#pragma once
#include <vector>

#include "data/image.h"

namespace sr::data {

// One axis: for each output index, the first source index, the count, and the normalised
// float64 weights (out_size rows of `taps` entries, zero beyond the count).
struct Lanczos3Axis {
  int in_size = 0, out_size = 0, taps = 0;
  std::vector<int> first, count;
  std::vector<double> weights;
};
Lanczos3Axis lanczos3_axis(int in_size, int out_size);

// The whole image (any channel count, 8 or 16 bits) to out_width x out_height; the result
// keeps the bit depth, and its samples are exact multiples of 1/255 for 8-bit images.
Image resize_lanczos3(const Image& img, int out_width, int out_height);

}  // namespace sr::data
