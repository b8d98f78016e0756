// One training iteration of a stage, shared by the training loop and `srengine bench
// train`: BasicSR's SRModel (type "sr"), SRGANModel ("srgan") and ESRGANModel ("esrgan")
// update order.
//   sr:     out = G(lq); loss = pixel [+ perceptual]; backward; G step; EMA
//   srgan:  out = G(lq); every net_d_iters-th iteration after net_d_init_iters:
//             G loss = pixel [+ perceptual] + gan(D(out)) with D frozen; backward; G step;
//           then D: gan(D(gt), real) backward, gan(D(out.detach()), fake) backward; D step; EMA
//   esrgan: the relativistic average GAN (Wang et al., ESRGAN, ECCVW 2018, eq. 1-2), with
//           BasicSR's detach points: r = D(gt).detach(), f = D(out) (D frozen),
//             G loss = pixel [+ perceptual] + (gan(r - mean(f), fake) + gan(f - mean(r), real)) / 2;
//           then D: f' = D(out).detach(); r = D(gt); gan(r - mean(f'), real) / 2 backward;
//             f = D(out.detach()); gan(f - mean(r.detach()), fake) / 2 backward; D step; EMA
//           (D runs four times per iteration, as in BasicSR: batch-norm statistics follow it)
//   realesrnet: as sr (RealESRNetModel); its batches come from Real-ESRGAN's degradation
//           with the GT already sharpened when gt_usm is on (train/realesrgan_stage.h)
//   realesrgan: as srgan (RealESRGANModel, Wang et al. 2021) with per-loss targets: the
//           pixel loss against USM(gt) when l1_gt_usm, the perceptual loss when
//           percep_gt_usm, D's real input USM(gt) when gan_gt_usm (else the plain gt);
//           order and detach points as srgan (G: pixel, perceptual, gan(D(out), real) with D
//           frozen; D: gan(D(real), real) backward, gan(D(out.detach()), fake) backward)
// A non-finite loss (on any rank) skips that iteration's updates: a non-finite G loss skips
// G's step, D's step and the EMA; a non-finite D loss D's step and the EMA.
// With loss scaling (precision fp16, enable_loss_scaling, train/loss_scaler.h) the
// generator's loss is scaled before backward and its gradients unscaled after; non-finite
// gradients skip G's step and the EMA (not D's) and move the scale (StepResult::overflow).
//
// No host round trips: on a GPU (and the simt device) a step reads nothing back. The
// losses stay on the device (StepResult holds them as one-element tensors; the trainer
// reads them when it logs), and so does the non-finite check: each checked loss times 0 is
// 0, or NaN when the loss is not finite, and their sum (over the ranks too) is the gate the
// optimizers and the EMA read on the device (train/optimizer.h). The forward and backward
// passes of a skipped iteration have run (their gradients are dropped unused): the networks'
// buffers (spectral-norm vectors, batch-norm statistics) move as those passes moved them;
// parameters, moments, step counts and EMA weights stay.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/config_types.h"

#include "engine/safetensors.h"
#include "layers/module.h"
#include "train/comm.h"
#include "train/grad_reducer.h"
#include "train/loss_scaler.h"
#include "train/losses.h"
#include "train/lr_scheduler.h"
#include "train/optimizer.h"
#include "train/perceptual_loss.h"

namespace sr::train {

// Seconds per phase of one iteration (`srengine bench train` reports their medians);
// g_step / d_step are the generator and discriminator halves of an srgan iteration
// (G: forward through the G step, D: the two D passes and the D step; EMA in neither).
struct StepTimes {
  double forward = 0, backward = 0, optimizer = 0, communication = 0;
  double g_step = 0, d_step = 0;
};

struct StepResult {
  // l_g_pix, l_g_percep, l_g_gan, l_d_real, l_d_fake, ...: one-element tensors, detached,
  // on the networks' device (read them with LossWindow or .item(), which waits on CUDA)
  std::map<std::string, Tensor> losses;
  // One float32 element on the networks' device: 0 when the iteration updated the networks,
  // NaN when a non-finite loss (on any rank) skipped its updates.
  Tensor skip_gate;
  bool skipped() const;  // reads skip_gate: a host round trip on a GPU
  // Loss scaling: the overflow flag on the device, 0, or NaN when G's gradients were not
  // finite (no G step, no EMA; loss_scaler.h); undefined without loss scaling.
  Tensor overflow;
  StepTimes times;
};

// The losses and skip gates of the iterations since the last log line, kept where they were
// computed until the line needs them: on a GPU one read back per loss name and one for the
// gates per log line, instead of a host wait per loss per iteration. The sums are the
// host's, in double and in iteration order, as when every loss was read at once; the
// losses of skipped iterations are left out.
class LossWindow {
 public:
  // One iteration's losses and its skip gate (StepResult::skip_gate; undefined: updated).
  void add(const std::map<std::string, Tensor>& losses, const Tensor& skip_gate = Tensor(), int64_t iter = 0);
  int iterations() const { return (int)gates_.size(); }  // added since the last take
  struct Taken {
    std::map<std::string, double> sums;  // name -> sum over the updated iterations (map order)
    int updates = 0;                     // iterations that updated
    std::vector<std::pair<int64_t, bool>> skipped;  // (iteration, skipped) for every iteration, in order
  };
  Taken take();  // empties the window
  std::map<std::string, double> take_sums() { return take().sums; }

