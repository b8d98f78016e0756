// One training iteration (see stage_step.h).
#include "train/stage_step.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/autograd.h"
#include "engine/cuda_runtime.h"
#include "engine/ops.h"
#include "layers/random_step.h"
#include "train/realesrgan_stage.h"

namespace sr::train {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
std::vector<Tensor> values(const NamedTensors& named) {
  std::vector<Tensor> out;
  for (const auto& [_, t] : named) out.push_back(t);
  return out;
}
}  // namespace

bool StepResult::skipped() const { return skip_gate.defined() && !std::isfinite(skip_gate.item()); }

void LossWindow::add(const std::map<std::string, Tensor>& losses, const Tensor& skip_gate, int64_t iter) {
  for (const auto& [name, t] : losses) values_[name].push_back({gates_.size(), t});
  gates_.push_back(skip_gate);
  iters_.push_back(iter);
}

namespace {
// The values of one-element tensors on one device: on a GPU gathered there, then one copy
// back (one host wait); on the CPU read directly.
std::vector<double> read_scalars(const std::vector<Tensor>& ts) {
  std::vector<double> v;
  if (ts.empty()) return v;
  if (!ts.front().device().is_cpu()) {
    Tensor all = Tensor::empty({(int64_t)ts.size()}, ts.front().dtype(), ts.front().device());
    for (size_t i = 0; i < ts.size(); ++i) all.narrow(0, (int64_t)i, 1).copy_(ts[i].reshape({1}));
    return all.to_vector();
  }
  for (const Tensor& t : ts) v.push_back(t.item());
  return v;
}
}  // namespace

LossWindow::Taken LossWindow::take() {
  Taken out;
  std::vector<Tensor> gates;
  for (const Tensor& g : gates_)
    if (g.defined()) gates.push_back(g);
  const std::vector<double> gv = read_scalars(gates);
  std::vector<bool> skipped;
  size_t k = 0;
  for (size_t i = 0; i < gates_.size(); ++i) {
    const bool s = gates_[i].defined() && !std::isfinite(gv[k++]);
    skipped.push_back(s);
    out.skipped.push_back({iters_[i], s});
    if (!s) ++out.updates;
  }
  for (const auto& [name, entries] : values_) {
    std::vector<Tensor> ts;
    for (const auto& [i, t] : entries) ts.push_back(t);
    const std::vector<double> v = read_scalars(ts);
    double sum = 0;
    bool any = false;
    for (size_t j = 0; j < v.size(); ++j) {
      if (skipped[entries[j].first]) continue;
      sum += v[j];
      any = true;
    }
    if (any) out.sums[name] = sum;
  }
  values_.clear();
  gates_.clear();
  iters_.clear();
  return out;
}

namespace {

// x - mean(y), elementwise: ESRGAN's relativistic logits. The engine's elementwise ops do
// not broadcast, and reading mean(y) on the host would make the GPU wait, so the shift is
// a linear layer with one input feature, weight 1 and bias -mean(y): differentiable in x
// (gradient g) and in y (gradient -sum(g) / numel(y) for each element).
Tensor minus_mean_of(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  const Tensor one = Tensor::full({1, 1}, 1.0, x.dtype(), x.device());
  const Tensor shifted = linear(reshape(x, {n, 1}), one, reshape(scale(mean(y), -1.0), {1}));
  return reshape(shifted, x.shape());
}

}  // namespace

StageStep::~StageStep() = default;

void check_stage_config(const StageConfig& stage) {
  const std::string& name = stage.name;
  try {
    const LRSchedule sched_g(stage.optim_g.lr, stage.scheduler, stage.warmup_iter);
    if (stage.pixel_opt) const PixelLoss pixel(*stage.pixel_opt);
    if (stage.perceptual_opt) PerceptualLoss::check_options(*stage.perceptual_opt);
    const bool percep = stage.perceptual_opt && !stage.perceptual_opt->vgg_weights.empty();
    if (percep) PerceptualLoss::check_weights_file(*stage.perceptual_opt);
    const bool gan = stage.adversarial();
    if (gan) {
      SR_CHECK(stage.gan_opt.has_value(), "an ", stage.type, " stage needs gan_opt");
      const GanLoss gan_loss(*stage.gan_opt);
      const LRSchedule sched_d(stage.optim_d.lr, stage.scheduler, stage.warmup_iter);
    }
    SR_CHECK(stage.pixel_opt || percep || gan,
             "no loss is active (pixel_opt absent and perceptual loss without VGG weights)");
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind("stage '" + name + "'", 0) == 0) throw;
    fail("stage '", name, "': ", what);
  }
}

