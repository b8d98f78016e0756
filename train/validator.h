// Validation during a run (the measuring itself: train/validation.h). Rank 0 measures every
// val*/test* set with the generator a stage ships (EMA weights when on), logs each mean
// beside its bicubic baseline and the best value so far (val.metrics.<name>.better; kept in
// the run's counters, so a resumed run continues the record), adds the event to
// metrics.jsonl and rewrites report.html; the other ranks wait, untimed. A validation that
// fails is reported to every rank (ValidationFailure), so that they can save the iteration's
// training state together before the run stops.
#pragma once
#include <cstdint>
#include <string>

#include "layers/module.h"
#include "train/run_context.h"
#include "train/validation.h"

namespace sr::train {

// How a validation failed, the same on every rank (rank 0's message; the others say where
// to look). `diverged`: the generator's output was not finite (validation.h: DivergedOutput).
struct ValidationFailure {
  bool failed = false, diverged = false;
  std::string message;
};

class Validator {
 public:
  explicit Validator(RunContext& ctx) : ctx_(ctx) {}
  ValidationFailure run(const std::string& stage, int64_t iter, Module& net);

 private:
  void validate_and_log(const std::string& stage, int64_t iter, Module& net);
  // The best value of metric key `k` ("<set>_<metric>") of `stage`, after `value` at `iter`.
  BestMetric update_best(const std::string& stage, const std::string& k, double value, int64_t iter);

  RunContext& ctx_;
  BicubicScores bicubic_;  // the baselines' scores, measured at the run's first validation
};

}  // namespace sr::train
