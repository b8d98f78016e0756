// The training-pair pool (see pair_pool.h).
#include "train/pair_pool.h"

#include <cstring>
#include <numeric>
#include <vector>

#include "data/degrade/random_stream.h"
#include "engine/error.h"
#include "engine/philox.h"

namespace sr::train {

namespace {

// Copies sample i of `src` into sample j of `dst` (both contiguous, same sample shape).
void copy_sample(const Tensor& dst, int64_t j, const Tensor& src, int64_t i) {
  const int64_t n = src.numel() / src.shape()[0];
  std::memcpy(dst.data<float>() + j * n, src.data<float>() + i * n, (size_t)n * sizeof(float));
}

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
  SR_CHECK(lq.device().is_cpu() && gt.device().is_cpu() && lq.dtype() == DType::f32 && gt.dtype() == DType::f32 && lq.is_contiguous() &&
               gt.is_contiguous(),
           "pair pool: batches must be contiguous float32 CPU tensors, got ", lq.str(), " and ", gt.str());
  SR_CHECK(lq.shape()[0] == batch_size_ && gt.shape()[0] == batch_size_, "pair pool: a batch of ", lq.shape()[0],
           " pairs, the pool was made for ", batch_size_);
  if (!lq_.defined()) {
    lq_ = Tensor::zeros(with_first(lq.shape(), queue_size_));
    gt_ = Tensor::zeros(with_first(gt.shape(), queue_size_));
  }
  SR_CHECK(with_first(lq.shape(), queue_size_) == lq_.shape() && with_first(gt.shape(), queue_size_) == gt_.shape(),
           "pair pool: batch ", lq.str(), " / ", gt.str(), " does not match the pool's pairs ", lq_.str(), " / ",
           gt_.str());
  if (filled_ < queue_size_) {  // fill phase: keep a copy, train on the fresh batch as it is
    for (int64_t i = 0; i < batch_size_; ++i) {
      copy_sample(lq_, filled_ + i, lq, i);
      copy_sample(gt_, filled_ + i, gt, i);
    }
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
  const int64_t nl = lq.numel() / batch_size_, ng = gt.numel() / batch_size_;
  std::vector<float> tmp_l(nl), tmp_g(ng);
  for (int64_t i = 0; i < batch_size_; ++i) {
    float* bl = lq.data<float>() + i * nl;
    float* bg = gt.data<float>() + i * ng;
    float* pl = lq_.data<float>() + perm[i] * nl;
    float* pg = gt_.data<float>() + perm[i] * ng;
    std::memcpy(tmp_l.data(), pl, nl * sizeof(float));
    std::memcpy(tmp_g.data(), pg, ng * sizeof(float));
    std::memcpy(pl, bl, nl * sizeof(float));
    std::memcpy(pg, bg, ng * sizeof(float));
    std::memcpy(bl, tmp_l.data(), nl * sizeof(float));
    std::memcpy(bg, tmp_g.data(), ng * sizeof(float));
  }
}

NamedTensors PairPool::state() const {
  if (filled_ == 0) return {};
  return {{"lq", lq_.narrow(0, 0, filled_).contiguous()}, {"gt", gt_.narrow(0, 0, filled_).contiguous()}};
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