StageStep::StageStep(const StageConfig& stage, Module& net_g, Module* net_g_ema, Module* net_d, double ema_decay,
                     Communicator& comm, double bucket_mb, std::vector<int64_t> inject_nan_iters,
                     const LayerOptions& layers)
    : stage_(stage), g_(net_g), ema_(net_g_ema), d_(net_d), ema_decay_(ema_decay), comm_(comm),
      inject_nan_iters_(std::move(inject_nan_iters)) {
  const int64_t warmup = stage.warmup_iter;
  const SchedulerConfig& sched = stage.scheduler;
  optim_g_ = std::make_unique<Adam>(g_.named_parameters(), AdamOptions::from_config(stage.optim_g));
  sched_g_ = std::make_unique<LRSchedule>(optim_g_->lr(), sched, warmup);
  reduce_g_ = std::make_unique<GradReducer>(comm_, values(g_.named_parameters()), bucket_mb);
  if (stage.pixel_opt) pixel_ = std::make_unique<PixelLoss>(*stage.pixel_opt);
  if (stage.perceptual_opt) {
    percep_ = PerceptualLoss::create(*stage.perceptual_opt, layers);
    if (percep_) percep_->to(g_.parameters().at(0).device());
  }
  if (stage.adversarial()) {
    SR_CHECK(d_ != nullptr, "stage '", stage.name, "': ", stage.type, " needs network_d");
    SR_CHECK(stage.gan_opt.has_value(), "stage '", stage.name, "': ", stage.type, " needs gan_opt");
    gan_ = std::make_unique<GanLoss>(*stage.gan_opt);
    optim_d_ = std::make_unique<Adam>(d_->named_parameters(), AdamOptions::from_config(stage.optim_d));
    sched_d_ = std::make_unique<LRSchedule>(optim_d_->lr(), sched, warmup);
    reduce_d_ = std::make_unique<GradReducer>(comm_, values(d_->named_parameters()), bucket_mb);
  }
  device_ = g_.parameters().at(0).device();
  net_d_iters_ = stage.net_d_iters;
  net_d_init_iters_ = stage.net_d_init_iters;
  SR_CHECK(pixel_ || percep_ || gan_, "stage '", stage.name,
           "': no loss is active (pixel_opt absent and perceptual loss without VGG weights)");
}

void StageStep::prepare_replay(int64_t iter) {
  optim_g_->set_lr(sched_g_->lr_at(iter));
  optim_g_->stage_lr();
  if (optim_d_) {
    optim_d_->set_lr(sched_d_->lr_at(iter));
    optim_d_->stage_lr();
  }
}

bool StageStep::updates_g(int64_t iter) const {
  return !gan_ || (iter % net_d_iters_ == 0 && iter > net_d_init_iters_);
}

std::string StageStep::iteration_kind(int64_t iter) const {
  const bool nan = std::count(inject_nan_iters_.begin(), inject_nan_iters_.end(), iter) > 0;
  if (updates_g(iter) && nan) return "";
  return !gan_ ? "g" : updates_g(iter) ? "g+d" : "d";
}

void StageStep::set_d_requires_grad(bool on) {
  for (auto& [_, p] : d_->named_parameters()) p.set_requires_grad(on);
}

// loss * 0 is 0 for a finite loss and NaN otherwise (IEEE 754: inf * 0 and NaN * 0 are NaN);
// the sum of those is NaN when any is, on every rank after the all-reduce.
Tensor StageStep::agreed_gate(std::initializer_list<Tensor> losses, bool inject_nan) {
  NoGradGuard no_grad;
  Tensor gate;
  for (const Tensor& l : losses) {
    SR_CHECK(l.numel() == 1 && l.dtype() == DType::f32 && l.device() == device_, "training step: loss ", l.str(),
             " is not one float32 element on the networks' device ", device_.str());
    const Tensor z = scale(l.detach().reshape({1}), 0.0);
    gate = gate.defined() ? add(gate, z) : z;
  }
  if (inject_nan) gate = add(gate, Tensor::full({1}, NAN, DType::f32, device_));
  if (comm_.world_size() > 1) comm_.all_reduce(gate, false);
  return gate;
}

