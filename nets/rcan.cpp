// RCAN (see rcan.h).
#include "nets/rcan.h"

#include "engine/ops.h"

namespace sr {

ChannelAttention::ChannelAttention(int64_t nf, int64_t squeeze, const LayerOptions& options) {
  SR_CHECK(squeeze > 0 && nf % squeeze == 0 && nf / squeeze > 0, "RCAN: num_feat ", nf,
           " must be a positive multiple of squeeze_factor ", squeeze);
  attention = register_module("attention", std::make_shared<Sequential>());
  attention->push_back("1", std::make_shared<Conv2d>(nf, nf / squeeze, 1, 1, 0, true, options));
  attention->push_back("3", std::make_shared<Conv2d>(nf / squeeze, nf, 1, 1, 0, true, options));
}

ChannelAttention::Constants ChannelAttention::constants(int64_t hw, const Tensor& like) {
  auto make = [&] {
    return Constants{Tensor::full({1, hw}, 1.0 / (double)hw, like.dtype()).to(like.device()),
                     Tensor::full({hw, 1}, 1.0, like.dtype()).to(like.device())};
  };
  if (!is_training()) return make();
  const std::lock_guard<std::mutex> lock(cache_mutex_);
  const auto key = std::make_tuple(hw, like.device().str(), (int)like.dtype());
  auto it = training_constants_.find(key);
  if (it == training_constants_.end()) it = training_constants_.emplace(key, make()).first;
  return it->second;
}

Tensor ChannelAttention::forward(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), HW = H * W;
  const Constants k = constants(HW, x);
  const Tensor& mean_w = k.mean;
  const Tensor& spread_w = k.spread;
  // mean over H*W: (N*C, HW) x (HW, 1) -> (N, C, 1, 1); the 1x1 convs; the weights back over H*W.
  const Tensor pooled = reshape(linear(reshape(x, {N * C, HW}), mean_w, Tensor()), {N, C, 1, 1});
  Tensor a = (*attention)[0].forward(pooled);
  a = sigmoid((*attention)[1].forward(relu(a)));
  const Tensor spread = reshape(linear(reshape(a, {N * C, 1}), spread_w, Tensor()), {N, C, H, W});
  return mul(x, spread);
}

RCAB::RCAB(int64_t nf, int64_t squeeze, double res_scale_, const LayerOptions& options) : res_scale(res_scale_) {
  rcab = register_module("rcab", std::make_shared<Sequential>());
  rcab->push_back("0", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  rcab->push_back("2", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  rcab->push_back("3", std::make_shared<ChannelAttention>(nf, squeeze, options));
}

Tensor RCAB::forward(const Tensor& x) {
  const Tensor r = (*rcab)[2].forward((*rcab)[1].forward(relu((*rcab)[0].forward(x))));
  return axpby(res_scale, r, 1.0, x);
}

ResidualGroup::ResidualGroup(int64_t nf, int64_t nb, int64_t squeeze, double res_scale, const LayerOptions& options) {
  residual_group = register_module("residual_group", std::make_shared<Sequential>());
  for (int64_t i = 0; i < nb; ++i) residual_group->push_back(std::make_shared<RCAB>(nf, squeeze, res_scale, options));
  conv = register_module("conv", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
}

Tensor ResidualGroup::forward(const Tensor& x) { return add(conv->forward(residual_group->forward(x)), x); }

RCAN::RCAN(int64_t num_in_ch, int64_t num_out_ch, int64_t nf, int64_t ng, int64_t nb, int64_t squeeze, int upscale_,
           double res_scale, double img_range_, std::vector<double> rgb_mean_, const LayerOptions& options)
    : upscale(upscale_), img_range(img_range_), rgb_mean(std::move(rgb_mean_)) {
  SR_CHECK(upscale == 2 || upscale == 3 || upscale == 4 || upscale == 8, "RCAN: upscale must be 2, 3, 4 or 8, got ",
           upscale);
  SR_CHECK(num_in_ch > 0 && nf > 0 && ng >= 0 && nb >= 0, "RCAN: invalid num_in_ch ", num_in_ch, " num_feat ", nf,
           " num_group ", ng, " num_block ", nb);
  SR_CHECK(img_range > 0, "RCAN: img_range must be > 0, got ", img_range);
  SR_CHECK((int64_t)rgb_mean.size() == num_in_ch && num_out_ch == num_in_ch, "RCAN: rgb_mean has ", rgb_mean.size(),
           " values, num_in_ch is ", num_in_ch, " and num_out_ch ", num_out_ch,
           ": all three must agree (the mean is subtracted from the input and added to the output)");
  conv_first = register_module("conv_first", std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options));
  body = register_module("body", std::make_shared<Sequential>());
  for (int64_t i = 0; i < ng; ++i) body->push_back(std::make_shared<ResidualGroup>(nf, nb, squeeze, res_scale, options));
  conv_after_body = register_module("conv_after_body", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  upsample = register_module("upsample", std::make_shared<Sequential>());
  if (upscale == 3) shuffle_factors_ = {3};
  for (int s = upscale; s > 1 && upscale != 3; s /= 2) shuffle_factors_.push_back(2);
  for (size_t i = 0; i < shuffle_factors_.size(); ++i) {
    const int r = shuffle_factors_[i];
    upsample->push_back(std::to_string(2 * i), std::make_shared<Conv2d>(nf, r * r * nf, 3, 1, 1, true, options));
  }
  conv_last = register_module("conv_last", std::make_shared<Conv2d>(nf, num_out_ch, 3, 1, 1, true, options));
}

Tensor RCAN::shift(Tensor& cache, double sign_scale, const Tensor& like) {
  const std::lock_guard<std::mutex> lock(shift_mutex_);
  if (!cache.defined() || cache.device() != like.device() || cache.dtype() != like.dtype()) {
    std::vector<double> v;
    for (double m : rgb_mean) v.push_back(sign_scale * m);
    cache = Tensor::from_vector(v, {(int64_t)v.size()}, DType::f64).to(like.dtype()).to(like.device());
  }
  return cache;
}

Tensor RCAN::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "RCAN: input must be NCHW, got ", x.defined() ? x.shape().str() : "undefined");
  SR_CHECK(x.size(1) == (int64_t)rgb_mean.size(), "RCAN: input has ", x.size(1), " channels, the net takes ",
           rgb_mean.size(), ": got ", x.shape().str());
  // The mean shifts as EDSR runs them: per-channel affine maps through bias_leaky_relu (slope 1).
  Tensor h = bias_leaky_relu(x, shift(shift_in_, -1.0, x), 1.0, img_range);
  h = conv_first->forward(h);
  Tensor res = add(conv_after_body->forward(body->forward(h)), h);
  for (size_t i = 0; i < upsample->size(); ++i) res = pixel_shuffle((*upsample)[i].forward(res), shuffle_factors_[i]);
  return bias_leaky_relu(conv_last->forward(res), shift(shift_out_, img_range, x), 1.0, 1.0 / img_range);
}

}  // namespace sr
