// Adam/AdamW and EMA: state handling here, the arithmetic in the multi-tensor kernels
// (kernels/cpu/optimizer.h and its CUDA twin), one call over all parameters.
#include "train/optimizer.h"

#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "engine/cuda_graph.h"
#include "engine/cuda_runtime.h"
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

namespace {
std::atomic<bool> g_reuse_without_wait{false};
}  // namespace

void set_lr_ring_reuse_without_wait(bool on) { g_reuse_without_wait.store(on); }

// The host side of the rate's ring (optimizer.h): slot k's value goes up by a copy queued
// from slots[k], and slot k's StreamMark is set in the stream after that copy (set[k]; its
// done() and wait() are done[k] and wait[k]). A slot is rewritten only when its mark is
// done, so a copy still queued always reads the value it was queued with.
struct Adam::Ring {
  Tensor slots;  // float64 [kLrSlots] on the host, page-locked for a GPU
  std::array<std::function<void()>, kLrSlots> set, wait;
  std::array<std::function<bool()>, kLrSlots> done;
  size_t next = 0;  // the slot the next staged rate goes to
};

namespace {
constexpr int64_t kAdamStepFloats = sizeof(AdamStep) / sizeof(float);
static_assert(sizeof(AdamStep) % sizeof(float) == 0, "AdamStep must be whole floats");

// The gate's device value as a pointer for the kernels, after checking it.
const float* gate_pointer(const Tensor& gate, Device device, const char* who) {
  SR_CHECK(gate.numel() == 1 && gate.dtype() == DType::f32 && gate.device() == device, who,
           ": the gate must be one float32 element on ", device.str(), ", got ", gate.str());
  return gate.data<float>();
}
}  // namespace

Adam::Adam(NamedTensors params, AdamOptions options)
    : params_(std::move(params)), options_(options),
      device_(params_.empty() ? Device::cpu() : params_.front().second.device()) {
  step_ = Tensor::zeros({1}, DType::f64, device_);
  lr_ = Tensor::zeros({1}, DType::f64, device_);
  if (!device_.is_cpu()) {
    ring_ = std::make_unique<Ring>();
    const int64_t n = (int64_t)kLrSlots;
    ring_->slots = device_.is_cuda() ? Tensor::empty_pinned({n}, DType::f64, device_.index) : Tensor::empty({n}, DType::f64);
    for (size_t k = 0; k < kLrSlots; ++k) {
      SR_ON_DEVICE(device_, {
        auto mark = std::make_shared<cuda::StreamMark>();
        ring_->set[k] = [mark] { mark->set(); };
        ring_->wait[k] = [mark] { mark->wait(); };
        ring_->done[k] = [mark] { return mark->done(); };
      });
    }
  }
  scalars_ = Tensor::zeros({kAdamStepFloats}, DType::f32, device_);
  open_ = Tensor::zeros({1}, DType::f32, device_);
  for (auto& [name, p] : params_) {
    SR_CHECK(p.is_contiguous(),
             "Adam: parameter ", name, " must be a contiguous tensor, got ", p.str());
    m_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype(), p.device()));
  }
}

void Adam::step(const Tensor& gate_in) {
  const Tensor& gate = gate_in.defined() ? gate_in : open_;
  AdamConfig c;
  c.lr = options_.lr;
  c.beta1 = options_.beta1;
  c.beta2 = options_.beta2;
  c.eps = options_.eps;
  c.weight_decay = options_.weight_decay;
  c.decoupled = options_.decoupled_weight_decay;
  // The learning rate is read from device memory (not a kernel argument); a captured step
  // reads what the caller stages before each replay.
  if (!stream_capturing(device_)) stage_lr();
  const float* g_ptr = gate_pointer(gate, device_, "Adam step");
  auto* s_ptr = reinterpret_cast<AdamStep*>(scalars_.data<float>());
  if (device_.is_cpu()) {
    *s_ptr = adam_step_gated(c, lr_.data<double>()[0], *g_ptr, step_.data<double>()[0]);
  } else {
    SR_ON_DEVICE(device_, cuda::adam_step_gated(c, lr_.data<double>(), g_ptr, step_.data<double>(), s_ptr));
  }
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
    SR_CHECK(device == device_, "Adam: parameter ", params_[k].first, " is on ", device.str(), ", the first on ",
             device_.str());
    if (grad.defined()) keep.push_back(grad.contiguous());
    p.push_back(param.data<float>());
    g.push_back(grad.defined() ? keep.back().data<float>() : nullptr);
    m.push_back(m_[k].data<float>());
    v.push_back(v_[k].data<float>());
    n.push_back(param.numel());
  }
  if (p.empty()) return;
  if (!device.is_cpu()) {
    const AdamStep* s_dev = s_ptr;
    SR_ON_DEVICE(device, cuda::adam_update(s_dev, p.data(), g.data(), m.data(), v.data(), n.data(), (int)p.size()));
  } else {
    cpu::adam_update(*s_ptr, p.data(), g.data(), m.data(), v.data(), n.data(), (int)p.size());
  }
}

Adam::~Adam() = default;

void Adam::stage_lr() {
  SR_CHECK(!stream_capturing(device_), "Adam: stage_lr inside a stream capture on ", device_.str(),
           " (the graph would replay this rate, ", options_.lr, "); stage before each replay instead");
  if (staged_ && staged_lr_ == options_.lr) return;  // lr_ holds it, or will once the queued copies run
  staged_ = true;
  staged_lr_ = options_.lr;
  if (!ring_) {  // the CPU: nothing is queued, the step reads lr_ now
    lr_.data<double>()[0] = options_.lr;
    return;
  }
  Ring& r = *ring_;
  const size_t k = r.next;
  r.next = (k + 1) % kLrSlots;
  // The slot's last copy, kLrSlots rate changes ago, must have run before the host
  // overwrites its value: wait only when it has not.
  if (!r.done[k]() && !g_reuse_without_wait.load()) r.wait[k]();
  Tensor slot = r.slots.narrow(0, (int64_t)k, 1);
  slot.data<double>()[0] = options_.lr;
  lr_.copy_(slot);  // stream order: every step queued after this reads this rate
  r.set[k]();
}

int64_t Adam::steps() const { return (int64_t)step_.item(); }

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
  step_.fill_((double)steps);
}

void ema_update(NamedTensors& ema, const NamedTensors& params, double decay, const Tensor& gate) {
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
  const float* g = gate.defined() ? gate_pointer(gate, device, "EMA") : nullptr;
  if (!device.is_cpu()) {
    SR_ON_DEVICE(device, cuda::ema_update(decay, e.data(), p.data(), n.data(), (int)e.size(), g));
  } else {
    cpu::ema_update(decay, e.data(), p.data(), n.data(), (int)e.size(), g);
  }
}

}  // namespace sr::train
