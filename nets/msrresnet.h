// MSRResNet (BasicSR's modified SRResNet, Wang et al. 2018's "SRResNet without BN"), with
// BasicSR's constructor, defaults and state-dict keys: conv_first, body.{i}.conv{1,2}
// (ResidualBlockNoBN, res_scale 1), upconv1 (and upconv2 at x4), conv_hr, conv_last.
//   feat = lrelu(conv_first(x));  out = body(feat)            (no long skip)
//   x2, x3: out = lrelu(pixel_shuffle(upconv1(out), r))       (upconv1: nf -> r^2 nf)
//   x4:     out = lrelu(pixel_shuffle(upconv1(out), 2)); out = lrelu(pixel_shuffle(upconv2(out), 2))
//   out = conv_last(lrelu(conv_hr(out))) + upsample_bilinear(x, upscale)   (align_corners=false)
// lrelu has slope 0.1; as it acts per element it runs before the shuffle, fused into the conv.
// conv_first, upconv*, conv_hr and conv_last start at kaiming normal x 0.1 with zero bias, as
// BasicSR's default_init_weights(scale 0.1). The residual add needs num_out_ch == num_in_ch.
// nf 64, nb 16, x4: 1,517,571 parameters (001_MSRResNet_x4_f64b16's shape).
#pragma once
#include <memory>

#include "layers/conv2d.h"
#include "layers/sequential.h"

namespace sr {

class MSRResNet : public Module {
 public:
  MSRResNet(int64_t num_in_ch = 3, int64_t num_out_ch = 3, int64_t num_feat = 64, int64_t num_block = 16,
            int upscale = 4, const LayerOptions& options = {});
  std::string type_name() const override { return "MSRResNet"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return upscale; }

  int upscale;
  std::shared_ptr<Conv2d> conv_first;
  std::shared_ptr<Sequential> body;  // num_block x ResidualBlockNoBN
  std::shared_ptr<Conv2d> upconv1, upconv2;  // upconv2 at x4 only
  std::shared_ptr<Conv2d> conv_hr, conv_last;
};

}  // namespace sr
