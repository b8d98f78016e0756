// One stage's iterations (stage_loop.h).
#include "train/stage_loop.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iterator>
#include <cstdio>
#include <mutex>
#include <omp.h>
#include <unistd.h>

#include "engine/cpu_threads.h"
#include "engine/cuda_runtime.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/storage.h"
#include "train/grad_reducer.h"
#include "train/graphed_step.h"
#include "train/realesrgan_stage.h"
#include "train/thread_tuner.h"

namespace sr::train {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_stop_signal{0};
std::atomic<int> g_carried_over{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

// The first stop signal asks for a checkpoint at the end of the iteration; a second one of any
// kind (an impatient Ctrl-C, a run stuck in a long validation) ends the process at once, as
// that signal's default action would: checkpoints are written atomically, so the last one
// stays intact. SIGPIPE is the exception: once stdout's reader is gone every line logged raises
// it again, so only the first counts. Only async-signal-safe calls here (write, signal, raise).
extern "C" void on_stop_signal(int sig) {
  if (sig == SIGPIPE && g_stop_signal.load() != 0) return;
  if (g_stop_signal.exchange(sig) == 0) {
    static const char first[] =
        "\nsrengine: stopping after this iteration, with a checkpoint (a second stop signal quits at once)\n";
    (void)!::write(STDERR_FILENO, first, sizeof first - 1);
    return;
  }
  static const char second[] = "\nsrengine: second stop signal: quitting at once (the last checkpoint is intact)\n";
  (void)!::write(STDERR_FILENO, second, sizeof second - 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string memory_text(Device device) {
  char buf[64];
  if (!device.is_cpu()) {
    size_t current = 0, peak = 0;
    SR_ON_DEVICE(device, const auto s = cuda::pool_stats(device.index); current = s.current_bytes; peak = s.peak_bytes);
    std::snprintf(buf, sizeof buf, "%s %.2f GB (peak %.2f)", device.is_cuda() ? "gpu" : "simt", current / 1e9, peak / 1e9);
    return buf;
  }
  const auto s = host_memory_stats();
  std::snprintf(buf, sizeof buf, "tensors %.2f GB (peak %.2f)", s.current_bytes / 1e9, s.peak_bytes / 1e9);
  return buf;
}

}  // namespace

// Runs that overlap (two Python threads training at once) share one installation: the first
// scope saves the process's handlers, the last one puts them back. Each scope saving and
// restoring its own would, when the first run ends first, leave on_stop_signal installed
// after both: Python's Ctrl-C would be gone for good.
//
// SIGHUP (the terminal of an ssh session closed) and SIGPIPE (the reader of stdout, a `| tee`
// or `| head`, is gone) would end the run without a checkpoint: they stop it like SIGTERM;
// where the process ignores them (nohup's SIGHUP, Python's SIGPIPE) they stay ignored and the
// run trains on. SIGINT and SIGTERM are someone asking for a stop: they are caught even where
// ignored, since a script's background job (`srengine train ... &`) ignores SIGINT by POSIX
// and `kill -INT` is how its user asks it for a checkpoint.
//
// The process's actions are saved and put back whole with sigaction: signal() would bring the
// handler back with other flags (glibc's adds SA_RESTART and drops SA_ONSTACK), and Python,
// whose handlers rely on blocking calls failing with EINTR, would then no longer see a Ctrl-C
// during input() or a socket read after a run.
namespace {
std::mutex g_scope_mutex;
int g_scope_count = 0;
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
struct sigaction g_previous[std::size(kStopSignals)];
}  // namespace

StopSignalScope::StopSignalScope() {
  const std::lock_guard<std::mutex> lock(g_scope_mutex);
  if (g_scope_count++ > 0) return;
  g_stop_signal.store(g_carried_over.load());
  struct sigaction stop {};
  stop.sa_handler = on_stop_signal;
  sigemptyset(&stop.sa_mask);
  stop.sa_flags = SA_RESTART;  // a file write the signal interrupts resumes instead of failing
  for (size_t i = 0; i < std::size(kStopSignals); ++i) {
    sigaction(kStopSignals[i], nullptr, &g_previous[i]);
    const bool incidental = kStopSignals[i] == SIGHUP || kStopSignals[i] == SIGPIPE;
    if (incidental && g_previous[i].sa_handler == SIG_IGN) continue;
    sigaction(kStopSignals[i], &stop, nullptr);
  }
}

StopSignalScope::~StopSignalScope() {
  const std::lock_guard<std::mutex> lock(g_scope_mutex);
  if (--g_scope_count > 0) return;
  for (size_t i = 0; i < std::size(kStopSignals); ++i) sigaction(kStopSignals[i], &g_previous[i], nullptr);
  g_stop_signal.store(0);
}

int StopSignalScope::pending() { return g_stop_signal.load(); }

void StopSignalScope::set_carried_over(int signal) { g_carried_over.store(signal); }

const char* StopSignalScope::name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP (the terminal closed)";
    case SIGPIPE: return "SIGPIPE (the reader of the output is gone)";
  }
  return "a signal";
}

// The losses, data wait and time since the last progress line.
struct StageLoop::ProgressWindow {
  LossWindow losses;
  double data_wait = 0;
  Clock::time_point start;
  int64_t first = 0;  // the window's first iteration
};

// On the CPU the OpenMP thread count follows the measured speed (train/thread_tuner.h),
// unless OMP_NUM_THREADS pins it; the planned count is restored when the stage ends.
class StageLoop::CpuThreads {
 public:
  CpuThreads(const RunContext& ctx, const std::string& stage)
      : plan_(plan_cpu_threads()), planned_(omp_get_max_threads()), tune_(ctx.device.is_cpu() && !plan_.from_env),
        tuner_(tune_ ? planned_ : 1) {
    if (ctx.device.is_cpu())
      ctx.log->info("[" + stage + "] " + std::to_string(planned_) + " CPU thread(s) (" + std::to_string(plan_.cores) +
                    " usable cores / " + std::to_string(plan_.local_ranks) + " rank(s) on this node" +
                    (plan_.from_env ? ", OMP_NUM_THREADS" : "; fewer while measurably faster under load") + ")");
  }
  ~CpuThreads() { omp_set_num_threads(planned_); }
  CpuThreads(const CpuThreads&) = delete;
  CpuThreads& operator=(const CpuThreads&) = delete;

