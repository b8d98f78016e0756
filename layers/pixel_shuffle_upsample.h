// BasicSR's Upsample (archs/arch_util.py), the head of EDSR and RCAN: for a scale 2^n, n steps
// [conv nf -> 4 nf 3x3, pixel_shuffle(2)]; for 3, one step [conv nf -> 9 nf, pixel_shuffle(3)].
// A Sequential of the convs named 0, 2, .. as in BasicSR's nn.Sequential of [conv, PixelShuffle]
// pairs (the shuffles hold no weights), so the state-dict keys are upsample.0, upsample.2, ..
#pragma once
#include <string>
#include <vector>

#include "layers/conv2d.h"
#include "layers/sequential.h"

namespace sr {

class PixelShuffleUpsample : public Sequential {
 public:
  // upscale 2, 3, 4 or 8; `net` names the network in errors.
  PixelShuffleUpsample(int64_t num_feat, int upscale, const std::string& net, const LayerOptions& options = {});
  std::string type_name() const override { return "Upsample"; }
  Tensor forward(const Tensor& x) override;
  // The pixel-shuffle factor of each step, in order: {3} for x3, else 2 per octave.
  const std::vector<int>& factors() const { return factors_; }

 private:
  std::vector<int> factors_;
};

}  // namespace sr
