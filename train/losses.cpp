// Pixel and GAN losses (see losses.h).
#include "train/losses.h"

#include "engine/ops.h"

namespace sr::train {

PixelLoss::PixelLoss(const nlohmann::json& opt)
    : type_(opt.value("type", std::string("L1Loss"))),
      weight_(opt.value("loss_weight", 1.0)),
      eps_(opt.value("eps", 1e-12)) {}

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

GanLoss::GanLoss(const nlohmann::json& opt)
    : type_(opt.value("gan_type", std::string("hinge"))),
      real_label_(opt.value("real_label_val", 1.0)),
      fake_label_(opt.value("fake_label_val", 0.0)),
      weight_(opt.value("loss_weight", 0.1)) {}

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
