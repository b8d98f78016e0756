// Real-ESRGAN's high-order degradation model (Wang et al. 2021, Sec. 3.1-3.3, Fig. 2) on
// the CPU: the reference for the device implementation and what `srengine degrade` runs.
//
// For a batch of equal-size GT images (H x W, already USM-sharpened when the stage wants
// it) with their per-sample kernels, scale s:
//   order 1: blur(kernel1); resize by f (up U(1, hi) / down U(lo, 1) / keep, mode area |
//            bilinear | bicubic); Gaussian (sigma, gray) or Poisson (scale, gray) noise,
//            clamp; clamp, JPEG(q).
//   order 2: with second_blur_prob blur(kernel2); resize to (int(H/s f), int(W/s f));
//            noise, clamp; then with p = 1/2 either [resize to (H/s, W/s), blur(sinc),
//            clamp, JPEG] or [clamp, JPEG, resize, blur(sinc)];
//   lq = clamp(round(255 x), 0, 255) / 255.
// Per batch (one draw for all samples): resize type, factor and mode, Gaussian vs Poisson,
// second blur, final order and final mode. Per sample: kernels, sigma / scale, gray, q.
// Randomness: the batch stream (seed, batch key), one stream per sample (seed, batch key,
// sample) and counter-based noise fields, so the result is a function of
// (seed, batch key, inputs) only.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/degrade/kernel_sampling.h"
#include "data/degrade/options.h"
#include "data/degrade/planes.h"

namespace sr::data::degrade {

struct SampleKernels {
  SampledKernel kernel1, kernel2, sinc;
};

// LQ images of size (H/s, W/s) (integer division), values k/255. When `params` is given
// it receives one JSON object per sample with every drawn parameter.
std::vector<Planes> degrade_batch(const std::vector<Planes>& gt, const std::vector<SampleKernels>& kernels,
                                  const DegradationOptions& opt, uint64_t seed, uint64_t batch_key,
                                  std::vector<nlohmann::json>* params = nullptr);

}  // namespace sr::data::degrade
