// The training run: every stage of train.stages in order (or one with --stage), each a
// loop of BasicSR SRModel (type "sr") or SRGANModel (type "srgan") iterations with
// validation, checkpoints, logs and report.html; stage k+1 starts from stage k's final
// generator. `resume` = "auto" continues from the newest valid training state, bit-exact
// on the CPU; a path resumes from that state.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sr::train {

struct TrainOptions {
  std::string only_stage;  // empty: all stages
  std::string resume;      // "", "auto" or a .state path
};

// Returns the process exit status (0 also after a clean SIGINT/SIGTERM stop).
int run_training(const nlohmann::json& config, const TrainOptions& options);

}  // namespace sr::train
