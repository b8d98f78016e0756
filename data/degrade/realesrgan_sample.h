// RealESRGANDataset's per-sample step (Real-ESRGAN, Wang et al. 2021; BasicSR semantics):
// the GT image is flipped (use_hflip, p = 1/2; use_rot adds vflip then transpose, each
// p = 1/2) on the whole image before cropping, reflect-101-padded at the bottom/right to at
// least crop_pad_size (400) per side, cropped to crop_pad_size x crop_pad_size at a random
// position, and given its three kernels (kernel1, kernel2, sinc; kernel_sampling.h).
// All draws come from the sample's stream (seed, epoch, position), so a sample does not
// depend on the worker that makes it.
#pragma once
#include <cstdint>

#include "data/degrade/options.h"
#include "data/degrade/pipeline.h"
#include "data/degrade/planes.h"
#include "data/image.h"

namespace sr::data::degrade {

struct GtSampleOptions {
  bool use_hflip = true;
  bool use_rot = false;
  int crop_pad_size = 400;  // hard-coded in the original
};

struct GtSample {
  Planes gt;  // crop_pad_size x crop_pad_size RGB
  SampleKernels kernels;
  bool hflip = false, vflip = false, transpose = false;
  int top = 0, left = 0;
};

GtSample make_gt_sample(const Image& img, const GtSampleOptions& g, const DegradationOptions& o, uint64_t seed,
                        uint64_t epoch, uint64_t position);

}  // namespace sr::data::degrade
