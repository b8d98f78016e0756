// Dynamic loss scaling (see loss_scaler.h): the state on the device, the arithmetic in the
// optimizer kernels (kernels/cpu/optimizer.h and its CUDA twin).
#include "train/loss_scaler.h"

#include <cmath>

#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cuda/optimizer.h"

namespace sr::train {

namespace {

constexpr int64_t kStateDoubles = sizeof(LossScaleState) / sizeof(double);
static_assert(sizeof(LossScaleState) % sizeof(double) == 0, "LossScaleState must be whole doubles");

LossScaleRule rule_of(const LossScaleConfig& c) {
  return LossScaleRule{c.growth_factor, c.backoff_factor, c.growth_interval};
}

}  // namespace

LossScaler::LossScaler(const LossScaleConfig& config, Device device) : config_(config), device_(device) {
  SR_CHECK(std::isfinite(config.init) && config.init > 0, "train.loss_scale.init must be a positive finite number, got ",
           config.init);
  SR_CHECK(config.growth_factor >= 1, "train.loss_scale.growth_factor must be >= 1, got ", config.growth_factor);
  SR_CHECK(config.backoff_factor > 0 && config.backoff_factor < 1,
           "train.loss_scale.backoff_factor must be in (0, 1), got ", config.backoff_factor);
  SR_CHECK(config.growth_interval >= 1, "train.loss_scale.growth_interval must be >= 1, got ", config.growth_interval);
  state_ = Tensor::zeros({kStateDoubles}, DType::f64, device_);
  scale_f32_ = Tensor::zeros({1}, DType::f32, device_);
  load_state(LossScalerState{config.init, 0, 0});
}

LossScalerState LossScaler::state() const {
  const std::vector<double> v = state_.to_vector();  // the one host read
  return LossScalerState{v[0], (int64_t)v[2], (int64_t)v[3]};
}

void LossScaler::load_state(const LossScalerState& s) {
  SR_CHECK(std::isfinite(s.scale) && s.scale > 0, "loss scaler state: scale must be a positive finite number, got ",
           s.scale);
  SR_CHECK(s.good_steps >= 0 && s.good_steps < config_.growth_interval, "loss scaler state: good_steps ", s.good_steps,
           " is outside [0, growth_interval ", config_.growth_interval, ")");
  SR_CHECK(s.skipped >= 0, "loss scaler state: skipped must be >= 0, got ", s.skipped);
  const LossScaleState d{s.scale, 1.0 / s.scale, (double)s.good_steps, (double)s.skipped};
  state_.copy_(Tensor::from_vector(std::vector<double>{d.scale, d.inv_scale, d.good_steps, d.skipped},
                                   {kStateDoubles}, DType::f64));
  scale_f32_.fill_((double)(float)s.scale);
}

Tensor LossScaler::scale_loss(const Tensor& loss) const {
  SR_CHECK(loss.dtype() == DType::f32 && loss.device() == device_ && loss.numel() == 1,
           "loss scaling: the loss must be one float32 element on ", device_.str(), ", got ", loss.str());
  return mul(loss, scale_f32_.reshape(loss.shape()));
}

Tensor LossScaler::unscale(const std::vector<Tensor>& grads) const {
  std::vector<float*> g;
  std::vector<int64_t> n;
  for (const Tensor& t : grads) {
    if (!t.defined()) continue;  // a frozen parameter
    SR_CHECK(t.dtype() == DType::f32 && t.device() == device_ && t.is_contiguous(),
             "loss scaling: a gradient must be a contiguous float32 tensor on ", device_.str(), ", got ", t.str());
    g.push_back(t.data<float>());
    n.push_back(t.numel());
  }
  Tensor found = Tensor::zeros({1}, DType::f32, device_);
  if (g.empty()) return found;
  const auto* s = reinterpret_cast<const LossScaleState*>(state_.data<double>());
  if (device_.is_cpu())
    cpu::loss_unscale(*s, g.data(), n.data(), (int)g.size(), found.data<float>());
  else
    SR_ON_DEVICE(device_, cuda::loss_unscale(s, g.data(), n.data(), (int)g.size(), found.data<float>()));
  return found;
}

bool LossScaler::unscale_and_check(const std::vector<Tensor>& grads) const {
  return std::isfinite(unscale(grads).item());
}

void LossScaler::update(const Tensor& found) {
  SR_CHECK(found.numel() == 1 && found.dtype() == DType::f32 && found.device() == device_,
           "loss scaling: the overflow flag must be one float32 element on ", device_.str(), ", got ", found.str());
  auto* s = reinterpret_cast<LossScaleState*>(state_.data<double>());
  if (device_.is_cpu()) {
    loss_scale_update(rule_of(config_), found.data<float>()[0], *s);
    scale_f32_.data<float>()[0] = (float)s->scale;
  } else {
    SR_ON_DEVICE(device_,
                 cuda::loss_scale_update(rule_of(config_), found.data<float>(), s, scale_f32_.data<float>()));
  }
}

void LossScaler::update(bool found_inf) {
  update(Tensor::full({1}, found_inf ? NAN : 0.0, DType::f32, device_));
}

}  // namespace sr::train
