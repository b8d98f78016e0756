// BasicSR's ResidualBlockNoBN, the block of EDSR and MSRResNet:
//   y = x + res_scale * conv2(relu(conv1(x))),  both convs nf -> nf 3x3 with bias,
// initialised as BasicSR's default_init_weights(scale 0.1) (kaiming normal x 0.1, zero bias), so
// that each block starts near the identity. State-dict keys conv1.*, conv2.*.
#pragma once
#include <memory>

#include "layers/conv2d.h"
#include "layers/layer_options.h"

namespace sr {

class ResidualBlockNoBN : public Module {
 public:
  ResidualBlockNoBN(int64_t num_feat, double res_scale, const LayerOptions& options = {});
  std::string type_name() const override { return "ResidualBlockNoBN"; }
  Tensor forward(const Tensor& x) override;

  double res_scale;
  std::shared_ptr<Conv2d> conv1, conv2;
};

}  // namespace sr
