// EDSR (Lim et al. 2017, "Enhanced Deep Residual Networks"), BasicSR's EDSR generator with its
// constructor, defaults and state-dict keys: conv_first, body.{i}.conv{1,2} (ResidualBlockNoBN),
// conv_after_body, upsample.{0,2,..} (the convs between the pixel shuffles), conv_last.
//   x    = (x - rgb_mean) * img_range                (the mean is a constant, not a state-dict key)
//   feat = conv_first(x);  res = conv_after_body(body(feat)) + feat
//   out  = conv_last(upsample(res)) / img_range + rgb_mean
//   ResidualBlockNoBN: y = x + res_scale * conv2(relu(conv1(x)))
//   upsample x2^n: n x [conv nf -> 4 nf, pixel_shuffle(2)];  x3: [conv nf -> 9 nf, pixel_shuffle(3)]
// upscale 2, 3, 4 or 8 (BasicSR's Upsample takes 2^n and 3). num_out_ch and num_in_ch must equal
// the length of rgb_mean (the mean is subtracted from the input and added to the output).
// nf 64, nb 16, x4: 1,517,571 parameters (EDSR_Mx4_f64b16_DIV2K_official's shape).
#pragma once
#include <memory>
#include <vector>

#include "layers/conv2d.h"
#include "layers/mean_shift.h"
#include "layers/pixel_shuffle_upsample.h"
#include "layers/residual_block_no_bn.h"
#include "layers/sequential.h"

namespace sr {

class EDSR : public Module {
 public:
  EDSR(int64_t num_in_ch, int64_t num_out_ch, int64_t num_feat = 64, int64_t num_block = 16, int upscale = 4,
       double res_scale = 1.0, double img_range = 255.0, std::vector<double> rgb_mean = {0.4488, 0.4371, 0.4040},
       const LayerOptions& options = {});
  std::string type_name() const override { return "EDSR"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return upscale; }
  // The pixel-shuffle factors of the upsample stages, in order: {3} for x3, else 2 per octave.
  const std::vector<int>& shuffle_factors() const { return upsample->factors(); }
  const RgbMeanShift& mean_shift() const { return shift_; }

  int upscale;
  std::shared_ptr<Conv2d> conv_first;
  std::shared_ptr<Sequential> body;      // num_block x ResidualBlockNoBN
  std::shared_ptr<Conv2d> conv_after_body;
  std::shared_ptr<PixelShuffleUpsample> upsample;  // upsample.0, upsample.2, ..
  std::shared_ptr<Conv2d> conv_last;

 private:
  RgbMeanShift shift_;
};

}  // namespace sr
