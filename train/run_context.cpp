// A training run's shared context (run_context.h).
#include "train/run_context.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/atomic_file.h"
#include "engine/cpu_threads.h"
#include "layers/precision.h"
#include "train/config_changes.h"
#include "train/experiment_folder.h"
#include "train/networks.h"
#include "train/trainer.h"
#include "train/validation.h"

namespace sr::train {

namespace fs = std::filesystem;

void check_training_sections(const Config& cfg) {
  SR_CHECK(cfg.find_dataset("train"), "config: 'datasets.train' is required for training");
  SR_CHECK(cfg.network_g.has_value(), "config: 'network_g' is required for training");
}

namespace {

// A fresh start in a folder an earlier run filled (experiment_folder.h): from the first
// stage, the old folder is archived and this run takes a new one (returns the archive's
// path); from a later stage, checkpoints of that stage or a later one are refused.
std::string make_room_for_fresh_run(RunContext& ctx, size_t first_stage, bool resume_auto) {
  const auto& stages = ctx.cfg.train.stages;
  if (first_stage == 0) {
    if (!holds_previous_run(ctx.dir)) return "";
    const std::string archived = archive_experiment_folder(ctx.dir);
    ctx.lock = std::make_unique<ExperimentLock>(ctx.dir);  // the new, empty folder's (the old lock goes)
    return archived;
  }
  std::vector<std::string> names;
  for (size_t i = first_stage; i < stages.size(); ++i) names.push_back(stages[i].name);
  const std::vector<std::string> files = stage_checkpoint_files(ctx.dir, names);
  SR_CHECK(files.empty(), "experiment folder '", ctx.dir, "' already holds ", files.size(),
           " checkpoint file(s) of stage '", names[0], "' or a later one (", files.front(), "): ",
           resume_auto ? "--resume auto found no training state of the stage to continue; "
                       : "continue that stage with --resume auto; ",
           "to train it again from its start, move those files away first, or give this run another name "
           "(--set name=...)");
  return "";
}

// A key of the compared job as the user wrote it: /config/train/stages/0/total_iter is
// train.stages.0.total_iter, /options/resume is --resume.
std::string job_key_name(const std::string& pointer) {
  if (pointer.rfind("/options/", 0) == 0) return "--" + pointer.substr(9);
  std::string key = pointer.rfind("/config/", 0) == 0 ? pointer.substr(8) : pointer;
  std::replace(key.begin(), key.end(), '/', '.');
  return key;
}

// A value for an error message, cut short when long (a whole section).
std::string job_value_text(const nlohmann::json& job, const std::string& pointer) {
  const nlohmann::json::json_pointer at(pointer);
  if (!job.contains(at)) return "absent";
  std::string text = job.at(at).dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

}  // namespace

void check_same_job_on_every_rank(Communicator& comm, const nlohmann::json& job) {
  if (comm.world_size() == 1) return;
  // Rank 0's text, one byte per double (host values travel as doubles; a config is a few KB).
  const std::string mine = job.dump();
  std::vector<double> size{comm.rank() == 0 ? (double)mine.size() : 0.0};
  comm.broadcast_host(size, 0);
  std::vector<double> bytes((size_t)size[0]);
  if (comm.rank() == 0)
    for (size_t i = 0; i < mine.size(); ++i) bytes[i] = (double)(unsigned char)mine[i];
  comm.broadcast_host(bytes, 0);
  std::string text(bytes.size(), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) text[i] = (char)(unsigned char)bytes[i];
  const nlohmann::json rank0_job = nlohmann::json::parse(text);
  const nlohmann::json patch = nlohmann::json::diff(rank0_job, job);
  // Every rank learns whether any differs before any of them touches the folder.
  std::vector<double> differing{patch.empty() ? 0.0 : 1.0};
  comm.all_reduce_host(differing);
  if (differing[0] == 0) return;
  if (patch.empty()) {
    // The differing rank ends the job with its message (Run::execute aborts every rank).
    comm.barrier();
    fail("another rank runs another job than rank 0 (its error names the key)");
  }
  const std::string pointer = patch[0].at("path").get<std::string>();
  fail("rank ", comm.rank(), " runs another job than rank 0: ", job_key_name(pointer), " is ",
       job_value_text(job, pointer), " here but ", job_value_text(rank0_job, pointer), " on rank 0",
       patch.size() > 1 ? str_cat(" (and ", patch.size() - 1, " more difference(s))") : std::string(),
       ". Every rank must be given the same config file, --set values, --stage and --resume "
       "(mpirun -np N srengine train CFG ...; docs/DISTRIBUTED.md)");
}

std::string experiment_dir(const Config& cfg) { return (fs::path(cfg.path.experiments_root) / cfg.name).string(); }

void open_run_context(RunContext& ctx, bool fresh, size_t first_stage, bool resume_auto,
                      const nlohmann::json& launch_options) {
  const Config& cfg = ctx.cfg;
  check_training_sections(cfg);
  const LaunchInfo launch = detect_launch();
  check_not_torchrun_launched(launch);
  configure_cpu_threads();  // cores / ranks on this node, unless OMP_NUM_THREADS is set
  ctx.device = resolve_device(cfg.device, launch.local_rank);
  check_precision_supported(cfg.precision, ctx.device, cfg.conv_impl);
  ctx.layers = layer_options(cfg);
  ctx.comm = make_communicator(cfg.dist.backend, ctx.device);
  ctx.comm->set_timeout(cfg.dist.timeout_s);
  check_same_job_on_every_rank(*ctx.comm, {{"config", cfg.json}, {"options", launch_options}});
  // Before anything is written: this run owns the folder (config validation has made
  // `name` one folder name, so dir is inside experiments_root).
  ctx.dir = experiment_dir(cfg);
  int orphans = 0;
  std::string archived;
  if (ctx.rank0()) {
    ctx.lock = std::make_unique<ExperimentLock>(ctx.dir);
    orphans = ctx.lock->remove_orphan_temp_files();
    if (fresh) archived = make_room_for_fresh_run(ctx, first_stage, resume_auto);
  }
  ctx.log = std::make_unique<RunLog>(ctx.dir, ctx.rank0());
  if (!ctx.rank0()) return;
  fs::create_directories(ctx.dir + "/models");
  if (!archived.empty())
    ctx.log->info("the experiment folder held an earlier run, moved to " + archived +
                  (resume_auto ? " (--resume auto found no training state in it to continue)"
                               : " (continue a run with --resume auto instead)"));
  if (cfg.json.at("logger").at("use_tb_logger") == true) {
    ctx.log->enable_tensorboard(ctx.dir + "/tb_logger");
    ctx.log->info("logger.use_tb_logger: TensorBoard event files go to " + ctx.dir + "/tb_logger/<stage> "
                  "(tensorboard --logdir " + ctx.dir + "/tb_logger)");
  }
  if (orphans)
    ctx.log->info("removed " + std::to_string(orphans) + " temporary file(s) left in " + ctx.dir +
                  " by an interrupted checkpoint write");
  // Everything validation will need is checked now, not at the first val_freq iteration.
  check_validation_sets(cfg);
}

namespace {

// "key old -> new; key old -> new" of the changes whose shapes_training is `shaping`.
std::string describe_changes(const std::vector<ConfigChange>& changes, bool shaping) {
  std::string out;
  for (const ConfigChange& c : changes)
    if (c.shapes_training == shaping) out += (out.empty() ? "" : "; ") + c.key + " " + c.before + " -> " + c.after;
  return out;
}

void note_config_changes(const RunContext& ctx, const std::string& stage, int64_t iter) {
  const std::string path = ctx.dir + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.log->warn("resume: " + path + " is missing, so this run's config cannot be compared with the one its " +
                  "checkpoints were made with");
    return;
  }
  const std::string old_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const nlohmann::json before = nlohmann::json::parse(old_text, nullptr, false);
  if (before.is_discarded()) {
    ctx.log->warn("resume: " + path + " is not valid JSON, so this run's config cannot be compared with the one " +
                  "its checkpoints were made with");
    return;
  }
  const std::vector<ConfigChange> changes = config_changes(before, ctx.cfg.json);
  if (changes.empty()) return;
  const std::string kept = str_cat("config_until_", stage, "_", iter, ".json");
  write_text_atomically(ctx.dir + "/" + kept, old_text);
  const std::string shaping = describe_changes(changes, true), other = describe_changes(changes, false);
  if (!shaping.empty())
    ctx.log->warn(str_cat("resume: the config differs from the one the checkpoints were made with (now ", kept,
                          ") in keys that shape training: ", shaping, ". Training goes on with the new values, so ",
                          "after iteration ", iter, " of stage '", stage, "' it is not the run it resumes"));
  if (!other.empty())
    ctx.log->info(str_cat("resume: config changes that do not shape training: ", other, " (the earlier config is ",
                          kept, ")"));
}

}  // namespace

void write_run_config(const RunContext& ctx, const std::string& resumed_stage, int64_t resumed_iter) {
  if (!ctx.rank0()) return;
  if (!resumed_stage.empty()) note_config_changes(ctx, resumed_stage, resumed_iter);
  write_text_atomically(ctx.dir + "/config.json", ctx.cfg.json.dump(2) + "\n");
}

}  // namespace sr::train
