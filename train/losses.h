// Training losses with BasicSR's semantics: pixel losses (L1 / MSE / Charbonnier, mean
// reduction, times loss_weight) and GANLoss (hinge / vanilla / lsgan) where loss_weight
// applies to the generator's term only and D losses are unweighted.
#pragma once
#include "train/config_types.h"
#include <string>

#include "engine/tensor.h"

namespace sr::train {

class PixelLoss {
 public:
  explicit PixelLoss(const PixelLossConfig& opt);
  Tensor operator()(const Tensor& pred, const Tensor& target) const;
  double weight() const { return weight_; }

 private:
  std::string type_;
  double weight_, eps_;
};

class GanLoss {
 public:
  explicit GanLoss(const GanLossConfig& opt);
  // D's loss on real (target_is_real) or fake logits, or (is_disc = false) G's adversarial
  // term on D(fake): hinge gives -mean(x), the others the loss with the real label.
  Tensor operator()(const Tensor& logits, bool target_is_real, bool is_disc) const;
  const std::string& type() const { return type_; }

 private:
  std::string type_;
  double real_label_, fake_label_, weight_;
};

}  // namespace sr::train
