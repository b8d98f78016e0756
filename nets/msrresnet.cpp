// MSRResNet (see msrresnet.h).
#include "nets/msrresnet.h"

#include "engine/ops.h"
#include "layers/residual_block_no_bn.h"
#include "layers/rrdb.h"
#include "nets/size_options.h"

namespace sr {

namespace {
constexpr double kSlope = 0.1;  // BasicSR's LeakyReLU(negative_slope=0.1)
}  // namespace

MSRResNet::MSRResNet(int64_t num_in_ch, int64_t num_out_ch, int64_t nf, int64_t nb, int upscale_,
                     const LayerOptions& options)
    : upscale(upscale_) {
  SR_CHECK(upscale >= 2 && upscale <= 4, "MSRResNet: upscale must be 2, 3 or 4, got ", upscale);
  check_size_options("MSRResNet", {{"num_in_ch", num_in_ch, 1}, {"num_feat", nf, 1}, {"num_block", nb, 0}});
  SR_CHECK(num_out_ch == num_in_ch, "MSRResNet: num_out_ch (", num_out_ch, ") must equal num_in_ch (", num_in_ch,
           ") because the upsampled input is added to the output");
  auto conv = [&](const char* name, int64_t in, int64_t out) {
    return register_module(name, std::make_shared<Conv2d>(in, out, 3, 1, 1, true, options));
  };
  conv_first = conv("conv_first", num_in_ch, nf);
  body = register_module("body", std::make_shared<Sequential>());
  for (int64_t i = 0; i < nb; ++i) body->push_back(std::make_shared<ResidualBlockNoBN>(nf, 1.0, options));
  const int r1 = upscale == 4 ? 2 : upscale;
  upconv1 = conv("upconv1", nf, nf * r1 * r1);
  if (upscale == 4) upconv2 = conv("upconv2", nf, nf * 4);
  conv_hr = conv("conv_hr", nf, nf);
  conv_last = conv("conv_last", nf, num_out_ch);
  for (Conv2d* c : {conv_first.get(), upconv1.get(), upconv2.get(), conv_hr.get(), conv_last.get()})
    if (c) scaled_kaiming_init_(*c, 0.1);
}

Tensor MSRResNet::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "MSRResNet: input must be NCHW, got ",
           x.defined() ? x.shape().str() : "undefined");
  Tensor out = body->forward(conv_first->forward_leaky_relu(x, kSlope));
  if (upscale == 4) {
    out = pixel_shuffle(upconv1->forward_leaky_relu(out, kSlope), 2);
    out = pixel_shuffle(upconv2->forward_leaky_relu(out, kSlope), 2);
  } else {
    out = pixel_shuffle(upconv1->forward_leaky_relu(out, kSlope), upscale);
  }
  out = conv_last->forward(conv_hr->forward_leaky_relu(out, kSlope));
  return add(out, upsample_bilinear(x, upscale));
}

}  // namespace sr
