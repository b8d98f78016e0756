// The training run (see trainer.h): which stages run, resume, the networks, and each stage
// handed to the stage loop. The pieces, one purpose each: run_context.h (device,
// communicator, log, folder, kernel selection), stage_loop.h (a stage's iterations),
// checkpointer.h, validator.h; stage_step.h holds the math of each stage type.
#include "train/trainer.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/cuda_runtime.h"
#include "layers/precision.h"
#include "nets/load_weights.h"
#include "train/checkpoint.h"
#include "train/checkpointer.h"
#include "train/graphed_step.h"
#include "train/networks.h"
#include "train/run_context.h"
#include "train/stage_loop.h"
#include "train/stage_step.h"
#include "train/validation.h"
#include "train/validator.h"

namespace sr::train {

namespace fs = std::filesystem;
using nlohmann::json;

// resolve_device (and config_types.h, networks.h) are shared with `srengine bench train`
// (declared in trainer.h), so the bench builds exactly what a run builds.
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

namespace {

// Independent checks run one after the other, every failure kept, so that one run reports
// them all (a fine-tuning config whose G and D weights are both missing names both files).
class CheckList {
 public:
  // Runs `check`; an sr::Error it throws is kept, its message after `prefix`.
  void run(const std::function<void()>& check, const std::string& prefix = "") {
    try {
      check();
    } catch (const Error& e) {
      problems_.push_back(prefix + e.what());
    }
  }
  // One problem: its message; several: "N problems:" and one numbered line each.
  void raise_if_any() const {
    if (problems_.size() == 1) fail(problems_[0]);
    if (problems_.empty()) return;
    std::string all = str_cat(problems_.size(), " problems:");
    for (size_t i = 0; i < problems_.size(); ++i) all += str_cat("\n  ", i + 1, ". ", problems_[i]);
    fail(all);
  }

 private:
  std::vector<std::string> problems_;
};

// network_g / network_d as a run builds them, on `device`: the config's section, then its
// pretrained weights when path.pretrain_network_g / _d names them. The run and its checks
// (check_before_training, check_stages) share these, so what is checked is what is built.
// `note`: where the weights' param_key_g / _d group was absent and another one was loaded, and
// (strict_load false) the tensors that were not loaded.
std::unique_ptr<Module> make_generator(const Config& cfg, Device device, const LayerOptions& layers,
                                       std::string* note = nullptr) {
  std::unique_ptr<Module> g = make_network(*cfg.network_g, cfg.manual_seed, 1, device, layers);
  const std::string& pg = cfg.path.pretrain_network_g;
  if (!pg.empty()) load_basicsr_weights(*g, pg, cfg.path.param_key_g, cfg.path.strict_load_g, note, "path.param_key_g");
  return g;
}
std::unique_ptr<Module> make_discriminator(const Config& cfg, Device device, const LayerOptions& layers,
                                           std::string* note = nullptr) {
  std::unique_ptr<Module> d = make_network(*cfg.network_d, cfg.manual_seed, 2, device, layers);
  const std::string& pd = cfg.path.pretrain_network_d;
  if (!pd.empty()) load_basicsr_weights(*d, pd, cfg.path.param_key_d, cfg.path.strict_load_d, note, "path.param_key_d");
  return d;
}

// Everything the stages [first, last) will need that is only built when a stage begins
// (its scheduler and losses, the VGG weights file, network_d and pretrain_network_d),
// checked before the first iteration: a typo in the GAN stage must not cost the PSNR
// stage before it. network_d is built once on the CPU and dropped; in a run this comes
// before net_g is built, whose make_network reseeds, so the global generator is unchanged.
void check_stages(const Config& cfg, size_t first, size_t last, const LayerOptions& layers) {
  const auto& stages = cfg.train.stages;
  std::string gan_stage, gan_type;
  for (size_t si = first; si < last; ++si) {
    check_stage_config(stages[si]);
    if (gan_stage.empty() && stages[si].adversarial()) gan_stage = stages[si].name, gan_type = stages[si].type;
  }
  if (gan_stage.empty()) return;
  try {
    SR_CHECK(cfg.network_d.has_value(), "'network_d' is missing");
    make_discriminator(cfg, Device::cpu(), layers);  // built and dropped
  } catch (const Error& e) {
    fail("stage '", gan_stage, "' (", gan_type, ") needs network_d: ", e.what());
  }
}

class Run {
 public:
  Run(Config cfg, const TrainOptions& opt) : cfg_(std::move(cfg)), opt_(opt), ctx_(cfg_) {}

