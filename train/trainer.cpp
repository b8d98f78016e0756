// The training run (see trainer.h): stages, the loop, validation, checkpoints, logs,
// signals and faults.
#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <omp.h>
#include <fstream>

#include "data/loader.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/cpu_threads.h"
#include "engine/cuda_runtime.h"
#include "engine/dispatch.h"
#include "engine/random.h"
#include "engine/storage.h"
#include "kernels/registry.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "train/checkpoint.h"
#include "train/comm.h"
#include "train/experiment_lock.h"
#include "train/realesrgan_stage.h"
#include "train/grad_reducer.h"
#include "train/report.h"
#include "train/run_log.h"
#include "train/stage_step.h"
#include "train/thread_tuner.h"
#include "train/validation.h"

namespace sr::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig); }

using Clock = std::chrono::steady_clock;

}  // namespace

// resolve_device and make_network (and config_types.h) are shared with `srengine bench
// train` (declared in trainer.h), so the bench builds exactly what a run builds.
// A CUDA device is also made this thread's current one: the networks, the batches and the
// NCCL communicator built afterwards all live on it.
Device resolve_device(const std::string& s, int local_rank) {
  Device d = Device::cpu();
  if (s == "auto") {
#ifdef SRENGINE_WITH_CUDA
    if (cuda::available()) d = Device::cuda(local_rank % cuda::device_count());
#endif
  } else {
    d = parse_device(s);
    if (d.is_cuda() && s == "cuda") d.index = local_rank;
  }
  activate_device(d, "device '" + s + "'" + (s == "cuda" ? " (local rank " + std::to_string(local_rank) + ")" : ""));
  return d;
}

// Networks get their own deterministic random stream (independent of what ran before),
// so that a resumed run builds exactly the discriminator an uninterrupted one did.
std::unique_ptr<Module> make_network(const json& opt, uint64_t seed, uint64_t salt, Device device) {
  manual_seed(seed * 1000003ull + salt);
  std::unique_ptr<Module> net = build_network(opt);
  net->to(device);
  return net;
}

std::unique_ptr<Module> make_network(const NetworkConfig& net, uint64_t seed, uint64_t salt, Device device) {
  return make_network(net.args, seed, salt, device);
}

