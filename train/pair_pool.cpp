// The training-pair pool (see pair_pool.h).
#include "train/pair_pool.h"

#include <numeric>
#include <vector>

#include "data/degrade/random_stream.h"
#include "engine/error.h"
#include "engine/philox.h"

namespace sr::train {

namespace {

// Sample j of `dst` = sample i of `src` (same sample shape; any device).
void copy_sample(const Tensor& dst, int64_t j, const Tensor& src, int64_t i) { dst.narrow(0, j, 1).copy_(src.narrow(0, i, 1)); }

Shape with_first(const Shape& s, int64_t n) {
  Shape out = s;
  out[0] = n;
  return out;
}

}  // namespace

PairPool::PairPool(int64_t queue_size, int64_t batch_size, uint64_t seed, uint64_t stage_index, int rank)
    : queue_size_(queue_size), batch_size_(batch_size), seed_(seed),
      stream_(data::degrade::stream_id(data::degrade::StreamTag::pair_pool, stage_index, (uint64_t)rank)) {
  SR_CHECK(queue_size >= 1 && batch_size >= 1, "pair pool: queue_size ", queue_size, " and batch size ", batch_size,
           " must be positive");
  SR_CHECK(queue_size % batch_size == 0, "pair pool: 'queue_size' ", queue_size,
           " is not a multiple of the batch size ", batch_size, " (datasets.train.batch_size_per_gpu)");
}

void PairPool::exchange(Tensor& lq, Tensor& gt, int64_t iter) {
  SR_CHECK(lq.device() == gt.device() && lq.dtype() == DType::f32 && gt.dtype() == DType::f32 && lq.is_contiguous() &&
               gt.is_contiguous(),
           "pair pool: batches must be contiguous float32 tensors on one device, got ", lq.str(), " and ", gt.str());
  SR_CHECK(lq.shape()[0] == batch_size_ && gt.shape()[0] == batch_size_, "pair pool: a batch of ", lq.shape()[0],
           " pairs, the pool was made for ", batch_size_);
  if (!lq_.defined()) {
    lq_ = Tensor::zeros(with_first(lq.shape(), queue_size_), DType::f32, lq.device());
    gt_ = Tensor::zeros(with_first(gt.shape(), queue_size_), DType::f32, gt.device());
  }
  SR_CHECK(with_first(lq.shape(), queue_size_) == lq_.shape() && with_first(gt.shape(), queue_size_) == gt_.shape(),
           "pair pool: batch ", lq.str(), " / ", gt.str(), " does not match the pool's pairs ", lq_.str(), " / ",
           gt_.str());
  // The pool lives where the batches are made (the CPU, or the training device when it
  // degrades them); a restored pool moves there once.
  if (lq_.device() != lq.device()) {
    lq_ = lq_.to(lq.device());
    gt_ = gt_.to(gt.device());
  }
  if (filled_ < queue_size_) {  // fill phase: keep a copy, train on the fresh batch as it is
    lq_.narrow(0, filled_, batch_size_).copy_(lq);
    gt_.narrow(0, filled_, batch_size_).copy_(gt);
    filled_ += batch_size_;
    return;
  }
  // The first B entries of a Fisher-Yates permutation of the pool (Philox draw (iter, k)
  // for position k), then swap: pool slot -> batch, fresh pair -> pool slot.
  std::vector<int64_t> perm(queue_size_);
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t k = 0; k < batch_size_; ++k) {
    const philox::U32x4 r = philox::draw(seed_, stream_, ((uint64_t)iter << 20) | (uint64_t)k);
    const uint64_t bits = ((uint64_t)r.v[0] << 32) | r.v[1];
    const int64_t j = k + (int64_t)(((unsigned __int128)bits * (uint64_t)(queue_size_ - k)) >> 64);
    std::swap(perm[k], perm[j]);
  }
  const Tensor fresh_lq = lq.clone(), fresh_gt = gt.clone();
  for (int64_t i = 0; i < batch_size_; ++i) {
    copy_sample(lq, i, lq_, perm[i]);
    copy_sample(gt, i, gt_, perm[i]);
    copy_sample(lq_, perm[i], fresh_lq, i);
    copy_sample(gt_, perm[i], fresh_gt, i);
  }
}

NamedTensors PairPool::state() const {
  if (filled_ == 0) return {};
  return {{"lq", lq_.narrow(0, 0, filled_).to(Device::cpu()).contiguous()},
          {"gt", gt_.narrow(0, 0, filled_).to(Device::cpu()).contiguous()}};
}

void PairPool::load_state(const Tensor& lq, const Tensor& gt) {
  SR_CHECK(lq.dim() >= 1 && gt.dim() >= 1 && lq.shape()[0] == gt.shape()[0] && lq.shape()[0] <= queue_size_ &&
               lq.shape()[0] % batch_size_ == 0,
           "pair pool: saved pool ", lq.str(), " / ", gt.str(), " does not fit queue_size ", queue_size_,
           " with batches of ", batch_size_, " (was queue_size or the batch size changed?)");
  filled_ = lq.shape()[0];
  lq_ = Tensor::zeros(with_first(lq.shape(), queue_size_));
  gt_ = Tensor::zeros(with_first(gt.shape(), queue_size_));
  lq_.narrow(0, 0, filled_).copy_(lq);
  gt_.narrow(0, 0, filled_).copy_(gt);
}

}  // namespace sr::train
