// Bucketed gradient averaging for data parallelism. Parameters are grouped, in reverse
// registration order (the order backward finishes them), into buckets of about
// `bucket_mb` megabytes. During backward, as soon as every parameter of a bucket has its
// gradient (autograd's leaf-ready hook), the bucket is flattened and its all-reduce is
// started, so communication overlaps the rest of backward; finish() waits for all
// buckets and writes the averaged gradients back. Every rank launches every bucket in
// the same order (a parameter without a gradient contributes zeros), which keeps the
// collectives matched. World size 1 runs the same path with identity collectives.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "train/comm.h"

namespace sr::train {

class GradReducer {
 public:
  GradReducer(Communicator& comm, std::vector<Tensor> params, double bucket_mb);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  void begin();   // before backward(): arms the hook
  void finish();  // after backward(): launches what is left, waits, writes param.grad
  size_t bucket_count() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<size_t> params;
    int64_t numel = 0;
    Tensor flat;
    size_t ready = 0;
    bool launched = false;
  };
  void on_ready(TensorImpl* leaf);
  void launch(Bucket& b);

  Communicator& comm_;
  std::vector<Tensor> params_;
  std::vector<Bucket> buckets_;
  std::unordered_map<TensorImpl*, size_t> bucket_of_;  // param impl -> bucket index
};

// Broadcasts every tensor (parameters and buffers) from rank 0, so all ranks start equal.
void broadcast_tensors(Communicator& comm, std::vector<Tensor> tensors);

// The names of the tensors whose bytes on this rank differ from rank 0's. Replicated
// state that is never averaged (spectral-norm u/v, EMA weights, optimizer moments) stays
// equal only because every rank applies the same updates to the same bits; this checks
// it. Compares a 64-bit hash per tensor (one small broadcast), so it is cheap enough to
// run at every checkpoint. Collective: every rank calls it with the same names in the
// same order.
std::vector<std::string> replicas_differing_from_rank0(Communicator& comm, const NamedTensors& tensors);

}  // namespace sr::train
