// The mean shift of BasicSR's EDSR and RCAN: the input is centred and scaled on the way in and
// the output shifted back on the way out,
//   in:  (x - rgb_mean) * img_range          = img_range * (x + (-mean))
//   out: y / img_range + rgb_mean            = (1 / img_range) * (y + mean * img_range)
// Each is one per-channel affine op, bias_leaky_relu with slope 1 (an identity activation), on
// every device. The mean is a constant, not a parameter or buffer: BasicSR keeps it outside
// the state dict. Its per-channel biases are built on the input's device and dtype at the
// first forward there (before a CUDA graph's capture, in its eager warm-up step), under a mutex
// for forwards from several threads.
#pragma once
#include <mutex>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace sr {

class RgbMeanShift {
 public:
  // `net` names the network in errors; num_in_ch and num_out_ch must equal rgb_mean's length.
  RgbMeanShift(std::vector<double> rgb_mean, double img_range, int64_t num_in_ch, int64_t num_out_ch,
               const std::string& net);
  Tensor normalize(const Tensor& x);    // (x - mean) * img_range; x must be NCHW with the mean's channels
  Tensor denormalize(const Tensor& y);  // y / img_range + mean

  const std::vector<double> rgb_mean;
  const double img_range;

 private:
  std::string net_;
  Tensor shift_in_, shift_out_;
  std::mutex mutex_;
  Tensor bias(Tensor& cache, double sign_scale, const Tensor& like);
};

}  // namespace sr
