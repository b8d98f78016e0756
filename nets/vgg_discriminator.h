// VGGStyleDiscriminator (BasicSR, ESRGAN's discriminator): one logit per image.
//   conv0_0 3x3 (bias) + lrelu; conv0_1 4x4/2 + bn0_1 + lrelu
//   stage k = 1..4 (and 5 when input_size is 256): convk_0 3x3 + bnk_0 + lrelu,
//   convk_1 4x4/2 + bnk_1 + lrelu; channels nf -> 2nf -> 4nf -> 8nf -> 8nf (-> 8nf)
//   flatten (8nf x 4 x 4) -> linear1 (100) -> lrelu -> linear2 (1)
// Convs after conv0_0 have no bias; BatchNorm2d in whatever mode the module is in
// (BasicSR trains it in train mode throughout). LeakyReLU 0.2. The input must be exactly
// input_size x input_size (128 or 256): other sizes are an error.
#pragma once
#include <memory>
#include <vector>

#include "layers/batch_norm.h"
#include "layers/conv2d.h"

namespace sr {

class VGGStyleDiscriminator : public Module {
 public:
  VGGStyleDiscriminator(int64_t num_in_ch, int64_t num_feat, int input_size = 128, const LayerOptions& options = {});
  std::string type_name() const override { return "VGGStyleDiscriminator"; }
  Tensor forward(const Tensor& x) override;

  int input_size;
  // Stage convs and norms in forward order: (conv0_0, none), (conv0_1, bn0_1), (conv1_0, bn1_0), ...
  std::vector<std::pair<std::shared_ptr<Conv2d>, std::shared_ptr<BatchNorm2d>>> stages;
  std::shared_ptr<Linear> linear1, linear2;
};

}  // namespace sr
