// Learning-rate schedules with BasicSR's semantics, in closed form so that resuming at
// any iteration gives exactly the uninterrupted schedule.
//
// BasicSR steps its schedulers before every iteration except the first, so the LR used
// at (1-based) iteration t is schedule(t - 1):
//   MultiStepLR (BasicSR's MultiStepRestartLR): with r the last restart <= t-1,
//     lr = base * w_r * gamma^(number of milestones m with r < m <= t-1)
//   CosineAnnealingRestartLR: with cycle i holding t-1 (cumulative periods P_i),
//     lr = eta_min + w_i * (base - eta_min) * (1 + cos(pi * (t-1 - P_{i-1}) / period_i)) / 2
//   Linear warm-up (warmup_iter > 0): for t < warmup_iter, lr = base * t / warmup_iter.
// BasicSR's recursive MultiStep scheduler keeps the warm-up's last value after warm-up
// (initial*(w-1)/w); the closed form returns to the schedule, which is what users expect.
#pragma once
#include <cstdint>
#include <vector>

#include "train/config_types.h"

namespace sr::train {

class LRSchedule {
 public:
  LRSchedule(double base_lr, const SchedulerConfig& opt, int64_t warmup_iter);
  double lr_at(int64_t iter) const;  // LR used at 1-based iteration `iter`
  double base_lr() const { return base_; }

 private:
  double base_;
  bool cosine_;
  std::vector<int64_t> milestones_, restarts_, periods_;
  std::vector<double> restart_weights_;
  double gamma_, eta_min_;
  int64_t warmup_;
};

}  // namespace sr::train
