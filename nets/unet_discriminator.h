// UNetDiscriminatorSN (Real-ESRGAN / BasicSR): a U-Net of spectral-normalised convs that
// returns one logit per pixel (N, 1, H, W). Keys: conv0.{weight,bias},
// conv{1..8}.{weight_orig,weight_u,weight_v}, conv9.{weight,bias}.
//   x0 = lrelu(conv0(x))                  3x3, bias
//   x1..x3 = lrelu(conv_k(x_{k-1}))        4x4 stride 2, SN, no bias (H/2, H/4, H/8)
//   x4 = lrelu(conv4(up(x3))) [+ x2]       up = bilinear x2 (align_corners=False), 3x3 SN
//   x5 = lrelu(conv5(up(x4))) [+ x1]
//   x6 = lrelu(conv6(up(x5))) [+ x0]       [+ ...] only with skip_connection
//   out = conv9(lrelu(conv8(lrelu(conv7(x6)))))
// Input sides must be multiples of 8 (the skips must line up); other sizes are an error.
// nf 64: 4,376,897 parameters. LeakyReLU 0.2.
#pragma once
#include <memory>

#include "layers/conv2d.h"
#include "layers/spectral_norm_conv.h"

namespace sr {

class UNetDiscriminatorSN : public Module {
 public:
  explicit UNetDiscriminatorSN(int64_t num_in_ch, int64_t num_feat = 64, bool skip_connection = true,
                               const LayerOptions& options = {});
  std::string type_name() const override { return "UNetDiscriminatorSN"; }
  Tensor forward(const Tensor& x) override;

  bool skip_connection;
  std::shared_ptr<Conv2d> conv0, conv9;
  std::shared_ptr<SpectralNormConv2d> conv1, conv2, conv3, conv4, conv5, conv6, conv7, conv8;
};

}  // namespace sr
