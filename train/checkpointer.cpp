// A run's checkpoints: replica check, models, training state, pruning (checkpointer.h).
#include "train/checkpointer.h"

#include <filesystem>
#include <set>

#include "train/grad_reducer.h"
#include "train/realesrgan_stage.h"

namespace sr::train {

namespace fs = std::filesystem;

namespace {

void append_prefixed(NamedTensors& out, const std::string& prefix, const NamedTensors& in) {
  for (const auto& [name, t] : in) out.push_back({prefix + name, t});
}

}  // namespace

void Checkpointer::save_model(Module& net, const std::string& path, const std::string& which) {
  fs::create_directories(fs::path(path).parent_path());
  const NetworkConfig& spec = which == "network_d" ? *ctx_.cfg.network_d : *ctx_.cfg.network_g;
  write_safetensors(path, net.state_dict(), {{"format", "pt"}, {"producer", "srengine"}, {which, spec.args.dump()}});
}

void Checkpointer::save(size_t si, int64_t iter, const RunNets& nets, StageStep& step, const data::Loader& loader,
                        std::optional<data::LoaderPosition> at) {
  const std::string& stage = ctx_.cfg.train.stages[si].name;
  TrainingState s;
  append_prefixed(s.tensors, "net_g.", nets.g->state_dict());
  if (nets.g_ema) append_prefixed(s.tensors, "net_g_ema.", nets.g_ema->state_dict());
  if (nets.d) append_prefixed(s.tensors, "net_d.", nets.d->state_dict());
  append_prefixed(s.tensors, "", step.optim_g().state("optim_g."));
  if (step.optim_d()) append_prefixed(s.tensors, "", step.optim_d()->state("optim_d."));
  check_replicas(stage, iter, s.tensors);
  if (pool_) append_prefixed(s.tensors, "", gather_pair_pool(*pool_, *ctx_.comm, ctx_.device));  // differs per rank
  if (ctx_.rank0()) write(si, iter, nets, step, loader, at.value_or(loader.position()), s);
  ctx_.comm->barrier_untimed();  // the other ranks wait, exempt from dist.timeout_s, for the files
}

void Checkpointer::write(size_t si, int64_t iter, const RunNets& nets, StageStep& step, const data::Loader& loader,
                         const data::LoaderPosition& pos, TrainingState& s) {
  const std::string& stage = ctx_.cfg.train.stages[si].name;
  const std::string& dir = ctx_.dir;
  const int keep = ctx_.cfg.logger.keep_last;
  const std::string models = dir + "/models/", tag = stage + "_" + std::to_string(iter);
  // The generator of each metric's best validation so far outlives keep_last: the log's
  // "(best X @iter)" names a model that exists (when a checkpoint fell on that iteration).
  std::set<int64_t> best_iters;
  for (const auto& [key, best] : ctx_.counters.best)
    if (key.compare(0, stage.size() + 1, stage + "/") == 0) best_iters.insert(best.iter);
  save_model(*nets.g, models + "net_g_" + tag + ".safetensors");
  prune_checkpoints(dir + "/models", "net_g_", stage, ".safetensors", keep, best_iters);
  if (nets.g_ema) {
    save_model(*nets.g_ema, models + "net_g_ema_" + tag + ".safetensors");
    prune_checkpoints(dir + "/models", "net_g_ema_", stage, ".safetensors", keep, best_iters);
  }
  if (nets.d && step.is_gan()) {
    save_model(*nets.d, models + "net_d_" + tag + ".safetensors", "network_d");
    prune_checkpoints(dir + "/models", "net_d_", stage, ".safetensors", keep);
  }
  s.stage = stage;
  s.stage_index = (int)si;
  s.iter = iter;
  s.info.optim_g_steps = step.optim_g().steps();
  s.info.optim_d_steps = step.optim_d() ? step.optim_d()->steps() : 0;
  s.info.loader_epoch = pos.epoch;
  s.info.loader_batch = pos.batch;
  s.info.world_size = ctx_.comm->world_size();
  s.info.loader_global_batch = ctx_.comm->world_size() * loader.batch_size();
  s.info.loader_dataset_size = (int64_t)loader.dataset().size();
  s.info.seed = ctx_.cfg.manual_seed;
  s.info.nan_streak = ctx_.counters.nan_streak;
  s.info.best = ctx_.counters.best;
  s.info.validated_iter = ctx_.counters.validated_iter;
  s.info.has_net_d = nets.d != nullptr;
  if (const LossScaler* ls = step.loss_scaler()) s.info.loss_scaler = ls->state();
  save_training_state(dir, s);
  prune_checkpoints(dir + "/training_states", "", stage, ".state", keep);
  last_ = state_path(dir, stage, iter);
}

// Rank 0 alone writes the state, so before it does, every rank checks that its copy is
// bit-identical to rank 0's: a divergence would otherwise go unnoticed until a resume on
// another world size.
void Checkpointer::check_replicas(const std::string& stage, int64_t iter, const NamedTensors& state) {
  Communicator& comm = *ctx_.comm;
  if (comm.world_size() == 1) return;
  const std::vector<std::string> differ = replicas_differing_from_rank0(comm, state);
  std::vector<double> count{(double)differ.size()};
  comm.all_reduce_host(count);
  if (!differ.empty()) {
    std::string names;
    for (size_t i = 0; i < differ.size() && i < 5; ++i) names += (i ? ", " : "") + differ[i];
    fail("replica check at stage '", stage, "' iteration ", iter, ": ", differ.size(), " tensor(s) on rank ",
         comm.rank(), " differ from rank 0's: ", names, differ.size() > 5 ? ", ..." : "");
  }
  SR_CHECK(count[0] == 0, "replica check at stage '", stage, "' iteration ", iter, ": another rank differs from rank 0");
  int sn = 0, ema = 0;
  for (const auto& [name, _] : state) {
    sn += name.size() > 9 && (name.compare(name.size() - 9, 9, ".weight_u") == 0 ||
                              name.compare(name.size() - 9, 9, ".weight_v") == 0);
    ema += name.compare(0, 10, "net_g_ema.") == 0;
  }
  ctx_.log->info("[" + stage + "] iter " + std::to_string(iter) + ": replica check: " + std::to_string(state.size()) +
                 " tensors bit-identical on " + std::to_string(comm.world_size()) + " ranks (" + std::to_string(sn) +
                 " spectral-norm u/v, " + std::to_string(ema) + " EMA)");
}

}  // namespace sr::train