namespace {

std::map<std::string, Tensor> with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : f.tensors)
    if (name.compare(0, prefix.size(), prefix) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

void append_prefixed(NamedTensors& out, const std::string& prefix, const NamedTensors& in) {
  for (const auto& [name, t] : in) out.push_back({prefix + name, t});
}

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

namespace {

struct StageStart;

// The losses, data wait and time since the last progress line.
struct ProgressWindow {
  LossWindow losses;
  double data_wait = 0;
  Clock::time_point start;
  int64_t first = 0;  // the window's first iteration
};

class Run {
 public:
  Run(Config cfg, const TrainOptions& opt) : cfg_(std::move(cfg)), opt_(opt), comm_(nullptr) {}

  // Runs the stages; on a distributed run, an error on any rank ends every rank.
  int execute() {
    try {
      return execute_stages();
    } catch (const std::exception& e) {
      if (comm_ && comm_->world_size() > 1) comm_->abort(std::string("srengine train: error: ") + e.what());
      throw;
    }
  }

 private:
  int execute_stages();
  void open_experiment();
  std::pair<size_t, size_t> selected_stages() const;
  std::optional<TrainingState> find_resume();
  void build_generator();
  void init_from_previous(size_t si, size_t first);
  void check_stages(size_t first, size_t last);
  void run_stage(size_t si, const TrainingState* resume);
  StageStart restore(const TrainingState* resume);  // nets and counters from a state (or a fresh start)
  std::unique_ptr<data::Loader> make_loader(const StageStart& start, const StageConfig& stage);
  void log_progress(const std::string& name, int64_t iter, int64_t total, const StageStep& step, ProgressWindow& w,
                    int threads);
  bool stop_requested(size_t si, int64_t iter, StageStep& step, const data::Loader& loader);
  void note_skipped(const std::string& name, int64_t iter);
  void checkpoint(size_t si, int64_t iter, StageStep& step, const data::Loader& loader, bool models_too);
  void write_checkpoint(size_t si, int64_t iter, StageStep& step, const data::Loader& loader, bool models_too,
                        TrainingState& state);
  void check_replicas(const std::string& stage, int64_t iter, const NamedTensors& state);
  void run_validation(const std::string& stage, int64_t iter);
  void validate_and_log(const std::string& stage, int64_t iter);
  // Writes the state dict with the network's build options in the metadata under `which`
  // (network_g / network_d), so inference needs no config (nets/network_from_weights.h).
  void save_model(Module& net, const std::string& path, const std::string& which = "network_g");
  Module& eval_net() { return net_g_ema_ ? *net_g_ema_ : *net_g_; }

  Config cfg_;
  TrainOptions opt_;
  std::string dir_;
  Device device_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<ExperimentLock> lock_;  // rank 0: this run owns dir_ (before log_: released last)
  std::unique_ptr<RunLog> log_;
  std::unique_ptr<Module> net_g_, net_g_ema_, net_d_;
  std::unique_ptr<PairPool> pool_;  // realesrnet / realesrgan stages: the training-pair pool
  double ema_decay_ = 0;
  std::map<std::string, BestMetric> best_;  // "<stage>/<set>_<metric>"
  int nan_streak_ = 0;
  std::string last_checkpoint_;
  bool stopped_ = false;
  int stop_signal_ = 0;
};

void Run::save_model(Module& net, const std::string& path, const std::string& which) {
  fs::create_directories(fs::path(path).parent_path());
  const NetworkConfig& spec = which == "network_d" ? *cfg_.network_d : *cfg_.network_g;
  write_safetensors(path, net.state_dict(), {{"format", "pt"}, {"producer", "srengine"}, {which, spec.args.dump()}});
}

void Run::checkpoint(size_t si, int64_t iter, StageStep& step, const data::Loader& loader, bool models_too) {
  const std::string& stage = cfg_.train.stages[si].name;
  TrainingState s;
  append_prefixed(s.tensors, "net_g.", net_g_->state_dict());
  if (net_g_ema_) append_prefixed(s.tensors, "net_g_ema.", net_g_ema_->state_dict());
  if (net_d_) append_prefixed(s.tensors, "net_d.", net_d_->state_dict());
  append_prefixed(s.tensors, "", step.optim_g().state("optim_g."));
  if (step.optim_d()) append_prefixed(s.tensors, "", step.optim_d()->state("optim_d."));
  check_replicas(stage, iter, s.tensors);
  if (pool_) append_prefixed(s.tensors, "", gather_pair_pool(*pool_, *comm_, device_));  // differs per rank
  if (comm_->rank() == 0) write_checkpoint(si, iter, step, loader, models_too, s);
  comm_->barrier_untimed();  // the other ranks wait, exempt from dist.timeout_s, for the files
}

void Run::write_checkpoint(size_t si, int64_t iter, StageStep& step, const data::Loader& loader, bool models_too,
                           TrainingState& s) {
  const std::string& stage = cfg_.train.stages[si].name;
  const int keep = cfg_.logger.keep_last;
  const std::string models = dir_ + "/models/", tag = stage + "_" + std::to_string(iter);
  if (models_too) {
    save_model(*net_g_, models + "net_g_" + tag + ".safetensors");
    prune_checkpoints(dir_ + "/models", "net_g_", stage, ".safetensors", keep);
    if (net_g_ema_) {
      save_model(*net_g_ema_, models + "net_g_ema_" + tag + ".safetensors");
      prune_checkpoints(dir_ + "/models", "net_g_ema_", stage, ".safetensors", keep);
    }
    if (net_d_ && step.is_gan()) {
      save_model(*net_d_, models + "net_d_" + tag + ".safetensors", "network_d");
      prune_checkpoints(dir_ + "/models", "net_d_", stage, ".safetensors", keep);
    }
  }
  s.stage = stage;
  s.stage_index = (int)si;
  s.iter = iter;
  const auto pos = loader.position();
  s.info.optim_g_steps = step.optim_g().steps();
  s.info.optim_d_steps = step.optim_d() ? step.optim_d()->steps() : 0;
  s.info.loader_epoch = pos.epoch;
  s.info.loader_batch = pos.batch;
  s.info.world_size = comm_->world_size();
  s.info.loader_global_batch = comm_->world_size() * loader.batch_size();
  s.info.seed = cfg_.manual_seed;
  s.info.nan_streak = nan_streak_;
  s.info.best = best_;
  s.info.has_net_d = net_d_ != nullptr;
  save_training_state(dir_, s);
  prune_checkpoints(dir_ + "/training_states", "", stage, ".state", keep);
  last_checkpoint_ = state_path(dir_, stage, iter);
}

// Rank 0 alone writes the state, so before it does, every rank checks that its copy is
// bit-identical to rank 0's (weights, spectral-norm u/v, EMA, optimizer moments): a
// divergence would otherwise go unnoticed until a resume on another world size.
void Run::check_replicas(const std::string& stage, int64_t iter, const NamedTensors& state) {
  if (comm_->world_size() == 1) return;
  const std::vector<std::string> differ = replicas_differing_from_rank0(*comm_, state);
  std::vector<double> count{(double)differ.size()};
  comm_->all_reduce_host(count);
  if (!differ.empty()) {
    std::string names;
    for (size_t i = 0; i < differ.size() && i < 5; ++i) names += (i ? ", " : "") + differ[i];
    fail("replica check at stage '", stage, "' iteration ", iter, ": ", differ.size(), " tensor(s) on rank ",
         comm_->rank(), " differ from rank 0's: ", names, differ.size() > 5 ? ", ..." : "");
  }
  SR_CHECK(count[0] == 0, "replica check at stage '", stage, "' iteration ", iter, ": another rank differs from rank 0");
  int sn = 0, ema = 0;
  for (const auto& [name, _] : state) {
    sn += name.size() > 9 && (name.compare(name.size() - 9, 9, ".weight_u") == 0 ||
                              name.compare(name.size() - 9, 9, ".weight_v") == 0);
    ema += name.compare(0, 10, "net_g_ema.") == 0;
  }
  log_->info("[" + stage + "] iter " + std::to_string(iter) + ": replica check: " + std::to_string(state.size()) +
             " tensors bit-identical on " + std::to_string(comm_->world_size()) + " ranks (" + std::to_string(sn) +
             " spectral-norm u/v, " + std::to_string(ema) + " EMA)");
}

void Run::run_validation(const std::string& stage, int64_t iter) {
  if (comm_->rank() == 0) validate_and_log(stage, iter);
  comm_->barrier_untimed();  // validation runs on rank 0 alone and may outlast dist.timeout_s
}

void Run::validate_and_log(const std::string& stage, int64_t iter) {
  if (cfg_.eval_datasets().empty()) return;
  const auto t0 = Clock::now();
  ValidationResult v;
  try {
    v = validate(eval_net(), cfg_, dir_, stage + "_" + std::to_string(iter), device_);
  } catch (const Error& e) {
    fail("[", stage, "] validation at iteration ", iter, ": ", e.what());
  }
  json ev = {{"event", "val"}, {"stage", stage}, {"iter", iter}};
  std::string line = "[" + stage + "] validation at iter " + std::to_string(iter) + ":";
  for (const auto& [k, m] : v.means) {
    ev[k] = m;
    if (k.size() > 8 && k.compare(k.size() - 8, 8, "_bicubic") == 0) continue;  // shown beside its metric
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.4f", k.c_str(), m);
    line += buf;
    if (v.means.count(k + "_bicubic")) {
      std::snprintf(buf, sizeof buf, " (bicubic %.4f)", v.means.at(k + "_bicubic"));
      line += buf;
    }
    bool lower_better = false;  // val.metrics.<name>.better
    for (const MetricConfig& mc : cfg_.val.metrics)
      if (k.size() > mc.name.size() && k.compare(k.size() - mc.name.size() - 1, std::string::npos, "_" + mc.name) == 0)
        lower_better = mc.lower_is_better;
    const std::string key = stage + "/" + k;
    auto best = best_.find(key);
    if (best == best_.end() || (lower_better ? m < best->second.value : m > best->second.value))
      best = best_.insert_or_assign(key, BestMetric{m, iter}).first;
    std::snprintf(buf, sizeof buf, " (best %.4f @%lld)", best->second.value, (long long)best->second.iter);
    line += buf;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, " [%.1fs]", std::chrono::duration<double>(Clock::now() - t0).count());
  log_->info(line + buf);
  log_->event(ev);
  write_report(dir_, cfg_.name, v.report_images);
}

// Where a stage starts: iteration 0 and the loader's first batch, or a training state's.
struct StageStart {
  int64_t iter = 0, global_batch = 0;
  data::LoaderPosition pos;
};

StageStart Run::restore(const TrainingState* resume) {
  StageStart start;
  if (!resume) return start;
  SafetensorsFile f{"training state", resume->tensors, {}};
  net_g_->load_state_dict(with_prefix(f, "net_g."), true);
  if (net_g_ema_) net_g_ema_->load_state_dict(with_prefix(f, "net_g_ema."), true);
  if (net_d_ && resume->info.has_net_d) net_d_->load_state_dict(with_prefix(f, "net_d."), true);
  start.iter = resume->iter;
  start.pos.epoch = resume->count(&StateInfo::loader_epoch, "loader_epoch");
  start.pos.batch = resume->count(&StateInfo::loader_batch, "loader_batch");
  // States written before the global batch was recorded: it was world_size x this
  // config's batch, unless the batch size was changed too.
  start.global_batch = resume->info.loader_global_batch.value_or(
      resume->info.world_size * (int64_t)cfg_.find_dataset("train")->data.batch_size_per_gpu);
  nan_streak_ = resume->info.nan_streak;
  best_ = resume->info.best;
  return start;
}

std::unique_ptr<data::Loader> Run::make_loader(const StageStart& start, const StageConfig& stage) {
  data::LoaderOptions lo;
  lo.rank = comm_->rank();
  lo.world_size = comm_->world_size();
  lo.start = start.pos;
  lo.start_global_batch = start.global_batch;
  lo.warn = [this](const std::string& m) { log_->warn(m); };
  if (device_.is_cuda()) lo.pin_memory_device = device_.index;
  return std::make_unique<data::Loader>(training_data(cfg_, stage), lo);
}

// One progress line (and metrics.jsonl event): the window's mean losses over all ranks,
// LR, speed, ETA, memory.
void Run::log_progress(const std::string& name, int64_t iter, int64_t total, const StageStep& step,
                       ProgressWindow& w, int threads) {
  const int window_n = w.losses.updates();
  const std::map<std::string, double> sums = w.losses.take_sums();
  std::vector<double> vals;
  for (const auto& [k, v] : sums) vals.push_back(v / std::max(1, window_n));
  comm_->all_reduce_host(vals);  // mean over ranks of the window means
  const double secs = std::chrono::duration<double>(Clock::now() - w.start).count();
  const double its = (iter - w.first + 1) / std::max(secs, 1e-9);
  json ev = {{"event", "train"}, {"stage", name}, {"iter", iter}, {"lr", step.lr_g()},
             {"it_per_s", its}, {"data_wait_s", w.data_wait}};
  if (device_.is_cpu()) ev["threads"] = threads;
  char head[160];
  std::snprintf(head, sizeof head, "[%s] iter %lld/%lld |", name.c_str(), (long long)iter, (long long)total);
  std::string line = head;
  if (sums.empty()) line += " every update skipped";
  size_t i = 0;
  for (const auto& [k, _] : sums) {
    const double v = vals[i++] / comm_->world_size();
    ev[k] = v;
    char buf[64];
    std::snprintf(buf, sizeof buf, " %s %.4g", k.c_str(), v);
    line += buf;
  }
  char tail[200];
  std::snprintf(tail, sizeof tail, " | lr %.2e | %.2f it/s%s | eta %s | %s", step.lr_g(), its,
                device_.is_cpu() ? (" (" + std::to_string(threads) + " thr)").c_str() : "",
                format_duration((total - iter) / std::max(its, 1e-9)).c_str(), memory_text(device_).c_str());
  log_->info(line + tail);
  log_->event(ev);
  w.data_wait = 0;
  w.start = Clock::now();
  w.first = iter + 1;
}

// SIGINT/SIGTERM: all ranks agree on the iteration, write a checkpoint and leave.
bool Run::stop_requested(size_t si, int64_t iter, StageStep& step, const data::Loader& loader) {
  const int sig = g_stop_signal.load();
  std::vector<double> stop{sig == SIGINT ? 1.0 : 0.0, sig != 0 && sig != SIGINT ? 1.0 : 0.0};
  comm_->all_reduce_host(stop);  // ranks that got SIGINT, ranks that got SIGTERM
  if (stop[0] == 0 && stop[1] == 0) return false;
  checkpoint(si, iter, step, loader, true);
  stop_signal_ = stop[0] != 0 ? SIGINT : SIGTERM;
  log_->info("[" + cfg_.train.stages[si].name + "] stopped by " + (stop_signal_ == SIGINT ? "SIGINT" : "SIGTERM") +
             " at iteration " + std::to_string(iter) + "; checkpoint " + last_checkpoint_ +
             " (continue with --resume auto; exit status " + std::to_string(128 + stop_signal_) + ")");
  stopped_ = true;
  return true;
}

// A skipped (non-finite) update: counted, logged, and the run stops after max_nan_steps in a row.
void Run::note_skipped(const std::string& name, int64_t iter) {
  ++nan_streak_;
  log_->warn("[" + name + "] iter " + std::to_string(iter) + ": non-finite loss, update skipped (" +
             std::to_string(nan_streak_) + " in a row)");
  log_->event({{"event", "nan_skip"}, {"stage", name}, {"iter", iter}, {"streak", nan_streak_}});
  if (nan_streak_ >= cfg_.train.max_nan_steps)
    fail("training stopped: ", nan_streak_, " consecutive non-finite losses at stage '", name, "' iteration ", iter,
         "; last good checkpoint: ", last_checkpoint_.empty() ? "none yet" : last_checkpoint_);
}

void Run::run_stage(size_t si, const TrainingState* resume) {
  const StageConfig& stage = cfg_.train.stages[si];
  const std::string& name = stage.name;
  const bool gan = stage.adversarial();
  const int64_t total = stage.total_iter;

  if (gan && !net_d_) {
    net_d_ = make_network(*cfg_.network_d, cfg_.manual_seed, 2, device_);
    const std::string& pd = cfg_.path.pretrain_network_d;
    if (!pd.empty()) load_basicsr_weights(*net_d_, pd, "auto", cfg_.path.strict_load_d);
  }
  const StageStart start = restore(resume);
  broadcast_tensors(*comm_, [&] {
    std::vector<Tensor> all;
    for (Module* m : {net_g_.get(), net_g_ema_.get(), net_d_.get()})
      if (m)
        for (auto& [_, t] : m->state_dict()) all.push_back(t);
    return all;
  }());

  StageStep step(stage, *net_g_, net_g_ema_.get(), gan ? net_d_.get() : nullptr, ema_decay_, *comm_,
                 cfg_.dist.bucket_mb, cfg_.train.inject_nan_iters);
  if (stage.perceptual_opt && !step.has_perceptual())
    log_->warn("stage '" + name + "': perceptual_opt.vgg_weights is empty, training without the perceptual loss");
  if (resume) {
    SafetensorsFile f{"training state", resume->tensors, {}};
    step.optim_g().load_state(f, "optim_g.", resume->count(&StateInfo::optim_g_steps, "optim_g_steps"));
    if (step.optim_d())
      step.optim_d()->load_state(f, "optim_d.", resume->count(&StateInfo::optim_d_steps, "optim_d_steps"));
  }
  const std::unique_ptr<data::Loader> loader = make_loader(start, stage);
  pool_ = make_pair_pool(cfg_, stage, si, comm_->rank());
  if (pool_ && resume && !restore_pair_pool(*pool_, resume->tensors, comm_->rank(), comm_->world_size()))
    log_->warn("[" + name + "] the training state holds no training-pair pool for " +
               std::to_string(comm_->world_size()) + " rank(s): the pool fills again from the next batches");
  log_->info("[" + name + "] stage " + std::to_string(si + 1) + "/" + std::to_string(cfg_.train.stages.size()) +
             " (" + stage.type + "), iterations " + std::to_string(start.iter + 1) + ".." + std::to_string(total) +
             ", " + std::to_string(loader->batches_per_epoch()) + " batches per epoch, " +
             std::to_string(comm_->world_size()) + " rank(s) (" + comm_->backend() + ") on " + device_.str());

  // On the CPU the OpenMP thread count follows the measured speed (train/thread_tuner.h),
  // unless OMP_NUM_THREADS pins it; the planned count is restored when the stage ends.
  const CpuThreadPlan plan = plan_cpu_threads();
  const int planned_threads = omp_get_max_threads();
  const bool tune_threads = device_.is_cpu() && !plan.from_env;
  ThreadTuner tuner(tune_threads ? planned_threads : 1);
  struct RestoreThreads {
    int n;
    ~RestoreThreads() { omp_set_num_threads(n); }
  } restore_threads{planned_threads};
  if (device_.is_cpu())
    log_->info("[" + name + "] " + std::to_string(planned_threads) + " CPU thread(s) (" + std::to_string(plan.cores) +
               " usable cores / " + std::to_string(plan.local_ranks) + " rank(s) on this node" +
               (plan.from_env ? ", OMP_NUM_THREADS" : "; fewer while measurably faster under load") + ")");

  ProgressWindow window{LossWindow{}, 0.0, Clock::now(), start.iter + 1};  // losses read back only when logged
  int64_t last_val = -1;
  for (int64_t iter = start.iter + 1; iter <= total; ++iter) {
    auto t0 = Clock::now();
    data::Batch batch = loader->next();
    if (pool_) pool_->exchange(batch.lq, batch.gt, iter);
    window.data_wait += std::chrono::duration<double>(Clock::now() - t0).count();
    Tensor lq = batch.lq.to(device_), gt = batch.gt.to(device_);
    StepResult r = step.run(lq, gt, iter);
    tuner.record(std::chrono::duration<double>(Clock::now() - t0).count());
    if (r.skipped) {
      note_skipped(name, iter);
    } else {
      nan_streak_ = 0;
      window.losses.add(r.losses);
    }
    if (iter % cfg_.logger.print_freq == 0 || iter == total)
      log_progress(name, iter, total, step, window, tune_threads ? tuner.threads() : planned_threads);
    if (iter % cfg_.val.val_freq == 0) {
      run_validation(name, iter);
      last_val = iter;
    }
    if (stop_requested(si, iter, step, *loader)) return;
    if (iter % cfg_.logger.save_checkpoint_freq == 0 && iter != total) checkpoint(si, iter, step, *loader, true);
  }
  if (last_val != total) run_validation(name, total);
  checkpoint(si, total, step, *loader, true);
  if (comm_->rank() == 0) {
    const std::string final_path = dir_ + "/models/net_g_" + name + "_final.safetensors";
    save_model(eval_net(), final_path);
    log_->info("[" + name + "] done: final generator " + final_path + (net_g_ema_ ? " (EMA weights)" : ""));
  }
  comm_->barrier_untimed();
}

// Everything the stages [first, last) will need that is only built when a stage begins
// (its scheduler and losses, the VGG weights file, network_d and pretrain_network_d),
// checked before the first iteration: a typo in the GAN stage must not cost the PSNR
// stage before it. network_d is built once on the CPU and dropped; this runs before
// net_g is built, whose make_network reseeds, so the global generator is unchanged.
void Run::check_stages(size_t first, size_t last) {
  const auto& stages = cfg_.train.stages;
  std::string gan_stage, gan_type;
  for (size_t si = first; si < last; ++si) {
    check_stage_config(stages[si]);
    if (gan_stage.empty() && stages[si].adversarial()) gan_stage = stages[si].name, gan_type = stages[si].type;
  }
  if (gan_stage.empty()) return;
  try {
    SR_CHECK(cfg_.network_d.has_value(), "'network_d' is missing");
    const std::unique_ptr<Module> probe = make_network(*cfg_.network_d, cfg_.manual_seed, 2, Device::cpu());
    const std::string& pd = cfg_.path.pretrain_network_d;
    if (!pd.empty()) load_basicsr_weights(*probe, pd, "auto", cfg_.path.strict_load_d);
  } catch (const Error& e) {
    fail("stage '", gan_stage, "' (", gan_type, ") needs network_d: ", e.what());
  }
}

// Device, kernels, communicator; then (rank 0) the experiment folder: its lock, config.json
// and the validation sets' check, all before the first iteration.
void Run::open_experiment() {
  SR_CHECK(cfg_.find_dataset("train"), "config: 'datasets.train' is required for training");
  SR_CHECK(cfg_.network_g.has_value(), "config: 'network_g' is required for training");
  const LaunchInfo launch = detect_launch();
  configure_cpu_threads();  // cores / ranks on this node, unless OMP_NUM_THREADS is set
  device_ = resolve_device(cfg_.device, launch.local_rank);
  kernels::set_conv_impl(cfg_.conv_impl);
  kernels::set_rdb_impl(cfg_.rdb_impl);
  comm_ = make_communicator(cfg_.dist.backend, device_);
  comm_->set_timeout(cfg_.dist.timeout_s);
  // Before anything is written: this run owns the folder (config validation has made
  // `name` one folder name, so dir_ is inside experiments_root).
  dir_ = (fs::path(cfg_.path.experiments_root) / cfg_.name).string();
  int orphans = 0;
  if (comm_->rank() == 0) {
    lock_ = std::make_unique<ExperimentLock>(dir_);
    orphans = lock_->remove_orphan_temp_files();
  }
  log_ = std::make_unique<RunLog>(dir_, comm_->rank() == 0);
  if (comm_->rank() != 0) return;
  fs::create_directories(dir_ + "/models");
  const std::string text = cfg_.json.dump(2) + "\n";
  write_file_atomically(dir_ + "/config.json", [&](std::FILE* f) {
    if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) fail("short write: ", std::strerror(errno));
  });
  if (orphans)
    log_->info("removed " + std::to_string(orphans) + " temporary file(s) left in " + dir_ +
               " by an interrupted checkpoint write");
  // Everything validation will need is checked now, not at the first val_freq iteration.
  check_validation_sets(cfg_);
}

// The stages to run, [first, last): all, or --stage's one.
std::pair<size_t, size_t> Run::selected_stages() const {
  const auto& stages = cfg_.train.stages;
  if (opt_.only_stage.empty()) return {0, stages.size()};
  std::string names;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].name == opt_.only_stage) return {i, i + 1};
    names += (names.empty() ? "" : ", ") + stages[i].name;
  }
  fail("--stage: no stage named '", opt_.only_stage, "' (stages: ", names, ")");
}

