// RRDBNet, ESRGAN's generator, with BasicSR's constructor, defaults and state-dict keys:
// conv_first, body.{i}.rdb{1,2,3}.conv{1..5}, conv_body, conv_up1, conv_up2, conv_hr,
// conv_last (each .weight and .bias).
//   scale 4: feat = conv_first(x)
//   scale 2 / 1: the input is pixel-unshuffled by 2 / 4 first (so H and W must divide)
//   feat = feat + conv_body(body(feat))
//   feat = lrelu(conv_up1(nearest2x(feat))); feat = lrelu(conv_up2(nearest2x(feat)))
//   out  = conv_last(lrelu(conv_hr(feat)))          (LeakyReLU 0.2, no clamp)
// nf 64, nb 23, gc 32, x4: 16,697,987 parameters in 702 tensors.
#pragma once
#include <memory>

#include "layers/conv2d.h"
#include "layers/rrdb.h"
#include "layers/sequential.h"

namespace sr {

class RRDBNet : public Module {
 public:
  RRDBNet(int64_t num_in_ch, int64_t num_out_ch, int scale = 4, int64_t num_feat = 64,
          int64_t num_block = 23, int64_t num_grow_ch = 32, const LayerOptions& options = {});
  std::string type_name() const override { return "RRDBNet"; }
  Tensor forward(const Tensor& x) override;
  // body(feat), its fused RRDBs chained (engine/ops_rdb.h's RdbLink).
  Tensor trunk(const Tensor& feat);

  // x2 and x1 run on their input pixel-unshuffled by 2 and 4 (BasicSR's RRDBNet), so that the
  // trunk works at a quarter of the output's side whatever the scale: input sides must be
  // multiples of this factor (1 at x4).
  static int unshuffle_factor(int scale) { return scale == 2 ? 2 : scale == 1 ? 4 : 1; }
  int unshuffle_factor() const { return unshuffle_factor(scale); }
  int output_scale() const override { return scale; }
  int input_multiple() const override { return unshuffle_factor(); }

  int scale;
  std::shared_ptr<Conv2d> conv_first;
  std::shared_ptr<Sequential> body;  // num_block x RRDB
  std::shared_ptr<Conv2d> conv_body, conv_up1, conv_up2, conv_hr, conv_last;
};

}  // namespace sr
