// SRVGGNetCompact (Real-ESRGAN's compact net for mobile / real-time use), with its keys:
// body.0 conv (in -> nf), body.1 act, then num_conv x (conv nf -> nf, act), and the last
// conv body.{2*num_conv+2} (nf -> out * upscale^2); all 3x3 with bias.
//   out = pixel_shuffle(body(x), upscale) + nearest_upsample(x, upscale)
// act_type: prelu (one slope per channel, "body.{odd}.weight"), relu, or leakyrelu
// (slope 0.1, as Real-ESRGAN). upscale 2, 3 or 4 (pixel_shuffle's factors); the residual
// add needs num_out_ch == num_in_ch.
#pragma once
#include <memory>
#include <string>

#include "layers/layer_options.h"
#include "layers/sequential.h"

namespace sr {

class SRVGGNetCompact : public Module {
 public:
  SRVGGNetCompact(int64_t num_in_ch = 3, int64_t num_out_ch = 3, int64_t num_feat = 64, int64_t num_conv = 16,
                  int upscale = 4, const std::string& act_type = "prelu", const LayerOptions& options = {});
  std::string type_name() const override { return "SRVGGNetCompact"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return upscale; }

  int upscale;
  std::shared_ptr<Sequential> body;
};

}  // namespace sr
