// Training checkpoints under <experiment>/:
//   models/net_g_<stage>_<iter>.safetensors, net_g_ema_<stage>_<iter>, net_d_<stage>_<iter>
//       BasicSR key names, loadable by `srengine infer` and tools/convert_pth.py;
//   models/net_g_<stage>_final.safetensors   end of a stage (EMA weights when EMA is on);
//   training_states/<stage>_<iter>.state      everything an exact resume needs: every
//       network's parameters and buffers (spectral-norm u/v included), optimizer moments,
//       the step counts, the data-loader position, the RNG state, the fp16 loss scaler's
//       state and the stage.
// Every file is written atomically (temporary file, fsync, rename), so a crash, SIGINT or
// full disk leaves the previous checkpoint intact. keep_last prunes older files.
#pragma once
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "train/loss_scaler.h"

namespace sr::train {

// The best value of one validation metric so far ("<stage>/<set>_<metric>" in StateInfo::best).
struct BestMetric {
  double value = 0;
  int64_t iter = 0;
};

// The state record (a .state file's "state" metadata, JSON): written by save_training_state
// only, read and checked by load_training_state only. The counts a resume cannot do
// without are optional: a record of an older srengine may lack them, and resuming from it
// is then an error naming the missing count (count()).
struct StateInfo {
  std::optional<int64_t> optim_g_steps, optim_d_steps, loader_epoch, loader_batch;
  int world_size = 1;
  std::optional<int64_t> loader_global_batch;  // absent before it was recorded
  std::optional<int64_t> loader_dataset_size;  // training samples when saved (absent in older states)
  uint64_t seed = 0;
  int nan_streak = 0;
  std::map<std::string, BestMetric> best;
  bool has_net_d = false;
  std::optional<LossScalerState> loss_scaler;  // precision fp16: scale, good-step counter, skips
  std::optional<int64_t> validated_iter;  // the stage's last validated iteration (absent in older states)
};

struct TrainingState {
  std::string stage;
  int stage_index = 0;
  int64_t iter = 0;  // iterations of `stage` completed
  NamedTensors tensors;      // "net_g.*", "net_g_ema.*", "net_d.*", "optim_g.*", "optim_d.*"
  StateInfo info;            // optimizer steps, loader position, seed, best metrics, ...
  // One of info's required counts; an error naming it when the record lacks it.
  int64_t count(const std::optional<int64_t> StateInfo::*field, const char* key) const;
};

// The tensors of one network (prefix "net_g.", "net_g_ema.", "net_d.") with the prefix taken off.
std::map<std::string, Tensor> state_tensors(const NamedTensors& tensors, const std::string& prefix);

std::string state_path(const std::string& experiment_dir, const std::string& stage, int64_t iter);
void save_training_state(const std::string& experiment_dir, const TrainingState& state);
// Every field of the state record is checked for type and range (stage_index, iter, step
// counts, loader position, best metrics); a crafted or damaged record is an error naming
// the file, the key and the value.
TrainingState load_training_state(const std::string& path);

// The newest readable state (by stage index, then iteration) in <experiment>/training_states,
// of stage `only_stage` when it is not empty; unreadable files are skipped with a note in
// `skipped`. Empty when there is none.
std::optional<std::string> find_latest_state(const std::string& experiment_dir, std::string* skipped = nullptr,
                                             const std::string& only_stage = "");

// A run resumed from an older state than the folder's newest starts a new branch from it: the
// states after it (by stage index, then iteration) belong to the abandoned branch, and a later
// `--resume auto` would continue that branch instead of this one. They are moved, not deleted,
// into <experiment>/training_states/superseded_by_<stage>_<iter>/; returns their file names.
std::vector<std::string> move_aside_states_after(const std::string& experiment_dir, int stage_index, int64_t iter,
                                                 const std::string& stage);

// The iteration in a checkpoint file name <head><iteration><ext> (head "net_g_psnr_", ext
// ".safetensors"), -1 for <head>final<ext>, nothing for any other name (so stage "a" does not
// claim stage "a_b"'s files, and digits beyond int64 are no iteration).
std::optional<int64_t> checkpoint_iteration(const std::string& name, const std::string& head, const std::string& ext);

// Deletes all but the `keep_last` newest files matching <prefix><stage>_<number><suffix> in
// `dir` (files of other stages, *_final files and those of the iterations in `keep_iters`,
// the best validation's, are kept).
void prune_checkpoints(const std::string& dir, const std::string& prefix, const std::string& stage,
                       const std::string& suffix, int keep_last, const std::set<int64_t>& keep_iters = {});

}  // namespace sr::train
