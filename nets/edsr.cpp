// EDSR (see edsr.h).
#include "nets/edsr.h"

#include "engine/ops.h"

namespace sr {

EDSR::EDSR(int64_t num_in_ch, int64_t num_out_ch, int64_t nf, int64_t nb, int upscale_, double res_scale,
           double img_range_, std::vector<double> rgb_mean_, const LayerOptions& options)
    : upscale(upscale_), img_range(img_range_), rgb_mean(std::move(rgb_mean_)) {
  SR_CHECK(upscale == 2 || upscale == 3 || upscale == 4 || upscale == 8, "EDSR: upscale must be 2, 3, 4 or 8, got ",
           upscale);
  SR_CHECK(num_in_ch > 0 && nf > 0 && nb >= 0, "EDSR: invalid num_in_ch ", num_in_ch, " num_feat ", nf,
           " num_block ", nb);
  SR_CHECK(img_range > 0, "EDSR: img_range must be > 0, got ", img_range);
  SR_CHECK((int64_t)rgb_mean.size() == num_in_ch && num_out_ch == num_in_ch, "EDSR: rgb_mean has ", rgb_mean.size(),
           " values, num_in_ch is ", num_in_ch, " and num_out_ch ", num_out_ch,
           ": all three must agree (the mean is subtracted from the input and added to the output)");
  conv_first = register_module("conv_first", std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options));
  body = register_module("body", std::make_shared<Sequential>());
  for (int64_t i = 0; i < nb; ++i) body->push_back(std::make_shared<ResidualBlockNoBN>(nf, res_scale, options));
  conv_after_body = register_module("conv_after_body", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  upsample = register_module("upsample", std::make_shared<Sequential>());
  // x2^n: n pairs [conv nf -> 4 nf, PixelShuffle(2)], the convs at the even indices; x3: one
  // pair [conv nf -> 9 nf, PixelShuffle(3)].
  if (upscale == 3) shuffle_factors_ = {3};
  for (int s = upscale; s > 1 && upscale != 3; s /= 2) shuffle_factors_.push_back(2);
  for (size_t i = 0; i < shuffle_factors_.size(); ++i) {
    const int r = shuffle_factors_[i];
    upsample->push_back(std::to_string(2 * i), std::make_shared<Conv2d>(nf, r * r * nf, 3, 1, 1, true, options));
  }
  conv_last = register_module("conv_last", std::make_shared<Conv2d>(nf, num_out_ch, 3, 1, 1, true, options));
}

Tensor EDSR::shift(Tensor& cache, double sign_scale, const Tensor& like) {
  const std::lock_guard<std::mutex> lock(shift_mutex_);
  if (!cache.defined() || cache.device() != like.device() || cache.dtype() != like.dtype()) {
    std::vector<double> v;
    for (double m : rgb_mean) v.push_back(sign_scale * m);
    cache = Tensor::from_vector(v, {(int64_t)v.size()}, DType::f64).to(like.dtype()).to(like.device());
  }
  return cache;
}

Tensor EDSR::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "EDSR: input must be NCHW, got ", x.defined() ? x.shape().str() : "undefined");
  SR_CHECK(x.size(1) == (int64_t)rgb_mean.size(), "EDSR: input has ", x.size(1), " channels, the net takes ",
           rgb_mean.size(), ": got ", x.shape().str());
  // The mean shifts as per-channel affine maps through bias_leaky_relu, gain * lrelu(x + b[c], 1),
  // whose slope 1 makes it the identity on x + b[c]:
  //   in:  (x - mean) * img_range          = img_range * (x + (-mean))
  //   out: y / img_range + mean            = (1 / img_range) * (y + mean * img_range)
  Tensor h = bias_leaky_relu(x, shift(shift_in_, -1.0, x), 1.0, img_range);
  h = conv_first->forward(h);
  Tensor res = add(conv_after_body->forward(body->forward(h)), h);
  for (size_t i = 0; i < upsample->size(); ++i) res = pixel_shuffle((*upsample)[i].forward(res), shuffle_factors_[i]);
  return bias_leaky_relu(conv_last->forward(res), shift(shift_out_, img_range, x), 1.0, 1.0 / img_range);
}

}  // namespace sr
