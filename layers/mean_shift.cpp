// RgbMeanShift (see mean_shift.h).
#include "layers/mean_shift.h"

#include "engine/ops.h"

namespace sr {

RgbMeanShift::RgbMeanShift(std::vector<double> mean, double range, int64_t num_in_ch, int64_t num_out_ch,
                           const std::string& net)
    : rgb_mean(std::move(mean)), img_range(range), net_(net) {
  SR_CHECK(img_range > 0, net_, ": img_range must be > 0, got ", img_range);
  SR_CHECK((int64_t)rgb_mean.size() == num_in_ch && num_out_ch == num_in_ch, net_, ": rgb_mean has ", rgb_mean.size(),
           " values, num_in_ch is ", num_in_ch, " and num_out_ch ", num_out_ch,
           ": all three must agree (the mean is subtracted from the input and added to the output)");
}

Tensor RgbMeanShift::bias(Tensor& cache, double sign_scale, const Tensor& like) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!cache.defined() || cache.device() != like.device() || cache.dtype() != like.dtype()) {
    std::vector<double> v;
    for (double m : rgb_mean) v.push_back(sign_scale * m);
    cache = Tensor::from_vector(v, {(int64_t)v.size()}, DType::f64).to(like.dtype()).to(like.device());
  }
  return cache;
}

Tensor RgbMeanShift::normalize(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, net_, ": input must be NCHW, got ", x.defined() ? x.shape().str() : "undefined");
  SR_CHECK(x.size(1) == (int64_t)rgb_mean.size(), net_, ": input has ", x.size(1), " channels, the net takes ",
           rgb_mean.size(), ": got ", x.shape().str());
  return bias_leaky_relu(x, bias(shift_in_, -1.0, x), 1.0, img_range);
}

Tensor RgbMeanShift::denormalize(const Tensor& y) {
  return bias_leaky_relu(y, bias(shift_out_, img_range, y), 1.0, 1.0 / img_range);
}

}  // namespace sr
