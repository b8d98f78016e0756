// Adam/AdamW and EMA: state handling here, the arithmetic in the multi-tensor kernels
// (kernels/cpu/optimizer.h and its CUDA twin), one call over all parameters.
#include "train/optimizer.h"

#include <cmath>
#include <vector>

#include "engine/dispatch.h"
#include "engine/error.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cuda/optimizer.h"

namespace sr::train {

AdamOptions AdamOptions::from_config(const OptimizerConfig& o) {
  AdamOptions a;
  a.decoupled_weight_decay = o.type == "AdamW";
  a.lr = o.lr;
  a.beta1 = o.beta1;
  a.beta2 = o.beta2;
  a.eps = o.eps;
  a.weight_decay = o.weight_decay;
  return a;
}

Adam::Adam(NamedTensors params, AdamOptions options) : params_(std::move(params)), options_(options) {
  for (auto& [name, p] : params_) {
    SR_CHECK(p.is_contiguous(),
             "Adam: parameter ", name, " must be a contiguous tensor, got ", p.str());
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

void Adam::step() {
  ++step_;
  cpu::AdamConfig c;
  c.lr = options_.lr;
  c.beta1 = options_.beta1;
  c.beta2 = options_.beta2;
  c.eps = options_.eps;
  c.weight_decay = options_.weight_decay;
  c.decoupled = options_.decoupled_weight_decay;
  const cpu::AdamStep scalars = cpu::adam_step_scalars(c, step_);
  // All parameters of one device in one multi-tensor call; a parameter without a
  // gradient is skipped (null gradient pointer), as torch does.
  std::vector<float*> p, m, v;
  std::vector<const float*> g;
  std::vector<int64_t> n;
  std::vector<Tensor> keep;  // contiguous gradient copies live until the call returns
  Device device = Device::cpu();
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& param = params_[k].second;
    Tensor grad = param.grad();
    SR_CHECK(param.dtype() == DType::f32, "Adam: parameter ", params_[k].first, " must be float32, got ", param.str());
    device = param.device();
    if (grad.defined()) keep.push_back(grad.contiguous());
    p.push_back(param.data<float>());
    g.push_back(grad.defined() ? keep.back().data<float>() : nullptr);
    m.push_back(m_[k].data<float>());
    v.push_back(v_[k].data<float>());
    n.push_back(param.numel());
  }
  if (p.empty()) return;
  if (!device.is_cpu()) {
    SR_ON_DEVICE(device, cuda::adam_update(scalars, p.data(), g.data(), m.data(), v.data(), n.data(), (int)p.size()));
  } else {
    cpu::adam_update(scalars, p.data(), g.data(), m.data(), v.data(), n.data(), (int)p.size());
  }
}

void Adam::zero_grad() {
  for (auto& [_, p] : params_) p.zero_grad();
}

NamedTensors Adam::state(const std::string& prefix) const {
  NamedTensors out;
  for (size_t k = 0; k < params_.size(); ++k) {
    out.push_back({prefix + "m." + params_[k].first, m_[k]});
    out.push_back({prefix + "v." + params_[k].first, v_[k]});
  }
  return out;
}

void Adam::load_state(const SafetensorsFile& file, const std::string& prefix, int64_t steps) {
  for (size_t k = 0; k < params_.size(); ++k) {
    for (auto [tag, dst] : {std::pair<const char*, Tensor*>{"m.", &m_[k]}, {"v.", &v_[k]}}) {
      const Tensor& src = file.get(prefix + tag + params_[k].first);
      SR_CHECK(src.shape() == dst->shape(), "optimizer state: '", prefix, tag, params_[k].first, "' in ",
               file.source, " has shape ", src.shape().str(), ", expected ", dst->shape().str());
      dst->copy_(src);
    }
  }
  step_ = steps;
}

void ema_update(NamedTensors& ema, const NamedTensors& params, double decay) {
  SR_CHECK(ema.size() == params.size(), "EMA: ", ema.size(), " EMA tensors for ", params.size(), " parameters");
  std::vector<float*> e;
  std::vector<const float*> p;
  std::vector<int64_t> n;
  for (size_t k = 0; k < ema.size(); ++k) {
    Tensor& et = ema[k].second;
    const Tensor& pt = params[k].second;
    SR_CHECK(et.shape() == pt.shape() && et.device() == pt.device() && et.dtype() == DType::f32 &&
                 pt.dtype() == DType::f32 && et.is_contiguous() && pt.is_contiguous(),
             "EMA: '", ema[k].first, "' is ", et.str(), " but the parameter is ", pt.str());
    e.push_back(et.data<float>());
    p.push_back(pt.data<float>());
    n.push_back(et.numel());
  }
  if (e.empty()) return;
  const Device device = ema[0].second.device();
  if (!device.is_cpu()) {
    SR_ON_DEVICE(device, cuda::ema_update(decay, e.data(), p.data(), n.data(), (int)e.size()));
  } else {
    cpu::ema_update(decay, e.data(), p.data(), n.data(), (int)e.size());
  }
}

}  // namespace sr::train
