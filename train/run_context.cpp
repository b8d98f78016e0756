// A training run's shared context (run_context.h).
#include "train/run_context.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/atomic_file.h"
#include "engine/cpu_threads.h"
#include "layers/precision.h"
#include "train/networks.h"
#include "train/trainer.h"
#include "train/validation.h"

namespace sr::train {

namespace fs = std::filesystem;

void check_training_sections(const Config& cfg) {
  SR_CHECK(cfg.find_dataset("train"), "config: 'datasets.train' is required for training");
  SR_CHECK(cfg.network_g.has_value(), "config: 'network_g' is required for training");
}

void open_run_context(RunContext& ctx) {
  const Config& cfg = ctx.cfg;
  check_training_sections(cfg);
  const LaunchInfo launch = detect_launch();
  configure_cpu_threads();  // cores / ranks on this node, unless OMP_NUM_THREADS is set
  ctx.device = resolve_device(cfg.device, launch.local_rank);
  check_precision_supported(cfg.precision, ctx.device, cfg.conv_impl);
  ctx.layers = layer_options(cfg);
  ctx.comm = make_communicator(cfg.dist.backend, ctx.device);
  ctx.comm->set_timeout(cfg.dist.timeout_s);
  // Before anything is written: this run owns the folder (config validation has made
  // `name` one folder name, so dir is inside experiments_root).
  ctx.dir = (fs::path(cfg.path.experiments_root) / cfg.name).string();
  int orphans = 0;
  if (ctx.rank0()) {
    ctx.lock = std::make_unique<ExperimentLock>(ctx.dir);
    orphans = ctx.lock->remove_orphan_temp_files();
  }
  ctx.log = std::make_unique<RunLog>(ctx.dir, ctx.rank0());
  if (!ctx.rank0()) return;
  fs::create_directories(ctx.dir + "/models");
  const std::string text = cfg.json.dump(2) + "\n";
  write_file_atomically(ctx.dir + "/config.json", [&](std::FILE* f) {
    if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) fail("short write: ", std::strerror(errno));
  });
  if (orphans)
    ctx.log->info("removed " + std::to_string(orphans) + " temporary file(s) left in " + ctx.dir +
                  " by an interrupted checkpoint write");
  // Everything validation will need is checked now, not at the first val_freq iteration.
  check_validation_sets(cfg);
}

}  // namespace sr::train