  void record(double seconds) { tuner_.record(seconds); }
  int threads() const { return tune_ ? tuner_.threads() : planned_; }

 private:
  CpuThreadPlan plan_;
  int planned_;
  bool tune_;
  ThreadTuner tuner_;
};

int StageLoop::run(size_t si, const TrainingState* resume) {
  const StageConfig& stage = ctx_.cfg.train.stages[si];
  const StageStart start = restore(resume);
  broadcast_nets();
  StageStep step(stage, *nets_.g, nets_.g_ema, stage.adversarial() ? nets_.d : nullptr, ctx_.cfg.train.ema_decay,
                 *ctx_.comm, ctx_.cfg.dist.bucket_mb, ctx_.cfg.train.inject_nan_iters, ctx_.layers);
  if (stage.perceptual_opt && !step.has_perceptual())
    ctx_.log->warn("stage '" + stage.name + "': perceptual_opt.vgg_weights is empty, training without the perceptual loss");
  if (ctx_.cfg.precision == Precision::fp16) step.enable_loss_scaling(ctx_.cfg.train.loss_scale);
  restore_optimizers(step, resume);
  const std::unique_ptr<data::Loader> loader = make_loader(start, stage);
  pool_ = make_pair_pool(ctx_.cfg, stage, si, ctx_.comm->rank());
  if (pool_ && resume && !restore_pair_pool(*pool_, resume->tensors, ctx_.comm->rank(), ctx_.comm->world_size()))
    ctx_.log->warn("[" + stage.name + "] the training state holds no training-pair pool for " +
                   std::to_string(ctx_.comm->world_size()) + " rank(s): the pool fills again from the next batches");
  checkpointer_.set_pair_pool(pool_.get());
  // batch_size_per_gpu is per rank, as in BasicSR: the log says so, and says when a resume
  // changes the world size or the global batch (the loader then maps its position).
  const int64_t global_batch = loader->batch_size() * ctx_.comm->world_size();
  if (resume && (resume->info.world_size != ctx_.comm->world_size() || start.global_batch != global_batch))
    ctx_.log->info("[" + stage.name + "] the state was saved by " + std::to_string(resume->info.world_size) +
                   " rank(s), global batch " + std::to_string(start.global_batch) + "; this run has " +
                   std::to_string(ctx_.comm->world_size()) + " rank(s), global batch " + std::to_string(global_batch) +
                   ": epoch " + std::to_string(start.pos.epoch) + " continues after the samples it has used "
                   "(docs/DISTRIBUTED.md, Data and resume across world sizes)");
  // Images added or removed since the state (a bad file taken out): the epoch's order is a
  // permutation of the samples there are now, so the interrupted epoch does not go on as it
  // would have. Said, not refused.
  const int64_t samples = (int64_t)loader->dataset().size();
  if (resume && start.dataset_size > 0 && start.dataset_size != samples) {
    const data::LoaderPosition at = loader->position();
    ctx_.log->info(str_cat("[", stage.name, "] the training set had ", start.dataset_size,
                           " samples when the state was saved and has ", samples, " now: ",
                           at.epoch == start.pos.epoch
                               ? str_cat("epoch ", at.epoch, " is drawn again in a new order and continues at batch ",
                                         at.batch, " of ", loader->batches_per_epoch())
                               : str_cat("batch ", start.pos.batch, " is past epoch ", start.pos.epoch, "'s ",
                                         loader->batches_per_epoch(), " batches now, so epoch ", at.epoch,
                                         " begins"),
                           " (samples of the rest of the interrupted epoch may repeat or be left out)"));
  }
  // A state at total_iter (a run stopped between a stage's last checkpoint and its end) has
  // no iteration left: the stage only ends (validation, final model).
  const std::string iterations = start.iter < stage.total_iter
                                     ? "iterations " + std::to_string(start.iter + 1) + ".." +
                                           std::to_string(stage.total_iter)
                                     : "all " + std::to_string(stage.total_iter) + " iterations done, ending the stage";
  ctx_.log->info("[" + stage.name + "] stage " + std::to_string(si + 1) + "/" +
                 std::to_string(ctx_.cfg.train.stages.size()) + " (" + stage.type + "), " + iterations + ", " +
                 std::to_string(loader->batches_per_epoch()) + " batches per epoch, batch " +
                 std::to_string(loader->batch_size()) + " per rank (" + std::to_string(global_batch) +
                 " per iteration over all ranks), " + std::to_string(ctx_.comm->world_size()) + " rank(s) (" +
                 ctx_.comm->backend() + ") on " + ctx_.device.str());
  CpuThreads threads(ctx_, stage.name);
  // Captured and replayed iterations when train.cuda_graph says so (off the CPU), else eager
  // (the learning rates go up through Adam's ring either way: optimizer.h).
  std::unique_ptr<GraphedStep> graphed;
  if (!ctx_.device.is_cpu() && use_cuda_graph(ctx_.cfg, stage, ctx_.device, ctx_.comm->backend(), ctx_.log.get())) {
    graphed = std::make_unique<GraphedStep>(step, ctx_.device, true, [this, &stage](int64_t iter, const std::string& what) {
      ctx_.log->info("[" + stage.name + "] iteration " + std::to_string(iter) + ": captured a CUDA graph (" + what +
                     "), replayed from here on");
    });
  }
  // A state saved after its iteration's validation says so: a resumed stage does not
  // validate (and log) that iteration again. States written before it was recorded: -1.
  ctx_.counters.validated_iter = resume ? resume->info.validated_iter.value_or(-1) : -1;
  if (const int sig = iterate(si, start.iter + 1, step, graphed.get(), *loader, threads)) return sig;
  finish(si, step, *loader);
  return 0;
}

StageStart StageLoop::restore(const TrainingState* resume) {
  StageStart start;
  if (!resume) return start;
  nets_.g->load_state_dict(state_tensors(resume->tensors, "net_g."), true);
  if (nets_.g_ema) nets_.g_ema->load_state_dict(state_tensors(resume->tensors, "net_g_ema."), true);
  if (nets_.d && resume->info.has_net_d) nets_.d->load_state_dict(state_tensors(resume->tensors, "net_d."), true);
  start.iter = resume->iter;
  start.pos.epoch = resume->count(&StateInfo::loader_epoch, "loader_epoch");
  start.pos.batch = resume->count(&StateInfo::loader_batch, "loader_batch");
  // States written before the global batch was recorded: it was world_size x this
  // config's batch, unless the batch size was changed too.
  start.global_batch = resume->info.loader_global_batch.value_or(
      resume->info.world_size * (int64_t)ctx_.cfg.find_dataset("train")->data.batch_size_per_gpu);
  start.dataset_size = resume->info.loader_dataset_size.value_or(0);
  ctx_.counters.nan_streak = resume->info.nan_streak;
  ctx_.counters.best = resume->info.best;
  return start;
}

// Every rank starts from rank 0's networks (weights, buffers, spectral-norm u/v).
void StageLoop::broadcast_nets() {
  std::vector<Tensor> all;
  for (Module* m : {nets_.g, nets_.g_ema, nets_.d})
    if (m)
      for (auto& [_, t] : m->state_dict()) all.push_back(t);
  broadcast_tensors(*ctx_.comm, std::move(all));
}

void StageLoop::restore_optimizers(StageStep& step, const TrainingState* resume) {
  if (!resume) return;
  SafetensorsFile f{"training state", resume->tensors, {}};
  step.optim_g().load_state(f, "optim_g.", resume->count(&StateInfo::optim_g_steps, "optim_g_steps"));
  if (step.optim_d())
    step.optim_d()->load_state(f, "optim_d.", resume->count(&StateInfo::optim_d_steps, "optim_d_steps"));
  if (LossScaler* ls = step.loss_scaler()) {
    // A state without a scaler (written with another precision) starts from train.loss_scale.init.
    if (resume->info.loss_scaler) ls->load_state(*resume->info.loss_scaler);
  }
}

std::unique_ptr<data::Loader> StageLoop::make_loader(const StageStart& start, const StageConfig& stage) {
  data::LoaderOptions options;
  options.rank = ctx_.comm->rank();
  options.world_size = ctx_.comm->world_size();
  options.start = start.pos;
  options.start_global_batch = start.global_batch;
  options.start_dataset_size = start.dataset_size;
  // The loader's warnings (skip_bad_images) are about this rank's own samples: rank 0 logs
  // them; the others, whose log is off, print them on the console with their rank.
  options.warn = [this](const std::string& m) {
    if (ctx_.rank0()) return ctx_.log->warn(m);
    std::fprintf(stderr, "rank %d: warning: %s\n", ctx_.comm->rank(), m.c_str());
    std::fflush(stderr);
  };
  if (ctx_.device.is_cuda()) options.pin_memory_device = ctx_.device.index;
  const data::DataConfig data = training_data(ctx_.cfg, stage, ctx_.device);
  if (data.degrade_on_device)
    ctx_.log->info("[" + stage.name + "] the Real-ESRGAN degradation runs on " + ctx_.device.str() +
                   " (datasets.train.degrade_on " + data.degrade_on + ")");
  try {
    return std::make_unique<data::Loader>(data, options);
  } catch (const Error& e) {
    fail("datasets.train: ", e.what());  // which set an empty or mismatched folder belongs to
  }
}

int StageLoop::iterate(size_t si, int64_t first, StageStep& step, GraphedStep* graphed, data::Loader& loader,
                       CpuThreads& threads) {
  const StageConfig& stage = ctx_.cfg.train.stages[si];
  const std::string& name = stage.name;
  const int64_t total = stage.total_iter;
  const LoggerConfig& logger = ctx_.cfg.logger;
  ProgressWindow window{LossWindow{}, 0.0, Clock::now(), first};  // losses read back only when logged
  ctx_.log->begin_stage(name, first);
  for (int64_t iter = first; iter <= total; ++iter) {
    const auto t0 = Clock::now();
    const data::LoaderPosition at = loader.position();
    data::Batch batch;
    try {
      batch = loader.next();
    } catch (const Error& e) {
      fail(e.what(), keep_work_before_data_failure(si, iter, first, step, loader, at));
    }
    window.data_wait += seconds_since(t0);
    // The pool mixes pairs where they are made: on the CPU, or on the device when it
    // degrades the batch (datasets.train.degrade_on).
    Tensor lq, gt;
    if (batch.degradation) {
      batch_on_device(batch, ctx_.device, &lq, &gt);
      if (pool_) pool_->exchange(lq, gt, iter);
    } else {
      if (pool_) pool_->exchange(batch.lq, batch.gt, iter);
      batch_on_device(batch, ctx_.device, &lq, &gt);
    }
    StepResult r = graphed ? graphed->run(lq, gt, iter) : step.run(lq, gt, iter);
    threads.record(seconds_since(t0));
    window.losses.add(r.losses, r.skip_gate, iter);  // skips are read (and counted) at the log line
    if (iter % logger.print_freq == 0 || iter == total) {
      // The epoch of the batch just used: the loader's position is the next batch's.
      const data::LoaderPosition next = loader.position();
      log_progress(name, iter, total, step, window, threads.threads(),
                   next.batch == 0 && next.epoch > 0 ? next.epoch - 1 : next.epoch);
    }
    if (iter % ctx_.cfg.val.val_freq == 0) {
      validate(si, iter, step, loader);
      ctx_.counters.validated_iter = iter;
    }
    if (const int sig = stop_requested(si, iter, step, loader)) return sig;
    if (iter % logger.save_checkpoint_freq == 0 && iter != total) checkpointer_.save(si, iter, nets_, step, loader);
  }
  return 0;
}

// The last validation (unless the last iteration had one), checkpoint and final generator.
void StageLoop::finish(size_t si, StageStep& step, const data::Loader& loader) {
  const StageConfig& stage = ctx_.cfg.train.stages[si];
  if (ctx_.counters.validated_iter != stage.total_iter) {
    validate(si, stage.total_iter, step, loader);
    ctx_.counters.validated_iter = stage.total_iter;
  }
  checkpointer_.save(si, stage.total_iter, nets_, step, loader);
  if (ctx_.rank0()) {
    const std::string final_path = ctx_.dir + "/models/net_g_" + stage.name + "_final.safetensors";
    checkpointer_.save_model(nets_.eval(), final_path);
    ctx_.log->info("[" + stage.name + "] done: final generator " + final_path + (nets_.g_ema ? " (EMA weights)" : ""));
  }
  ctx_.comm->barrier_untimed();
}

void StageLoop::validate(size_t si, int64_t iter, StageStep& step, const data::Loader& loader) {
  const StageConfig& stage = ctx_.cfg.train.stages[si];
  const ValidationFailure f = validator_.run(stage.name, iter, nets_.eval());
  if (!f.failed) return;
  if (f.diverged) fail(f.message);
  checkpointer_.save(si, iter, nets_, step, loader);
  const bool last = iter == stage.total_iter;  // a resumed stage ends with validation again
  fail(f.message, "; the training state of iteration ", iter, " was saved first (", checkpointer_.last(),
       "): fix the cause and continue with --resume auto (",
       last ? "the stage's last validation runs again" : "this validation is not repeated", ")");
}

// A batch that cannot be made (a training image unreadable past its header, without
// skip_bad_images) stops the run at iteration `iter`. A single process first saves the
// state of iter - 1 with the failed batch as the loader's next, so the iterations since
// the last checkpoint are kept and --resume auto, once the file is fixed, goes on exactly
// as if nothing had happened. On several ranks the others are already inside the step's
// collectives, so the run is aborted as for any error, from the last checkpoint. Returns
// the end of the message.
std::string StageLoop::keep_work_before_data_failure(size_t si, int64_t iter, int64_t first, StageStep& step,
                                                     const data::Loader& loader, const data::LoaderPosition& at) {
  const std::string fix = "fix or remove the file, or set datasets.train.skip_bad_images: true, and continue with "
                          "--resume auto";
  if (ctx_.comm->world_size() > 1)
    return "; " + fix + " (from the last checkpoint: a run on several ranks stops at once)";
  const int64_t done = iter - 1;
  // The stage's first iteration: no state of this stage to continue from unless it resumed.
  if (iter == 1)
    return "; it was the stage's first batch: fix or remove the file, or set datasets.train.skip_bad_images: "
           "true, and run again (--resume auto continues from the last saved training state, if any)";
  if (iter == first || done % ctx_.cfg.logger.save_checkpoint_freq == 0)
    return "; no iteration ran since the last training state was saved: " + fix;
  checkpointer_.save(si, done, nets_, step, loader, at);
  ctx_.log->warn("[" + ctx_.cfg.train.stages[si].name + "] the batch of iteration " + std::to_string(iter) +
                 " could not be made; saved the training state of iteration " + std::to_string(done) + " (" +
                 checkpointer_.last() + ")");
  return "; the training state of iteration " + std::to_string(done) + " was saved first (" + checkpointer_.last() +
         "): " + fix;
}

// One progress line (and metrics.jsonl event): the window's mean losses over all ranks,
// LR, speed, ETA, memory.
void StageLoop::log_progress(const std::string& name, int64_t iter, int64_t total, const StageStep& step,
                             ProgressWindow& w, int threads, int64_t epoch) {
  Communicator& comm = *ctx_.comm;
  const LossWindow::Taken taken = w.losses.take();
  for (const auto& [it, skipped] : taken.skipped) {
    if (skipped) {
      note_skipped(name, it);
    } else {
      ctx_.counters.nan_streak = 0;
    }
  }
  const int window_n = taken.updates;
  const std::map<std::string, double>& sums = taken.sums;
  std::vector<double> vals;
  for (const auto& [k, v] : sums) vals.push_back(v / std::max(1, window_n));
  comm.all_reduce_host(vals);  // mean over ranks of the window means
  const double secs = seconds_since(w.start);
  const double its = (iter - w.first + 1) / std::max(secs, 1e-9);
  json ev = {{"event", "train"}, {"stage", name}, {"iter", iter}, {"epoch", epoch}, {"lr", step.lr_g()},
             {"it_per_s", its}, {"data_wait_s", w.data_wait}};
  if (ctx_.device.is_cpu()) ev["threads"] = threads;
  std::string scaler_text;  // precision fp16: the loss scale and the updates skipped for overflow
  if (const LossScaler* ls = step.loss_scaler()) {
    const LossScalerState st = ls->state();  // one read of the device state
    ev["loss_scale"] = st.scale;
    ev["overflow_skipped"] = st.skipped;
    char buf[80];
    std::snprintf(buf, sizeof buf, " | scale %g skipped %lld", st.scale, (long long)st.skipped);
    scaler_text = buf;
  }
  char head[160];
  std::snprintf(head, sizeof head, "[%s] iter %lld/%lld epoch %lld |", name.c_str(), (long long)iter,
                (long long)total, (long long)epoch);
  std::string line = head;
  if (sums.empty()) line += " every update skipped";
  size_t i = 0;
  for (const auto& [k, _] : sums) {
    const double v = vals[i++] / comm.world_size();
    ev[k] = v;
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.4g", k.c_str(), v);
    line += buf;
  }
  char tail[200];
  // The time an iteration waited for its batch (BasicSR's "time (data)"): a loader that
  // cannot keep up shows here first.
  const double data_ms = 1e3 * w.data_wait / std::max<int64_t>(1, iter - w.first + 1);
  std::snprintf(tail, sizeof tail, " | lr %.2e | %.2f it/s%s, data %.1f ms/it | eta %s | %s", step.lr_g(), its,
                ctx_.device.is_cpu() ? (" (" + std::to_string(threads) + " thr)").c_str() : "", data_ms,
                format_duration((total - iter) / std::max(its, 1e-9)).c_str(), memory_text(ctx_.device).c_str());
  ctx_.log->info(line + scaler_text + tail);
  ctx_.log->event(ev);
  w.data_wait = 0;
  w.start = Clock::now();
  w.first = iter + 1;
}

// SIGINT/SIGTERM: all ranks agree on the iteration, write a checkpoint and leave. One
// host all-reduce per iteration: a signal reaches each rank at its own time, and a rank
// that left alone would hang the others in their next collective.
int StageLoop::stop_requested(size_t si, int64_t iter, StageStep& step, const data::Loader& loader) {
  const int sig = g_stop_signal.load();
  std::vector<double> stop(std::size(kStopSignals), 0.0);  // per signal: the ranks that got it
  for (size_t i = 0; i < stop.size(); ++i) stop[i] = sig == kStopSignals[i] ? 1.0 : 0.0;
  ctx_.comm->all_reduce_host(stop);
  size_t first = 0;  // the first of kStopSignals that some rank got
  while (first < stop.size() && stop[first] == 0) ++first;
  if (first == stop.size()) return 0;
  checkpointer_.save(si, iter, nets_, step, loader);
  const int stop_signal = kStopSignals[first];
  ctx_.log->info("[" + ctx_.cfg.train.stages[si].name + "] stopped by " + StopSignalScope::name(stop_signal) +
                 " at iteration " + std::to_string(iter) + "; checkpoint " + checkpointer_.last() +
                 " (continue with --resume auto; exit status " + std::to_string(128 + stop_signal) + ")");
  return stop_signal;
}

// A skipped (non-finite) update: counted, logged, and the run stops after max_nan_steps in a row.
void StageLoop::note_skipped(const std::string& name, int64_t iter) {
  int& streak = ctx_.counters.nan_streak;
  ++streak;
  ctx_.log->warn("[" + name + "] iter " + std::to_string(iter) + ": non-finite loss, update skipped (" +
                 std::to_string(streak) + " in a row)");
  ctx_.log->event({{"event", "nan_skip"}, {"stage", name}, {"iter", iter}, {"streak", streak}});
  if (streak >= ctx_.cfg.train.max_nan_steps)
    fail("training stopped: ", streak, " consecutive non-finite losses at stage '", name, "' iteration ", iter,
         "; last good checkpoint: ", checkpointer_.last().empty() ? "none yet" : checkpointer_.last());
}

}  // namespace sr::train
