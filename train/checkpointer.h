// A run's checkpoints (the files: train/checkpoint.h). Every rank first checks that its
// replica (weights, spectral-norm u/v, EMA, optimizer moments) is bit-identical to rank
// 0's; rank 0 alone then writes the models and the training state and prunes them to
// logger.keep_last, while the other ranks wait for the files.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "data/loader.h"
#include "layers/module.h"
#include "train/pair_pool.h"
#include "train/run_context.h"
#include "train/stage_step.h"

namespace sr::train {

// The networks of a run: G, its EMA copy (train.ema_decay > 0) and D (once a GAN stage
// has built it).
struct RunNets {
  Module* g = nullptr;
  Module* g_ema = nullptr;
  Module* d = nullptr;
  // What validation measures and a stage ships: the EMA weights when there are any.
  Module& eval() const { return g_ema ? *g_ema : *g; }
};

class Checkpointer {
 public:
  explicit Checkpointer(RunContext& ctx) : ctx_(ctx) {}

  // Models and training state of stage `si` after `iter` iterations.
  // `at`: the loader position to record, when it is not loader.position() (a batch that
  // failed to load is the next one to read).
  void save(size_t si, int64_t iter, const RunNets& nets, StageStep& step, const data::Loader& loader,
            std::optional<data::LoaderPosition> at = std::nullopt);
  // The state dict with the network's build options in the metadata under `which`
  // (network_g / network_d), so inference needs no config (nets/network_from_weights.h).
  void save_model(Module& net, const std::string& path, const std::string& which = "network_g");
  // The newest training state written ("" before the first): named by messages.
  const std::string& last() const { return last_; }
  // The training-pair pool of the running stage (realesrnet / realesrgan; nullptr: none),
  // saved with the state: gathered from every rank, since each rank's pool differs.
  void set_pair_pool(const PairPool* pool) { pool_ = pool; }

 private:
  void write(size_t si, int64_t iter, const RunNets& nets, StageStep& step, const data::Loader& loader,
             const data::LoaderPosition& at, TrainingState& state);
  void check_replicas(const std::string& stage, int64_t iter, const NamedTensors& state);

  RunContext& ctx_;
  std::string last_;
  const PairPool* pool_ = nullptr;
};

}  // namespace sr::train
