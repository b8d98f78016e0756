// Validation during a run (the measuring itself: train/validation.h). Rank 0 measures every
// val*/test* set with the generator a stage ships (EMA weights when on), logs each mean
// beside its bicubic baseline and the best value so far (val.metrics.<name>.better; kept in
// the run's counters, so a resumed run continues the record), adds the event to
// metrics.jsonl and rewrites report.html; the other ranks wait, untimed.
#pragma once
#include <cstdint>
#include <string>

#include "layers/module.h"
#include "train/run_context.h"

namespace sr::train {

class Validator {
 public:
  explicit Validator(RunContext& ctx) : ctx_(ctx) {}
  void run(const std::string& stage, int64_t iter, Module& net);

 private:
  void validate_and_log(const std::string& stage, int64_t iter, Module& net);
  // The best value of metric key `k` ("<set>_<metric>") of `stage`, after `value` at `iter`.
  const BestMetric& update_best(const std::string& stage, const std::string& k, double value, int64_t iter);

  RunContext& ctx_;
};

}  // namespace sr::train
