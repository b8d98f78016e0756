// MATLAB-compatible bicubic resize (imresize(img, scale, 'bicubic') with antialiasing),
// as BasicSR's matlab_functions.imresize: the function that makes the LR images every
// published x4 number is measured on.
//
// For an output coordinate x (1-based) u = x/s + (1 - 1/s)/2; taps j = floor(u - K/2) + k,
// k = 0..ceil(K)+1, weight w = c(u - j) with Keys' cubic c (a = -0.5, kernel width K = 4).
// Downscaling (s < 1) antialiases: K = 4/s and w = s * c(s * (u - j)). Rows of weights are
// normalised to sum 1; taps outside the image mirror with the edge pixel repeated
// (MATLAB's "symmetric"). Out size ceil(in * s); rows first, then columns; float output,
// neither rounded nor clamped.
#pragma once
#include <vector>

#include "data/image.h"
#include "engine/tensor.h"

namespace sr::data {

// Keys' cubic convolution kernel with a = -0.5.
double cubic_kernel(double x);

// The taps of one 1-D resize: output i reads input indices first[i] .. first[i]+taps-1
// (0-based, before mirroring) with weights[i * taps + k].
struct ResizeWeights {
  int in_length = 0, out_length = 0, taps = 0;
  std::vector<int> first;
  std::vector<double> weights;
};
ResizeWeights resize_weights(int in_length, int out_length, double scale, bool antialiasing = true);

// MATLAB's symmetric index mapping of any integer onto [0, length).
int mirror_index(int i, int length);

// Output length ceil(length * scale); an error if it is not positive.
int resized_length(int length, double scale);

// Resizes every channel of an interleaved image (alpha included); keeps bit_depth.
Image imresize(const Image& img, double scale, bool antialiasing = true);
// Resizes a float32/float64 CPU tensor (N, C, H, W) or (C, H, W) over its last two axes.
Tensor imresize(const Tensor& t, double scale, bool antialiasing = true);

// Raw form: `planes` interleaved channels of an h x w image -> oh x ow.
void imresize_interleaved(const float* src, int h, int w, int channels, double scale,
                          bool antialiasing, float* dst);

}  // namespace sr::data
