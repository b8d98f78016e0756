// RRDBNet (see rrdbnet.h).
#include "nets/rrdbnet.h"

#include "engine/ops.h"
#include "nets/size_options.h"

namespace sr {

namespace {
constexpr double kSlope = 0.2;
}

RRDBNet::RRDBNet(int64_t num_in_ch, int64_t num_out_ch, int scale_, int64_t nf, int64_t nb, int64_t gc,
                 const LayerOptions& options)
    : scale(scale_) {
  SR_CHECK(scale == 1 || scale == 2 || scale == 4, "RRDBNet: scale must be 1, 2 or 4, got ", scale);
  check_size_options("RRDBNet", {{"num_in_ch", num_in_ch, 1}, {"num_out_ch", num_out_ch, 1}, {"num_feat", nf, 1},
                                 {"num_block", nb, 0}, {"num_grow_ch", gc, 1}});
  // Unshuffling by r multiplies the input channels by r^2.
  const int64_t in = scale == 2 ? num_in_ch * 4 : scale == 1 ? num_in_ch * 16 : num_in_ch;
  conv_first = register_module("conv_first", std::make_shared<Conv2d>(in, nf, 3, 1, 1, true, options));
  body = register_module("body", std::make_shared<Sequential>());
  for (int64_t i = 0; i < nb; ++i) body->push_back(std::make_shared<RRDB>(nf, gc, options));
  conv_body = register_module("conv_body", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  conv_up1 = register_module("conv_up1", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  conv_up2 = register_module("conv_up2", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  conv_hr = register_module("conv_hr", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  conv_last = register_module("conv_last", std::make_shared<Conv2d>(nf, num_out_ch, 3, 1, 1, true, options));
}

Tensor RRDBNet::trunk(const Tensor& feat) {
  // The fused RRDBs in one RdbLink chain: each dense block but the last leaves the next its
  // packed twin with x already in it (where the blocks keep twins).
  RdbLink link;
  Tensor h = feat;
  for (size_t i = 0; i < body->size(); ++i) {
    auto* rrdb = dynamic_cast<RRDB*>(&(*body)[i]);
    if (!rrdb || rrdb->options.kernels.rdb != kernels::RdbImpl::fused) {
      h = (*body)[i].forward(h);
      link = RdbLink{};
      continue;
    }
    link.leave_next = i + 1 < body->size();
    h = rrdb->forward_fused(h, &link);
  }
  return h;
}

Tensor RRDBNet::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "RRDBNet: input must be NCHW, got ",
           x.defined() ? x.shape().str() : "undefined");
  const int r = unshuffle_factor();
  SR_CHECK(x.size(2) % r == 0 && x.size(3) % r == 0, "RRDBNet (scale ", scale,
           "): input height and width must be multiples of ", r, ", got ", x.shape().str());
  Tensor feat = r > 1 ? pixel_unshuffle(x, r) : x;
  feat = conv_first->forward(feat);
  feat = add(feat, conv_body->forward(trunk(feat)));
  // conv_up(upsample_nearest(feat, 2)) with the upsampling folded into the convolution.
  feat = conv_up1->forward_upsample_nearest2x_leaky_relu(feat, kSlope);
  feat = conv_up2->forward_upsample_nearest2x_leaky_relu(feat, kSlope);
  return conv_last->forward(conv_hr->forward_leaky_relu(feat, kSlope));
}

}  // namespace sr
