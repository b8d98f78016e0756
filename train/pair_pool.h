// Real-ESRGAN's training-pair pool (BasicSR's RealESRGANModel._dequeue_and_enqueue;
// Wang et al. 2021): each Real-ESRGAN batch shares its per-batch degradation decisions
// (resize, noise type, final order, patch position), so batches are mixed through a pool
// of queue_size pairs before training sees them.
//   fill phase (fewer than queue_size pairs held): the fresh batch is copied in and is
//     also this iteration's batch, unchanged;
//   full: B pool entries chosen uniformly without replacement become the batch, and the
//     fresh pairs take their slots (BasicSR permutes the whole pool, takes the first B and
//     writes the fresh batch there; the multiset of pairs and the distribution of every
//     batch are the same, and here only B pairs are copied).
// The choice at iteration t is a Philox permutation keyed by (seed, stage, rank, t), so a
// run is reproducible from its seed; the pool itself is part of the training state, so a
// resumed run continues exactly. Pool tensors live where the batches are made: on the CPU,
// or on the training device when it degrades them (datasets.train.degrade_on).
#pragma once
#include <cstdint>
#include <string>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace sr::train {

class PairPool {
 public:
  // queue_size must be a multiple of batch_size (an error naming both otherwise).
  PairPool(int64_t queue_size, int64_t batch_size, uint64_t seed, uint64_t stage_index, int rank);

  // lq (B, C, h, w) and gt (B, C, H, W), contiguous float32 on one device (the CPU, cuda or
  // simt), replaced in place by this iteration's training batch. The state() is on the CPU.
  void exchange(Tensor& lq, Tensor& gt, int64_t iter);

  int64_t queue_size() const { return queue_size_; }
  int64_t filled() const { return filled_; }
  // The held pairs ("lq", "gt": the first filled() entries), for the training state.
  NamedTensors state() const;
  // Restores state(); the shapes must agree with this pool's (else an error naming them).
  void load_state(const Tensor& lq, const Tensor& gt);

 private:
  int64_t queue_size_, batch_size_;
  uint64_t seed_, stream_;
  int64_t filled_ = 0;
  Tensor lq_, gt_;  // (queue_size, ...) once the first batch has arrived
};

}  // namespace sr::train