StepResult StageStep::run(const Tensor& lq, const Tensor& gt, int64_t iter, const Tensor& gt_usm) {
  StepResult r;
  auto t = Clock::now();
  // realesrgan: each loss compares with the plain or the USM-sharpened GT patch.
  Tensor usm;
  const bool realesrgan = stage_.type == "realesrgan";
  if (realesrgan && (stage_.l1_gt_usm || stage_.percep_gt_usm || stage_.gan_gt_usm))
    usm = gt_usm.defined() ? gt_usm : usm_sharp_batch(gt);
  const Tensor& pixel_target = realesrgan && stage_.l1_gt_usm ? usm : gt;
  const Tensor& percep_target = realesrgan && stage_.percep_gt_usm ? usm : gt;
  const Tensor& real = realesrgan && stage_.gan_gt_usm ? usm : gt;
  const auto t_g = t;
  Tensor gate;  // the skip gate so far (StepResult::skip_gate); undefined while nothing was checked
  optim_g_->set_lr(sched_g_->lr_at(iter));
  if (optim_d_) optim_d_->set_lr(sched_d_->lr_at(iter));
  // Each Adam::step stages its rate (outside a capture; before a replay prepare_replay does).

  // ---- Generator ----------------------------------------------------------------------
  if (gan_) set_d_requires_grad(false);
  if (auto* stepped = dynamic_cast<RandomStepped*>(&g_)) stepped->set_random_step(iter, comm_.rank());
  Tensor out = g_.forward(lq);
  if (updates_g(iter)) {
    Tensor total;
    auto add_term = [&](const char* name, const Tensor& l) {
      r.losses[name] = l.detach();  // the value only: the graph goes with `total`
      total = total.defined() ? add(total, l) : l;
    };
    if (pixel_) add_term("l_g_pix", (*pixel_)(out, pixel_target));
    if (percep_) add_term("l_g_percep", (*percep_)(out, percep_target));
    if (gan_ && !stage_.relativistic()) {
      Tensor fake_pred = d_->forward(out);
      add_term("l_g_gan", (*gan_)(fake_pred, true, false));
    } else if (gan_) {
      Tensor real_pred = d_->forward(real).detach();
      Tensor fake_pred = d_->forward(out);
      Tensor l_real = (*gan_)(minus_mean_of(real_pred, fake_pred), false, false);
      Tensor l_fake = (*gan_)(minus_mean_of(fake_pred, real_pred), true, false);
      add_term("l_g_gan", scale(add(l_real, l_fake), 0.5));
    }
    r.times.forward += since(t);
    t = Clock::now();
    // Backward before the non-finite check (see stage_step.h): its gradients are dropped
    // below when the loss is not finite.
    reduce_g_->begin();
    (scaler_ ? scaler_->scale_loss(total) : total).backward();
    r.times.backward += since(t);
    t = Clock::now();
    reduce_g_->finish();
    r.times.communication += since(t);
    t = Clock::now();
    const bool inject = std::find(inject_nan_iters_.begin(), inject_nan_iters_.end(), iter) != inject_nan_iters_.end();
    gate = agreed_gate({total}, inject);
    // Loss scaling: unscale G's gradients; non-finite ones skip G's step and the EMA (not
    // D's) and back the scale off, all on the device (loss_scaler.h).
    Tensor g_gate = gate;
    if (scaler_) {
      std::vector<Tensor> grads;
      for (const Tensor& p : g_.parameters()) grads.push_back(p.grad());
      r.overflow = scaler_->unscale(grads);
      if (comm_.world_size() > 1) comm_.all_reduce(r.overflow, false);
      scaler_->update(r.overflow);
      g_gate = add(gate, r.overflow);
    }
    optim_g_->step(g_gate);
    optim_g_->zero_grad();
    r.times.optimizer += since(t);
  } else {
    r.times.forward += since(t);
  }
  r.times.g_step = since(t_g);

  // ---- Discriminator ------------------------------------------------------------------
  if (gan_) {
    t = Clock::now();
    const auto t_d = t;
    set_d_requires_grad(true);
    const bool ra = stage_.relativistic();
    Tensor fake_ref;  // esrgan: D(out) before D's update, the average fake the real logits are judged against
    if (ra) {
      NoGradGuard no_grad;
      fake_ref = d_->forward(out.detach()).detach();
    }
    Tensor real_pred = d_->forward(real);
    Tensor l_real = ra ? scale((*gan_)(minus_mean_of(real_pred, fake_ref), true, true), 0.5)
                       : (*gan_)(real_pred, true, true);
    r.losses["l_d_real"] = l_real.detach();
    r.losses["out_d_real"] = mean(real_pred.detach());
    r.times.forward += since(t);
    t = Clock::now();
    // Two backward passes as BasicSR: real first, then fake; the reducer runs in the
    // second, when each D gradient holds both terms. Both before the non-finite checks.
    l_real.backward();
    r.times.backward += since(t);
    t = Clock::now();
    Tensor fake_pred = d_->forward(out.detach());
    Tensor l_fake = ra ? scale((*gan_)(minus_mean_of(fake_pred, real_pred.detach()), false, true), 0.5)
                       : (*gan_)(fake_pred, false, true);
    r.losses["l_d_fake"] = l_fake.detach();
    r.losses["out_d_fake"] = mean(fake_pred.detach());
    r.times.forward += since(t);
    t = Clock::now();
    reduce_d_->begin();
    l_fake.backward();
    r.times.backward += since(t);
    t = Clock::now();
    reduce_d_->finish();
    r.times.communication += since(t);
    t = Clock::now();
    const Tensor gate_d = agreed_gate({l_real, l_fake}, false);
    gate = gate.defined() ? add(gate, gate_d) : gate_d;  // a skipped G step skips D's too
    optim_d_->step(gate);
    optim_d_->zero_grad();
    r.times.optimizer += since(t);
    r.times.d_step = since(t_d);
  }

  // ---- EMA (every iteration, as BasicSR, even when G was not stepped; not after a ------
  // loss-scaling overflow, whose G step was skipped) -----------------------------------
  if (ema_) {
    t = Clock::now();
    NoGradGuard no_grad;
    NamedTensors e = ema_->named_parameters();
    ema_update(e, g_.named_parameters(), ema_decay_, r.overflow.defined() ? add(gate, r.overflow) : gate);
    r.times.optimizer += since(t);
  }
  r.skip_gate = gate.defined() ? gate : Tensor::zeros({1}, DType::f32, device_);
  return r;
}

}  // namespace sr::train