// The state --resume names (auto: the newest valid one), if any.
std::optional<TrainingState> Run::find_resume() {
  if (opt_.resume.empty()) return std::nullopt;
  std::string path = opt_.resume;
  if (path == "auto") {
    std::string skipped;
    auto found = find_latest_state(dir_, &skipped);
    if (!skipped.empty()) log_->warn("resume: skipped unreadable states: " + skipped);
    path = found.value_or("");
  }
  if (path.empty()) {
    log_->info("resume auto: no training state in " + dir_ + "/training_states, starting fresh");
    return std::nullopt;
  }
  TrainingState resume = load_training_state(path);
  const auto& stages = cfg_.train.stages;
  SR_CHECK(resume.stage_index < (int)stages.size() && stages[resume.stage_index].name == resume.stage, "resume: '",
           path, "' is from stage '", resume.stage, "', which this config does not have at index ", resume.stage_index);
  log_->info("resuming from " + path + " (stage " + resume.stage + ", iteration " + std::to_string(resume.iter) + ")");
  return resume;
}

// net_g (pretrained weights when given) and its EMA copy.
void Run::build_generator() {
  ema_decay_ = cfg_.train.ema_decay;
  net_g_ = make_network(*cfg_.network_g, cfg_.manual_seed, 1, device_);
  const std::string& pg = cfg_.path.pretrain_network_g;
  if (!pg.empty()) load_basicsr_weights(*net_g_, pg, cfg_.path.param_key_g, cfg_.path.strict_load_g);
  if (ema_decay_ > 0) {
    net_g_ema_ = make_network(*cfg_.network_g, cfg_.manual_seed, 1, device_);
    net_g_ema_->train(false);
    std::map<std::string, Tensor> sd;
    for (auto& [k, t] : net_g_->state_dict()) sd[k] = t;
    net_g_ema_->load_state_dict(sd, true);
  }
}

