// BasicSR's PerceptualLoss: perceptual_weight * sum_k w_k * crit(phi_k(x), phi_k(gt)),
// phi_k the VGG19 features named in layer_weights (conv = pre-activation), crit L1 / L2
// (means) or 'fro' (unnormalised Frobenius norm); optional Gram-matrix style term.
// The VGG19 ImageNet weights come from a safetensors file the user supplies.
#pragma once
#include <memory>
#include <string>

#include "engine/tensor.h"
#include "layers/layer_options.h"
#include "train/config_types.h"

namespace sr::train {

class PerceptualLoss {
 public:
  // Null when `vgg_weights` is empty (the caller warns and trains without the term); a
  // named file that does not exist is an error naming it. `layers`: the VGG's kernel variants.
  static std::unique_ptr<PerceptualLoss> create(const PerceptualLossConfig& opt, const LayerOptions& layers);
  // What create() would refuse about the weights file (missing, a folder, a FIFO), without
  // reading it: the trainer checks every stage's file before the first iteration.
  static void check_weights_file(const PerceptualLossConfig& opt);
  // The options create() would refuse whatever the weights (an unknown VGG19 layer, no layer,
  // a style weight), so that a run without the weights file, or `config --check`, finds them.
  static void check_options(const PerceptualLossConfig& opt);
  virtual ~PerceptualLoss() = default;
  virtual Tensor operator()(const Tensor& x, const Tensor& gt) = 0;
  virtual void to(Device device) = 0;
};

}  // namespace sr::train
