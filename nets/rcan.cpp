// RCAN (see rcan.h).
#include "nets/rcan.h"

#include "engine/ops.h"
#include "nets/size_options.h"

namespace sr {

ChannelAttention::ChannelAttention(int64_t nf, int64_t squeeze, const LayerOptions& options) {
  // BasicSR's num_feat // squeeze_factor: floor division, at least one hidden channel.
  SR_CHECK(squeeze > 0 && nf / squeeze > 0, "RCAN: num_feat ", nf, " // squeeze_factor ", squeeze,
           " leaves no hidden channel in the channel attention");
  attention = register_module("attention", std::make_shared<Sequential>());
  attention->push_back("1", std::make_shared<Conv2d>(nf, nf / squeeze, 1, 1, 0, true, options));
  attention->push_back("3", std::make_shared<Conv2d>(nf / squeeze, nf, 1, 1, 0, true, options));
}

Tensor ChannelAttention::forward(const Tensor& x) {
  // y = x * sigmoid(conv3(relu(conv1(mean_hw(x))))): the squeeze and the excitation are ops of
  // their own (engine/ops_channel_attention.cpp), the 1x1 convs run on (N, C, 1, 1).
  Tensor a = (*attention)[0].forward(spatial_mean(x));
  a = sigmoid((*attention)[1].forward(relu(a)));
  return channel_scale(x, a);
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
           double res_scale, double img_range, std::vector<double> rgb_mean, const LayerOptions& options)
    : upscale(upscale_), shift_(std::move(rgb_mean), img_range, num_in_ch, num_out_ch, "RCAN") {
  check_size_options("RCAN", {{"num_in_ch", num_in_ch, 1}, {"num_feat", nf, 1}, {"num_group", ng, 0},
                              {"num_block", nb, 0}});
  conv_first = register_module("conv_first", std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options));
  body = register_module("body", std::make_shared<Sequential>());
  for (int64_t i = 0; i < ng; ++i) body->push_back(std::make_shared<ResidualGroup>(nf, nb, squeeze, res_scale, options));
  conv_after_body = register_module("conv_after_body", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  upsample = register_module("upsample", std::make_shared<PixelShuffleUpsample>(nf, upscale, "RCAN", options));
  conv_last = register_module("conv_last", std::make_shared<Conv2d>(nf, num_out_ch, 3, 1, 1, true, options));
}

Tensor RCAN::forward(const Tensor& x) {
  const Tensor h = conv_first->forward(shift_.normalize(x));
  const Tensor res = add(conv_after_body->forward(body->forward(h)), h);
  return shift_.denormalize(conv_last->forward(upsample->forward(res)));
}

}  // namespace sr