// Stage si starts from the previous stage's final generator: in memory when that stage ran
// in this process (si > first), else from its file.
void Run::init_from_previous(size_t si, size_t first) {
  const StageConfig& stage = cfg_.train.stages[si];
  const std::string& prev = cfg_.train.stages[si - 1].name;
  const std::string path = dir_ + "/models/net_g_" + prev + "_final.safetensors";
  if (si > first) {
    if (net_g_ema_) {
      std::map<std::string, Tensor> sd;
      for (auto& [k, t] : net_g_ema_->state_dict()) sd[k] = t;
      net_g_->load_state_dict(sd, true);
    }
  } else {
    SR_CHECK(fs::exists(path), "stage '", stage.name, "' starts from stage '", prev, "''s final generator, but ", path,
             " does not exist: run stage '", prev, "' first, or set train.stages.", si, ".init_from_previous=false");
    load_basicsr_weights(*net_g_, path, "auto", true);
    if (net_g_ema_) load_basicsr_weights(*net_g_ema_, path, "auto", true);
  }
  log_->info("[" + stage.name + "] generator initialised from stage '" + prev + "' final weights" +
             (net_g_ema_ ? " (EMA)" : ""));
}

int Run::execute_stages() {
  open_experiment();
  auto [first, last] = selected_stages();
  const std::optional<TrainingState> resume = find_resume();
  if (resume) first = std::max<size_t>(first, resume->stage_index);
  check_stages(first, last);
  build_generator();

  g_stop_signal.store(0);  // a previous run in this process (tests) may have been stopped
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  for (size_t si = first; si < last && !stopped_; ++si) {
    const bool resuming_here = resume && resume->stage_index == (int)si;
    if (!resuming_here && si > 0 && cfg_.train.stages[si].init_from_previous) init_from_previous(si, first);
    run_stage(si, resuming_here ? &*resume : nullptr);
  }
  if (comm_->rank() == 0 && !stopped_) {
    log_->info("finished. models: " + dir_ + "/models  log: " + dir_ + "/train.log  report: " + dir_ + "/report.html");
  }
  // A run stopped by a signal has a checkpoint but no final model: like a shell, exit
  // 128 + signal (130 SIGINT, 143 SIGTERM), so `srengine train && srengine test` stops
  // and a scheduler requeues the job.
  return stopped_ ? 128 + stop_signal_ : 0;
}

}  // namespace

int run_training(const json& config, const TrainOptions& options) {
  Run run(parse_config(config), options);
  return run.execute();
}

}  // namespace sr::train
