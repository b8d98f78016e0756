// Real-ESRGAN's high-order degradation model (Wang et al. 2021, Sec. 3.1-3.3, Fig. 2) on
// the CPU: the reference for the device implementation (pipeline_device.h) and what
// `srengine degrade` runs.
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
//
// Drawing and applying are separate: draw_degradation() makes every decision into a
// DegradationParams, and the steps (degradation_steps) apply them, on the CPU here
// (apply_step) or on a device (pipeline_device.h) from the same struct.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/degrade/kernel_sampling.h"
#include "data/degrade/options.h"
#include "data/degrade/planes.h"
#include "data/degrade/resize.h"

namespace sr::data::degrade {

struct SampleKernels {
  SampledKernel kernel1, kernel2, sinc;
};

// One order's resize decision (per batch).
struct ResizeDraw {
  const char* type = "keep";  // "up", "down" or "keep"
  double factor = 1.0;
  ResizeMode mode = ResizeMode::area;
};

// One order's noise: the kind per batch, amount and gray per sample, each sample's field
// stream and the stream of the gray Gaussian field every gray sample of the batch shares
// (Philox streams under the params' seed; element i of a field is draw i).
struct NoiseDraw {
  bool gaussian = true;
  struct Sample {
    double amount = 0;  // Gaussian sigma (0..255 units) or Poisson scale
    bool gray = false;
    uint64_t stream = 0;
  };
  std::vector<Sample> samples;
  uint64_t gray_stream = 0;
};

// Every drawn parameter of one batch's degradation: what the CPU and the device pipelines
// both consume.
struct DegradationParams {
  uint64_t seed = 0;
  int height = 0, width = 0, scale = 4;  // GT size and scale: the LQ is (height/s, width/s)
  std::vector<SampleKernels> kernels;
  ResizeDraw resize1;
  NoiseDraw noise1;
  std::vector<double> jpeg1;  // quality per sample
  bool second_blur = false;
  ResizeDraw resize2;
  int resize2_height = 0, resize2_width = 0;  // (int(H/s f), int(W/s f))
  NoiseDraw noise2;
  bool sinc_first = true;  // final order: resize + sinc, then JPEG (else JPEG first)
  ResizeMode final_mode = ResizeMode::area;
  std::vector<double> jpeg2;
  size_t batch() const { return kernels.size(); }
};

// The draws of one batch, in the order of the streams (batch stream: resize1, noise kind 1,
// second blur, resize2, noise kind 2, final order, final mode; sample streams: noise1,
// jpeg1, noise2, jpeg2). Checks the batch against opt (sizes, scale).
DegradationParams draw_degradation(const std::vector<SampleKernels>& kernels, int height, int width,
                                   const DegradationOptions& opt, uint64_t seed, uint64_t batch_key);

// The pipeline's steps. jpeg1 / jpeg2 include the clamp before them; resize1 is by the
// factor, resize2 and final_resize to sizes; quantize is the last rounding to k/255.
enum class DegradationStep { blur1, resize1, noise1, jpeg1, blur2, resize2, noise2, final_resize, sinc, jpeg2, quantize };
const char* step_name(DegradationStep s);
// The steps of a batch in order (blur2 only with second_blur; the final order).
std::vector<DegradationStep> degradation_steps(const DegradationParams& p);

// One step on the CPU, per sample (x holds the batch's images, all the same size).
void apply_step(std::vector<Planes>& x, const DegradationParams& p, DegradationStep step);

// Every drawn parameter of sample b as JSON (`srengine degrade --dump-params`).
nlohmann::json params_json(const DegradationParams& p, size_t b);

// LQ images of size (H/s, W/s) (integer division), values k/255. When `params` is given
// it receives one JSON object per sample with every drawn parameter.
std::vector<Planes> degrade_batch(const std::vector<Planes>& gt, const std::vector<SampleKernels>& kernels,
                                  const DegradationOptions& opt, uint64_t seed, uint64_t batch_key,
                                  std::vector<nlohmann::json>* params = nullptr);

}  // namespace sr::data::degrade
