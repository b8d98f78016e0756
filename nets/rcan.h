// RCAN (Zhang et al. 2018, "Image Super-Resolution Using Very Deep Residual Channel Attention
// Networks"), BasicSR's RCAN generator with its constructor, defaults and state-dict keys:
//   x    = (x - rgb_mean) * img_range                (the mean is a constant, not a state-dict key)
//   feat = conv_first(x);  res = conv_after_body(body(feat)) + feat
//   out  = conv_last(upsample(res)) / img_range + rgb_mean
//   body: num_group x ResidualGroup:  y = x + conv(residual_group(x)),  residual_group = num_block x RCAB
//   RCAB: y = x + res_scale * CA(conv(relu(conv(x))))           keys rcab.0, rcab.2, rcab.3.attention.{1,3}
//   CA (channel attention): y = x * sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2), W1: nf -> nf / squeeze
//       and W2: nf / squeeze -> nf as 1x1 convs (BasicSR's AdaptiveAvgPool2d(1), Conv2d, ReLU,
//       Conv2d, Sigmoid)
//   the mean shift and upsample are EDSR's (layers/mean_shift.h, layers/pixel_shuffle_upsample.h)
// mean_hw and the product with the channel weights are the ops spatial_mean and channel_scale
// (engine/ops.h), which keep no (N, C, H, W) broadcast map for the backward. num_feat 64, num_group 10, num_block 20, x4: 15,592,355
// parameters (BasicSR's RCAN_BIX4 options); with the constructor's num_block 16: 12,614,915.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/conv2d.h"
#include "layers/mean_shift.h"
#include "layers/pixel_shuffle_upsample.h"
#include "layers/sequential.h"

namespace sr {

class ChannelAttention : public Module {
 public:
  ChannelAttention(int64_t num_feat, int64_t squeeze_factor, const LayerOptions& options = {});
  std::string type_name() const override { return "ChannelAttention"; }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Sequential> attention;  // "1": conv nf -> nf/s, "3": conv nf/s -> nf (1x1)
};

class RCAB : public Module {
 public:
  RCAB(int64_t num_feat, int64_t squeeze_factor, double res_scale, const LayerOptions& options = {});
  std::string type_name() const override { return "RCAB"; }
  Tensor forward(const Tensor& x) override;

  double res_scale;
  std::shared_ptr<Sequential> rcab;  // "0": conv, "2": conv, "3": ChannelAttention
};

class ResidualGroup : public Module {
 public:
  ResidualGroup(int64_t num_feat, int64_t num_block, int64_t squeeze_factor, double res_scale,
                const LayerOptions& options = {});
  std::string type_name() const override { return "ResidualGroup"; }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<Sequential> residual_group;  // num_block x RCAB
  std::shared_ptr<Conv2d> conv;
};

class RCAN : public Module {
 public:
  RCAN(int64_t num_in_ch, int64_t num_out_ch, int64_t num_feat = 64, int64_t num_group = 10, int64_t num_block = 16,
       int64_t squeeze_factor = 16, int upscale = 4, double res_scale = 1.0, double img_range = 255.0,
       std::vector<double> rgb_mean = {0.4488, 0.4371, 0.4040}, const LayerOptions& options = {});
  std::string type_name() const override { return "RCAN"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return upscale; }
  std::string why_tiles_differ() const override { return "pools over its whole input (channel attention)"; }
  const RgbMeanShift& mean_shift() const { return shift_; }

  int upscale;
  std::shared_ptr<Conv2d> conv_first;
  std::shared_ptr<Sequential> body;  // num_group x ResidualGroup
  std::shared_ptr<Conv2d> conv_after_body;
  std::shared_ptr<PixelShuffleUpsample> upsample;  // upsample.0, upsample.2, ..
  std::shared_ptr<Conv2d> conv_last;

 private:
  RgbMeanShift shift_;
};

}  // namespace sr
