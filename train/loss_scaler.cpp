// Dynamic loss scaling (see loss_scaler.h).
#include "train/loss_scaler.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"

namespace sr::train {

LossScaler::LossScaler(const LossScaleConfig& config) : config_(config) {
  SR_CHECK(std::isfinite(config.init) && config.init > 0, "train.loss_scale.init must be a positive finite number, got ",
           config.init);
  SR_CHECK(config.growth_factor >= 1, "train.loss_scale.growth_factor must be >= 1, got ", config.growth_factor);
  SR_CHECK(config.backoff_factor > 0 && config.backoff_factor < 1,
           "train.loss_scale.backoff_factor must be in (0, 1), got ", config.backoff_factor);
  SR_CHECK(config.growth_interval >= 1, "train.loss_scale.growth_interval must be >= 1, got ", config.growth_interval);
  state_.scale = config.init;
}

void LossScaler::load_state(const LossScalerState& s) {
  SR_CHECK(std::isfinite(s.scale) && s.scale > 0, "loss scaler state: scale must be a positive finite number, got ",
           s.scale);
  SR_CHECK(s.good_steps >= 0 && s.good_steps < config_.growth_interval, "loss scaler state: good_steps ", s.good_steps,
           " is outside [0, growth_interval ", config_.growth_interval, ")");
  SR_CHECK(s.skipped >= 0, "loss scaler state: skipped must be >= 0, got ", s.skipped);
  state_ = s;
}

Tensor LossScaler::scale_loss(const Tensor& loss) const { return sr::scale(loss, state_.scale); }

Tensor LossScaler::unscale(const std::vector<Tensor>& grads) const {
  const double inv = 1.0 / state_.scale;
  Tensor flag;  // sum over the gradients of sum(0 * g): 0, or NaN when any element is inf or NaN
  Device device = Device::cpu();
  for (Tensor g : grads) {
    if (!g.defined()) continue;
    scale_(g, inv);
    const Tensor z = sum(sr::scale(g, 0.0)).reshape({1});
    flag = flag.defined() ? add(flag, z) : z;
    device = g.device();
  }
  return flag.defined() ? flag : Tensor::zeros({1}, DType::f32, device);
}

bool LossScaler::unscale_and_check(const std::vector<Tensor>& grads) const {
  return std::isfinite(unscale(grads).item());
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    state_.scale *= config_.backoff_factor;
    state_.good_steps = 0;
    ++state_.skipped;
    return;
  }
  if (++state_.good_steps >= config_.growth_interval) {
    state_.scale *= config_.growth_factor;
    state_.good_steps = 0;
  }
}

}  // namespace sr::train
