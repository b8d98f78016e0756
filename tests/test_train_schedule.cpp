// LR schedules: BasicSR's stepping (LR at iteration t is the schedule at t-1).
#include <catch2/catch.hpp>

#include <cmath>

#include "train/lr_scheduler.h"

using sr::train::LRSchedule;
using sr::train::SchedulerConfig;

namespace {
SchedulerConfig multistep(std::vector<int64_t> milestones, double gamma, std::vector<int64_t> restarts = {},
                          std::vector<double> restart_weights = {1.0}) {
  SchedulerConfig c;
  c.type = "MultiStepLR";
  c.milestones = std::move(milestones);
  c.gamma = gamma;
  c.restarts = std::move(restarts);
  c.restart_weights = std::move(restart_weights);
  return c;
}
}  // namespace

TEST_CASE("schedule/multistep_changes_after_each_milestone") {
  LRSchedule s(1e-4, multistep({50, 100}, 0.5), -1);
  CHECK(s.lr_at(1) == Approx(1e-4));
  CHECK(s.lr_at(50) == Approx(1e-4));
  CHECK(s.lr_at(51) == Approx(5e-5));
  CHECK(s.lr_at(100) == Approx(5e-5));
  CHECK(s.lr_at(101) == Approx(2.5e-5));
  CHECK(s.lr_at(100000) == Approx(2.5e-5));
}

TEST_CASE("schedule/multistep_restarts") {
  LRSchedule s(1.0, multistep({10, 30}, 0.1, {0, 20}, {1.0, 0.5}), -1);
  CHECK(s.lr_at(11) == Approx(0.1));
  CHECK(s.lr_at(21) == Approx(0.5));   // restart at last_epoch 20
  CHECK(s.lr_at(31) == Approx(0.05));  // milestone after the restart
}

TEST_CASE("schedule/cosine_annealing_restart") {
  SchedulerConfig cosine;
  cosine.type = "CosineAnnealingRestartLR";
  cosine.periods = {10, 10};
  cosine.restart_weights = {1.0, 0.5};
  cosine.eta_min = 1e-7;
  LRSchedule s(2e-4, cosine, -1);
  CHECK(s.lr_at(1) == Approx(2e-4));
  CHECK(s.lr_at(6) == Approx(1e-7 + 0.5 * (2e-4 - 1e-7)));  // half way: cos(pi/2) = 0
  CHECK(s.lr_at(11) == Approx(1e-7));                        // end of the first cycle
  CHECK(s.lr_at(12) == Approx(1e-7 + 0.5 * 0.5 * (2e-4 - 1e-7) * (1 + std::cos(M_PI * 0.1))));
}

TEST_CASE("schedule/linear_warmup_then_schedule") {
  LRSchedule s(1e-3, multistep({100}, 0.5), 10);
  CHECK(s.lr_at(1) == Approx(1e-4));
  CHECK(s.lr_at(5) == Approx(5e-4));
  CHECK(s.lr_at(10) == Approx(1e-3));  // back on the schedule, unlike BasicSR's recursive form
  CHECK(s.lr_at(101) == Approx(5e-4));
}