  // Runs the stages; on a distributed run, an error on any rank ends every rank.
  int execute() {
    try {
      return execute_stages();
    } catch (const std::exception& e) {
      // train.log keeps why the run ended, also when it ended before its first iteration.
      if (ctx_.log) {
        try {
          ctx_.log->error_in_file(e.what());
        } catch (const std::exception&) {  // a log that cannot be written: the console has the error
        }
      }
      if (ctx_.comm && ctx_.comm->world_size() > 1) ctx_.comm->abort(std::string("srengine train: error: ") + e.what());
      throw;
    }
  }

 private:
  int execute_stages();
  std::pair<size_t, size_t> selected_stages() const;
  std::string resume_path(size_t first, std::string* info, std::string* warning) const;
  std::optional<TrainingState> load_resume(const std::string& path, size_t first) const;
  void check_stages(size_t first, size_t last);
  void build_generator();
  void build_discriminator();
  bool resumed_ = false;  // a training state replaces the pretrained weights (their notes are moot)
  void init_from_previous(size_t si, size_t first);
  RunNets nets() const { return {net_g_.get(), net_g_ema_.get(), net_d_.get()}; }

  Config cfg_;
  TrainOptions opt_;
  RunContext ctx_;
  std::unique_ptr<Module> net_g_, net_g_ema_, net_d_;
};

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

// The state --resume names (auto: the newest valid one of the stages this run may run:
// with --stage, that stage's), or "" when the run starts afresh. Reads the folder only: the
// log is not open yet, so what it has to say goes to `info` and `warning`.
std::string Run::resume_path(size_t first, std::string* info, std::string* warning) const {
  if (opt_.resume.empty()) return "";
  if (opt_.resume != "auto") return opt_.resume;
  const std::string dir = experiment_dir(cfg_);
  std::string skipped;
  const std::string only = opt_.only_stage.empty() ? "" : cfg_.train.stages[first].name;
  const std::optional<std::string> found = find_latest_state(dir, &skipped, only);
  // Asked to resume, with states there but none readable: starting afresh (and archiving
  // the folder) would not be what was asked.
  SR_CHECK(found || skipped.empty(), "resume auto: no readable training state", only.empty() ? "" : " of stage '" +
           only + "'", " in ", dir, "/training_states: ", skipped, "; resume from another state with --resume FILE, "
           "or move the unreadable ones away to start afresh");
  if (!skipped.empty()) *warning = "resume: skipped unreadable states: " + skipped;
  if (!found)
    *info = "resume auto: no training state" + (only.empty() ? std::string() : " of stage '" + only + "'") +
              " in " + dir + "/training_states, starting fresh";
  return found.value_or("");
}

// The state at `path`, checked against this run: its stage is the config's (and --stage's
// when given), and its iteration within that stage's total_iter.
std::optional<TrainingState> Run::load_resume(const std::string& path, size_t first) const {
  if (path.empty()) return std::nullopt;
  TrainingState resume;
  try {
    resume = load_training_state(path);
  } catch (const Error& e) {
    if (opt_.resume_from.empty()) throw;
    fail(opt_.resume_from, " '", path, "': ", e.what(), " (srengine resumes from the .state files it writes; "
         "BasicSR's are Python pickles, which it does not read: remove the key to start afresh)");
  }
  const auto& stages = cfg_.train.stages;
  SR_CHECK(resume.stage_index < (int)stages.size() && stages[resume.stage_index].name == resume.stage, "resume: '",
           path, "' is from stage '", resume.stage, "', which this config does not have at index ", resume.stage_index);
  SR_CHECK(opt_.only_stage.empty() || resume.stage_index == (int)first, "resume: '", path, "' is from stage '",
           resume.stage, "', but --stage runs stage '", opt_.only_stage, "' only");
  const int64_t total = stages[resume.stage_index].total_iter;
  SR_CHECK(resume.iter <= total, "resume: '", path, "' is at iteration ", resume.iter, " of stage '", resume.stage,
           "', past its total_iter ", total, " (train.stages.", resume.stage_index, ".total_iter): raise total_iter "
           "to continue the stage, or resume from a state at or before iteration ", total);
  return resume;
}

// The stages' checks, and whether each can run as train.cuda_graph asks on this device.
void Run::check_stages(size_t first, size_t last) {
  for (size_t si = first; si < last; ++si)
    use_cuda_graph(cfg_, cfg_.train.stages[si], ctx_.device, ctx_.comm->backend(), nullptr);
  train::check_stages(cfg_, first, last, ctx_.layers);
}

// net_g (pretrained weights when given) and its EMA copy.
void Run::build_generator() {
  std::string note;
  net_g_ = make_generator(cfg_, ctx_.device, ctx_.layers, &note);
  if (!note.empty() && ctx_.rank0() && !resumed_) ctx_.log->warn("path.pretrain_network_g: " + note);
  set_precision(*net_g_, cfg_.precision);  // the EMA copy below stays at the device default
  if (cfg_.train.ema_decay > 0) {
    net_g_ema_ = make_network(*cfg_.network_g, cfg_.manual_seed, 1, ctx_.device, ctx_.layers);
    net_g_ema_->train(false);
    std::map<std::string, Tensor> sd;
    for (auto& [k, t] : net_g_->state_dict()) sd[k] = t;
    net_g_ema_->load_state_dict(sd, true);
  }
}

// net_d, when the first adversarial stage begins (pretrained weights when given).
void Run::build_discriminator() {
  std::string note;
  net_d_ = make_discriminator(cfg_, ctx_.device, ctx_.layers, &note);
  if (!note.empty() && ctx_.rank0() && !resumed_) ctx_.log->warn("path.pretrain_network_d: " + note);
}

// Stage si starts from the previous stage's final generator: in memory when that stage ran
// in this process (si > first), else from its file.
void Run::init_from_previous(size_t si, size_t first) {
  const StageConfig& stage = cfg_.train.stages[si];
  const std::string& prev = cfg_.train.stages[si - 1].name;
  const std::string path = ctx_.dir + "/models/net_g_" + prev + "_final.safetensors";
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
  ctx_.log->info("[" + stage.name + "] generator initialised from stage '" + prev + "' final weights" +
                 (net_g_ema_ ? " (EMA)" : ""));
}

int Run::execute_stages() {
  auto [first, last] = selected_stages();
  std::string info, warning;
  const std::string from = resume_path(first, &info, &warning);
  const std::optional<TrainingState> resume = load_resume(from, first);
  if (resume) first = std::max<size_t>(first, resume->stage_index);
  resumed_ = resume.has_value();
  open_run_context(ctx_, !resume, first, opt_.resume == "auto", {{"stage", opt_.only_stage}, {"resume", from}});
  if (!warning.empty()) ctx_.log->warn(warning);
  if (!info.empty()) ctx_.log->info(info);
  if (resume)
    ctx_.log->info("resuming from " + from + " (stage " + resume->stage + ", iteration " +
                   std::to_string(resume->iter) + ")");
  CheckList checks;
  checks.run([&] { check_stages(first, last); });
  std::string skipped_images;
  if (ctx_.rank0()) checks.run([&] { skipped_images = check_training_set(cfg_); });
  checks.run([&] { build_generator(); }, "network_g: ");
  // The state's generator fits the config's (a changed num_feat fails here, before
  // config.json is replaced: the folder keeps the config its checkpoints were made with).
  if (resume && net_g_) checks.run([&] { net_g_->load_state_dict(state_tensors(resume->tensors, "net_g."), true); },
                                   "resume: '" + from + "': network_g: ");
  checks.raise_if_any();
  if (resume) {
    // What was logged after the state (before a kill) is logged again by this run: as the
    // TensorBoard writer purges those points, metrics.jsonl drops those records (once the
    // checks have passed: a refused resume changes nothing).
    std::vector<std::string> names;
    for (const StageConfig& s : cfg_.train.stages) names.push_back(s.name);
    const int64_t dropped = ctx_.log->drop_events_past(names, (size_t)resume->stage_index, resume->iter);
    if (dropped > 0)
      ctx_.log->info("metrics.jsonl: dropped " + std::to_string(dropped) + " record(s) logged after stage " +
                     resume->stage + " iteration " + std::to_string(resume->iter) +
                     " (the training state resumed): those iterations run again; train.log keeps its lines");
  }
  if (!skipped_images.empty()) ctx_.log->warn(skipped_images);
  write_run_config(ctx_, resume ? resume->stage : "", resume ? resume->iter : 0);
  if (resume && opt_.resume != "auto" && ctx_.rank0()) {
    const std::vector<std::string> moved =
        move_aside_states_after(ctx_.dir, resume->stage_index, resume->iter, resume->stage);
    std::string names;
    for (const std::string& m : moved) names += (names.empty() ? "" : ", ") + m;
    if (!moved.empty())
      ctx_.log->warn(str_cat("resume: ", from, " is older than ", moved.size(), " state(s) of this folder (",
                             names, "): this run continues from it instead, so they are moved to ", ctx_.dir,
                             "/training_states/superseded_by_", resume->stage, "_", resume->iter,
                             " (a later --resume auto continues this run, not theirs)"));
  }

  const StopSignalScope stop_signals;
  Checkpointer checkpointer(ctx_);
  Validator validator(ctx_);
  int stop_signal = 0;
  for (size_t si = first; si < last && !stop_signal; ++si) {
    const bool resuming_here = resume && resume->stage_index == (int)si;
    if (!resuming_here && si > 0 && cfg_.train.stages[si].init_from_previous) init_from_previous(si, first);
    if (cfg_.train.stages[si].adversarial() && !net_d_) build_discriminator();
    StageLoop loop(ctx_, checkpointer, validator, nets());
    stop_signal = loop.run(si, resuming_here ? &*resume : nullptr);
  }
  // A stop signal that came after the last iteration's check (during the final validation or
  // checkpoint) finds the run complete; its status still says the run was asked to stop, so a
  // loop over runs (`train && test`, Python's KeyboardInterrupt) stops as the user meant.
  const int late = stop_signal ? 0 : StopSignalScope::pending();
  if (ctx_.rank0() && !stop_signal)
    ctx_.log->info("finished" +
                   (late ? str_cat(" (", StopSignalScope::name(late), " arrived after the last iteration: exit status ",
                                   128 + late, ")")
                         : std::string()) +
                   ". models: " + ctx_.dir + "/models  log: " + ctx_.dir + "/train.log  report: " + ctx_.dir +
                   "/report.html");
  // A run stopped by a signal has a checkpoint but no final model: like a shell, exit
  // 128 + signal (130 SIGINT, 143 SIGTERM), so `srengine train && srengine test` stops
  // and a scheduler requeues the job.
  const int signal = stop_signal ? stop_signal : late;
  return signal ? 128 + signal : 0;
}

}  // namespace

void check_before_training(const Config& cfg) {
  check_training_sections(cfg);
  if (cfg.device == "cpu") check_precision_supported(cfg.precision, Device::cpu(), cfg.conv_impl);
  const LayerOptions layers = layer_options(cfg);
  CheckList checks;
  checks.run([&] { check_stages(cfg, 0, cfg.train.stages.size(), layers); });
  checks.run([&] { make_generator(cfg, Device::cpu(), layers); }, "network_g: ");  // built and dropped
  checks.run([&] { check_validation_sets(cfg); });
  checks.run([&] { (void)check_training_set(cfg); });
  checks.raise_if_any();
}

int run_training(const json& config, const TrainOptions& options) {
  Run run(parse_config(config), options);
  return run.execute();
}

}  // namespace sr::train
