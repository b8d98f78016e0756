// EDSR (see edsr.h).
#include "nets/edsr.h"

#include "engine/ops.h"
#include "nets/size_options.h"

namespace sr {

EDSR::EDSR(int64_t num_in_ch, int64_t num_out_ch, int64_t nf, int64_t nb, int upscale_, double res_scale,
           double img_range_, std::vector<double> rgb_mean_, const LayerOptions& options)
    : upscale(upscale_), shift_(std::move(rgb_mean_), img_range_, num_in_ch, num_out_ch, "EDSR") {
  check_size_options("EDSR", {{"num_in_ch", num_in_ch, 1}, {"num_feat", nf, 1}, {"num_block", nb, 0}});
  conv_first = register_module("conv_first", std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options));
  body = register_module("body", std::make_shared<Sequential>());
  for (int64_t i = 0; i < nb; ++i) body->push_back(std::make_shared<ResidualBlockNoBN>(nf, res_scale, options));
  conv_after_body = register_module("conv_after_body", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  upsample = register_module("upsample", std::make_shared<PixelShuffleUpsample>(nf, upscale, "EDSR", options));
  conv_last = register_module("conv_last", std::make_shared<Conv2d>(nf, num_out_ch, 3, 1, 1, true, options));
}

Tensor EDSR::forward(const Tensor& x) {
  const Tensor h = conv_first->forward(shift_.normalize(x));
  const Tensor res = add(conv_after_body->forward(body->forward(h)), h);
  return shift_.denormalize(conv_last->forward(upsample->forward(res)));
}

}  // namespace sr
