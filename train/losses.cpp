// Pixel and GAN losses (see losses.h).
#include "train/losses.h"

#include "engine/ops.h"

namespace sr::train {

PixelLoss::PixelLoss(const PixelLossConfig& opt) : type_(opt.type), weight_(opt.loss_weight), eps_(opt.eps) {}

Tensor PixelLoss::operator()(const Tensor& pred, const Tensor& target) const {
  Tensor l;
  if (type_ == "L1Loss")
    l = l1_loss(pred, target);
  else if (type_ == "MSELoss")
    l = mse_loss(pred, target);
  else if (type_ == "CharbonnierLoss")
    l = charbonnier_loss(pred, target, eps_);
  else
    fail("pixel_opt.type: unknown loss '", type_, "'");
  return weight_ == 1.0 ? l : scale(l, weight_);
}

GanLoss::GanLoss(const GanLossConfig& opt)
    : type_(opt.gan_type), real_label_(opt.real_label_val), fake_label_(opt.fake_label_val), weight_(opt.loss_weight) {}

Tensor GanLoss::operator()(const Tensor& x, bool target_is_real, bool is_disc) const {
  Tensor l;
  if (type_ == "hinge") {
    if (is_disc)
      l = target_is_real ? hinge_real_loss(x) : hinge_fake_loss(x);
    else
      l = hinge_generator_loss(x);
  } else {
    const double label = target_is_real ? real_label_ : fake_label_;
    if (type_ == "vanilla") {
      l = bce_with_logits(x, label);
    } else if (type_ == "lsgan") {
      l = mse_loss(x, Tensor::full(x.shape(), label, x.dtype(), x.device()));
    } else {
      fail("gan_opt.gan_type: unknown type '", type_, "'");
    }
  }
  return is_disc || weight_ == 1.0 ? l : scale(l, weight_);
}

}  // namespace sr::train
