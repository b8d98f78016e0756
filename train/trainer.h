// The training run: every stage of train.stages in order (or one with --stage), each a
// loop of BasicSR SRModel (type "sr") or SRGANModel (type "srgan") iterations with
// validation, checkpoints, logs and report.html; stage k+1 starts from stage k's final
// generator. `resume` = "auto" continues from the newest valid training state, bit-exact
// on the CPU; a path resumes from that state.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "layers/module.h"
#include "train/config_types.h"
#include "train/networks.h"

namespace sr::train {

struct TrainOptions {
  std::string only_stage;  // empty: all stages
  std::string resume;      // "", "auto" or a .state path
  // Where a path came from when not --resume (an option file's key), for errors. Initialised
  // so that {stage, resume} still names every field a caller means to set.
  std::string resume_from{};
};

// `config` is what validate_config() returned (parse_config makes the typed view). Returns
// the process exit status: 0 when every stage finished, 128 + the signal (130 for SIGINT,
// 143 for SIGTERM) when a signal stopped the run after writing its checkpoint.
int run_training(const nlohmann::json& config, const TrainOptions& options);

// What a run checks before its first iteration that needs neither its device nor its folder,
// for every stage (a run with --stage or --resume checks the stages it runs): datasets.train
// and network_g are there; each stage's scheduler and losses; network_g and, for an
// adversarial stage, network_d built once on the CPU with their pretrained weights loaded
// (names and shapes); the precision on a CPU run; every validation image's header and size
// (check_validation_sets). `srengine config --check` runs it, so that its "ok" means the run
// starts. Throws the first problem, naming the key or file. Building the networks reseeds the
// global generator (make_network), as a run does before it builds its own.
void check_before_training(const Config& config);

// The pieces of a run that `srengine bench train` reuses, so that it times exactly what
// training builds:
// the device of `device` ("auto", "cpu", "cuda", "cuda:N", "simt") for this local rank,
Device resolve_device(const std::string& device, int local_rank);
// and the networks, from train/networks.h's make_network.

}  // namespace sr::train
