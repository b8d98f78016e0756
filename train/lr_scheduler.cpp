// Closed-form LR schedules (see lr_scheduler.h).
#include "train/lr_scheduler.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace sr::train {

LRSchedule::LRSchedule(double base_lr, const SchedulerConfig& opt, int64_t warmup_iter)
    : base_(base_lr), warmup_(warmup_iter) {
  cosine_ = opt.type == "CosineAnnealingRestartLR";
  milestones_ = opt.milestones;
  restarts_ = opt.restarts;
  periods_ = opt.periods;
  restart_weights_ = opt.restart_weights;
  gamma_ = opt.gamma;
  eta_min_ = opt.eta_min;
  std::sort(milestones_.begin(), milestones_.end());
  if (cosine_) {
    SR_CHECK(!periods_.empty(), "scheduler: CosineAnnealingRestartLR needs 'periods'");
    SR_CHECK(restart_weights_.size() == periods_.size(), "scheduler: 'restart_weights' has ",
             restart_weights_.size(), " entries but 'periods' has ", periods_.size());
  } else if (!restarts_.empty()) {
    SR_CHECK(restart_weights_.size() == restarts_.size(), "scheduler: 'restart_weights' has ",
             restart_weights_.size(), " entries but 'restarts' has ", restarts_.size());
  }
}

double LRSchedule::lr_at(int64_t iter) const {
  if (warmup_ > 0 && iter < warmup_) return base_ * (double)iter / (double)warmup_;
  const int64_t e = std::max<int64_t>(iter - 1, 0);  // BasicSR's scheduler.last_epoch
  if (cosine_) {
    int64_t start = 0;
    for (size_t i = 0; i < periods_.size(); ++i) {
      const int64_t end = start + periods_[i];
      if (e <= end || i + 1 == periods_.size()) {
        const double frac = std::min(1.0, (double)(e - start) / (double)periods_[i]);
        return eta_min_ + restart_weights_[i] * 0.5 * (base_ - eta_min_) * (1 + std::cos(M_PI * frac));
      }
      start = end;
    }
    return eta_min_;
  }
  // MultiStep with restarts: the most recent restart sets the level, later milestones decay it.
  double weight = 1.0;
  int64_t from = -1;  // milestones after this point count
  for (size_t i = 0; i < restarts_.size(); ++i) {
    if (restarts_[i] <= e && restarts_[i] > from) {
      from = restarts_[i];
      weight = restart_weights_[i];
    }
  }
  int count = 0;
  for (int64_t m : milestones_)
    if (m > from && m <= e) ++count;
  // A restart at 0 with weight 1 is BasicSR's default (restarts=(0,)).
  return base_ * weight * std::pow(gamma_, count);
}

}  // namespace sr::train
