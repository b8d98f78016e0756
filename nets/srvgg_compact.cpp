// SRVGGNetCompact (see srvgg_compact.h).
#include "nets/srvgg_compact.h"

#include "engine/ops.h"
#include "layers/activation.h"
#include "layers/conv2d.h"
#include "nets/size_options.h"

namespace sr {

namespace {
std::shared_ptr<Module> make_activation(const std::string& act_type, int64_t num_feat) {
  if (act_type == "prelu") return std::make_shared<PReLU>(num_feat);
  if (act_type == "relu") return std::make_shared<ReLU>();
  if (act_type == "leakyrelu") return std::make_shared<LeakyReLU>(0.1);
  fail("SRVGGNetCompact: act_type must be prelu, relu or leakyrelu, got '", act_type, "'");
}
}  // namespace

SRVGGNetCompact::SRVGGNetCompact(int64_t num_in_ch, int64_t num_out_ch, int64_t nf, int64_t num_conv, int upscale_,
                                 const std::string& act_type, const LayerOptions& options)
    : upscale(upscale_) {
  SR_CHECK(upscale >= 2 && upscale <= 4, "SRVGGNetCompact: upscale must be 2, 3 or 4, got ", upscale);
  check_size_options("SRVGGNetCompact", {{"num_in_ch", num_in_ch, 1}, {"num_feat", nf, 1}, {"num_conv", num_conv, 0}});
  SR_CHECK(num_out_ch == num_in_ch, "SRVGGNetCompact: num_out_ch (", num_out_ch, ") must equal num_in_ch (",
           num_in_ch, ") because the upsampled input is added to the output");
  body = register_module("body", std::make_shared<Sequential>());
  body->push_back(std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options));
  body->push_back(make_activation(act_type, nf));
  for (int64_t i = 0; i < num_conv; ++i) {
    body->push_back(std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
    body->push_back(make_activation(act_type, nf));
  }
  body->push_back(std::make_shared<Conv2d>(nf, num_out_ch * upscale * upscale, 3, 1, 1, true, options));
}

Tensor SRVGGNetCompact::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "SRVGGNetCompact: input must be NCHW, got ",
           x.defined() ? x.shape().str() : "undefined");
  Tensor out = pixel_shuffle(body->forward(x), upscale);
  return add(out, upsample_nearest(x, upscale));
}

}  // namespace sr
