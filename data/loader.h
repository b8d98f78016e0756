// The training data loader: worker threads decode and augment whole batches into a
// bounded set of ready batches; the consumer receives them strictly in order. Batch b
// of epoch e is a pure function of (config, seed, e, b, rank, world size), so the
// result does not depend on the worker count or timing, and a run resumes exactly
// from a LoaderPosition.
//
// Epoch order (BasicSR's EnlargedSampler): total = ceil(N * enlarge / world) * world,
// order = Philox permutation of [0, total) seeded by (seed, epoch), indices mod N; rank
// r takes order[r], order[r + world], ...; incomplete batches are dropped. Sample at
// global position j = r + world * k is augmented with draw_sample(seed, epoch, j), so
// n ranks with batch B see the same samples, identically augmented, as one rank with
// batch n * B.
//
// RealESRGANDataset: each sample is a GT crop with its kernels (drawn from its position's
// stream as above); the batch is then degraded with Real-ESRGAN's second-order model, its
// per-batch decisions and patch position keyed by (seed, epoch, batch, rank): each rank's
// batch has its own, as each GPU's batch has in the original. So the pairs are a function
// of the seed and the batch's position only, whatever the worker count.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/degrade/batch_device.h"
#include "engine/tensor.h"

namespace sr::data {

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batch = 0;  // batch index within the epoch (this rank's batches)
  bool operator==(const LoaderPosition& o) const { return epoch == o.epoch && batch == o.batch; }
};

struct Batch {
  Tensor gt;  // (B, C, gt_size, gt_size) float32 CPU; C = 3, or 1 with color y
  Tensor lq;  // (B, C, gt_size/scale, gt_size/scale)
  // RealESRGANDataset with degrade_on_device: gt holds the plain (B, 3, crop_pad_size,
  // crop_pad_size) crops, lq is empty, and this holds what the training device does to make
  // the pair (degrade::degrade_crops_on_device). Null otherwise.
  std::shared_ptr<const degrade::DeviceDegradation> degradation;
  LoaderPosition position;       // where this batch sits
  std::vector<int64_t> indices;  // dataset index of each sample (after any substitution)
};

struct LoaderOptions {
  int rank = 0;
  int world_size = 1;
  LoaderPosition start;  // the first batch next() returns
  // The global batch (world_size x batch_size_per_gpu) of the run that saved `start`, when
  // it differs from this run's (a resume on another world size or batch size): `start` is
  // then mapped to the first batch of this run at or after the same number of samples
  // into the epoch (none is seen twice; the rest of the epoch may lose less than one
  // global batch), or to the next epoch. 0: the same as this run.
  int64_t start_global_batch = 0;
  // The dataset size (samples) of the run that saved `start`, when known and different from
  // this dataset's (images added or removed before a resume): a `start` past the end of
  // this run's epoch then moves to the next epoch's first batch instead of being refused.
  // 0: unknown or the same.
  int64_t start_dataset_size = 0;
  // Batches in page-locked memory for asynchronous copies to this CUDA device (-1: no;
  // ignored without a GPU). The trainer sets it when it trains on CUDA.
  int pin_memory_device = -1;
  // Receives skip_bad_images warnings; default prints them to stderr.
  std::function<void(const std::string&)> warn;
};

// This rank's dataset indices for one epoch (length = samples per rank).
std::vector<int64_t> epoch_indices(uint64_t seed, int64_t epoch, int64_t dataset_size, int enlarge_ratio,
                                   int rank, int world_size);

class Loader {
 public:
  Loader(const DataConfig& cfg, const LoaderOptions& opt = {});
  Loader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& opt = {});
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch, in order, forever (epochs follow each other). A failure while
  // making it (a bad file without skip_bad_images) is rethrown here as sr::Error
  // naming the file, epoch and batch; the loader stays usable.
  Batch next();
  // The position of the batch the next call to next() returns: save it to resume.
  LoaderPosition position() const;

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t batch_size() const { return cfg_.batch_size_per_gpu; }
  int64_t samples_per_rank() const { return samples_per_rank_; }
  int64_t skipped_images() const;  // samples substituted under skip_bad_images
  const Dataset& dataset() const { return *dataset_; }

 private:
  struct State;
  Batch make_batch(int64_t seq);
  void degrade_batch_into(std::vector<degrade::GtSample>& crops, int64_t epoch, int64_t b, float* gt_out,
                          float* lq_out) const;
  void draw_device_degradation(Batch& batch, std::vector<degrade::GtSample>& crops, int64_t epoch, int64_t b) const;
  void worker_loop();
  std::shared_ptr<const std::vector<int64_t>> indices_for_epoch(int64_t epoch);

  std::shared_ptr<const Dataset> dataset_;
  DataConfig cfg_;
  LoaderOptions opt_;
  int64_t samples_per_rank_ = 0;
  int64_t batches_per_epoch_ = 0;
  std::unique_ptr<State> state_;
};

}  // namespace sr::data
