// RandomStepped: a module whose training forward draws random numbers (SwinIR's stochastic
// depth) keys its draws to the training iteration and the rank instead of a running
// generator, so a run resumed from a checkpoint draws what the uninterrupted run drew, and
// each rank's samples draw their own (as BasicSR seeds each rank apart). The training step
// calls set_random_step(iteration, rank) on the generator before its forward
// (train/stage_step.cpp).
#pragma once
#include <cstdint>

namespace sr {

class RandomStepped {
 public:
  virtual ~RandomStepped() = default;
  virtual void set_random_step(int64_t iteration, int rank = 0) = 0;
};

}  // namespace sr