 private:
  std::map<std::string, std::vector<std::pair<size_t, Tensor>>> values_;  // (iteration index, loss)
  std::vector<Tensor> gates_;
  std::vector<int64_t> iters_;
};

// Everything a StageStep of `stage` would refuse in its configuration (the scheduler
// against its optimizer, the losses, the VGG weights file), checked without networks,
// so that a mistake in a later stage stops the run before its first iteration instead of
// after the stages before it. Errors start with "stage '<name>': ".
void check_stage_config(const StageConfig& stage);

class StageStep {
 public:
  // net_d may be null for an "sr" stage; net_g_ema may be null when EMA is off. `layers`:
  // the networks' options, for the ones the step builds itself (the perceptual loss's VGG).
  StageStep(const StageConfig& stage, Module& net_g, Module* net_g_ema, Module* net_d, double ema_decay,
            Communicator& comm, double bucket_mb, std::vector<int64_t> inject_nan_iters = {},
            const LayerOptions& layers = {});
  ~StageStep();
  // gt_usm: the USM-sharpened gt for a realesrgan stage's *_gt_usm targets; computed
  // here (usm_sharp_batch) when not given. Other stage types ignore it.
  StepResult run(const Tensor& lq, const Tensor& gt, int64_t iter, const Tensor& gt_usm = Tensor());
  // Before replaying a captured run() as iteration `iter`: the host's part of run() that its
  // device work reads, the learning rates, staged into the device rates the graph reads
  // (Adam::stage_lr; a capture stages nothing, and run() outside one stages its own).
  void prepare_replay(int64_t iter);
  // What iteration `iter` queues, as a name ("g", "g+d", "d"): iterations of one name queue
  // the same work on batches of one shape, so one CUDA graph replays them all
  // (train/graphed_step.h). Empty for an iteration with an injected NaN, which runs eagerly.
  std::string iteration_kind(int64_t iter) const;

  Adam& optim_g() { return *optim_g_; }
  double lr_g() const { return optim_g_->lr(); }
  Adam* optim_d() { return optim_d_.get(); }
  const LRSchedule& schedule_g() const { return *sched_g_; }
  bool is_gan() const { return gan_ != nullptr; }
  bool has_perceptual() const { return percep_ != nullptr; }
  // Dynamic loss scaling of the generator's updates (precision fp16): off until enabled.
  void enable_loss_scaling(const LossScaleConfig& config) { scaler_ = std::make_unique<LossScaler>(config, device_); }
  LossScaler* loss_scaler() { return scaler_.get(); }
  const LossScaler* loss_scaler() const { return scaler_.get(); }

 private:
  void set_d_requires_grad(bool on);
  bool updates_g(int64_t iter) const;    // srgan: every net_d_iters-th iteration after net_d_init_iters
  // 0 when every loss is finite on every rank, else NaN; on the networks' device.
  Tensor agreed_gate(std::initializer_list<Tensor> losses, bool inject_nan);

  StageConfig stage_;
  Module& g_;
  Module* ema_;
  Module* d_;
  double ema_decay_;
  Communicator& comm_;
  std::unique_ptr<Adam> optim_g_, optim_d_;
  std::unique_ptr<LRSchedule> sched_g_, sched_d_;
  std::unique_ptr<PixelLoss> pixel_;
  std::unique_ptr<PerceptualLoss> percep_;
  std::unique_ptr<GanLoss> gan_;
  std::unique_ptr<GradReducer> reduce_g_, reduce_d_;
  int64_t net_d_iters_, net_d_init_iters_;
  std::vector<int64_t> inject_nan_iters_;
  std::unique_ptr<LossScaler> scaler_;
  Device device_;
};

}  // namespace sr::train
