// JPEG compression of the degradation model on CUDA (BasicSR's DiffJPEG with
// differentiable=False: a continuous-quality block-DCT quantise/round, not libjpeg): the
// twin of data/degrade/diff_jpeg.h for a batch, with a quality per sample.
#pragma once
#include <cstdint>

namespace sr::cuda {

// x: N x 3 x H x W RGB (the pipeline clamps it to [0, 1] first), updated in place;
// `quality` is a host array of N values in (0, 100). Zero (black) padding to multiples of
// 16, full-range YCbCr, 4:2:0 by 2 x 2 means, 8 x 8 DCT, quantisation with the transposed
// Annex-K tables scaled by f(q) and rounded half to even, inverse DCT, chroma replicated,
// RGB clamped to [0, 255] / 255. All in double, as the CPU reference.
void degrade_jpeg(float* x, int64_t N, int64_t H, int64_t W, const double* quality);

}  // namespace sr::cuda
