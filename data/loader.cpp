// Threaded batch production with in-order delivery. Workers claim batch sequence
// numbers (seq = epoch * batches_per_epoch + batch) from a shared counter, at most
// `capacity` ahead of the consumer, and park finished batches (or the exception that
// stopped them) in a map the consumer drains in sequence order.
#include "data/loader.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>
#include <tuple>

#include "data/degrade/pipeline.h"
#include "data/degrade/random_stream.h"
#include "data/degrade/usm_sharp.h"
#include "engine/error.h"
#include "engine/philox.h"

namespace sr::data {

namespace {
// Shuffle streams are kept apart from the augmentation streams (stream = epoch).
constexpr uint64_t kShuffleStream = 1ull << 62;
}  // namespace

std::vector<int64_t> epoch_indices(uint64_t seed, int64_t epoch, int64_t n, int enlarge, int rank, int world) {
  SR_CHECK(n > 0, "loader: empty dataset");
  SR_CHECK(world >= 1 && rank >= 0 && rank < world, "loader: rank ", rank, " is not in [0, ", world, ")");
  const int64_t per_rank = (n * enlarge + world - 1) / world;
  const int64_t total = per_rank * world;
  std::vector<int64_t> perm(total);
  std::iota(perm.begin(), perm.end(), 0);
  // Fisher-Yates with j uniform in [0, i] from 64 Philox bits (multiply-high mapping).
  for (int64_t i = total - 1; i > 0; --i) {
    const philox::U32x4 r = philox::draw(seed, kShuffleStream | (uint64_t)epoch, (uint64_t)i);
    const uint64_t bits = ((uint64_t)r.v[0] << 32) | r.v[1];
    const int64_t j = (int64_t)(((unsigned __int128)bits * (uint64_t)(i + 1)) >> 64);
    std::swap(perm[i], perm[j]);
  }
  std::vector<int64_t> out(per_rank);
  for (int64_t k = 0; k < per_rank; ++k) out[k] = perm[rank + (int64_t)world * k] % n;
  return out;
}

struct Loader::State {
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  std::mutex mu;
  std::condition_variable work_cv, ready_cv;
  int64_t next_claim = 0, next_deliver = 0;
  int64_t capacity = 2;
  bool stop = false;
  std::map<int64_t, Slot> ready;
  std::vector<std::thread> workers;
  std::atomic<int64_t> skipped{0};

  std::mutex epoch_mu;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> epochs;
};

Loader::Loader(const DataConfig& cfg, const LoaderOptions& opt)
    : Loader(std::make_shared<const Dataset>(cfg), opt) {}

Loader::Loader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& opt)
    : dataset_(std::move(dataset)), cfg_(dataset_->config()), opt_(opt), state_(std::make_unique<State>()) {
  validate(cfg_);
  SR_CHECK(opt_.world_size >= 1 && opt_.rank >= 0 && opt_.rank < opt_.world_size, "loader: rank ", opt_.rank,
           " is not in [0, world_size ", opt_.world_size, ")");
  const int64_t n = (int64_t)dataset_->size();
  samples_per_rank_ = (n * cfg_.dataset_enlarge_ratio + opt_.world_size - 1) / opt_.world_size;
  batches_per_epoch_ = samples_per_rank_ / cfg_.batch_size_per_gpu;
  SR_CHECK(batches_per_epoch_ >= 1, "loader: ", n, " images x dataset_enlarge_ratio ", cfg_.dataset_enlarge_ratio,
           " give each of ", opt_.world_size, " rank(s) ", samples_per_rank_,
           " samples per epoch, fewer than one batch of ", cfg_.batch_size_per_gpu,
           " (add images, raise dataset_enlarge_ratio or lower batch_size_per_gpu)");
  const int64_t global_batch = (int64_t)opt_.world_size * cfg_.batch_size_per_gpu;
  SR_CHECK(opt_.start_global_batch >= 0, "loader: bad global batch ", opt_.start_global_batch, " of the resume position");
  if (opt_.start_global_batch > 0 && opt_.start_global_batch != global_batch) {
    const int64_t consumed = opt_.start.batch * opt_.start_global_batch;  // samples into the epoch
    opt_.start.batch = (consumed + global_batch - 1) / global_batch;
    if (opt_.start.batch >= batches_per_epoch_) opt_.start = {opt_.start.epoch + 1, 0};
  }
  SR_CHECK(opt_.start_dataset_size >= 0, "loader: bad dataset size ", opt_.start_dataset_size, " of the resume position");
  if (opt_.start_dataset_size > 0 && opt_.start_dataset_size != n && opt_.start.batch >= batches_per_epoch_)
    opt_.start = {opt_.start.epoch + 1, 0};
  SR_CHECK(opt_.start.epoch >= 0 && opt_.start.batch >= 0 && opt_.start.batch < batches_per_epoch_,
           "loader: resume position (epoch ", opt_.start.epoch, ", batch ", opt_.start.batch,
           ") is outside an epoch of ", batches_per_epoch_, " batches (was the dataset or batch size changed?)");
  if (!opt_.warn) opt_.warn = [](const std::string& m) { std::fprintf(stderr, "warning: %s\n", m.c_str()); };

  State& s = *state_;
  s.next_claim = s.next_deliver = opt_.start.epoch * batches_per_epoch_ + opt_.start.batch;
  const int workers = cfg_.num_worker_per_gpu;
  s.capacity = cfg_.prefetch_batches > 0 ? cfg_.prefetch_batches : std::max(2, 2 * workers);
  try {
    for (int w = 0; w < workers; ++w) s.workers.emplace_back([this] { worker_loop(); });
  } catch (...) {
    {
      std::lock_guard<std::mutex> lk(s.mu);
      s.stop = true;
    }
    s.work_cv.notify_all();
    for (auto& t : s.workers) t.join();
    throw;
  }
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    state_->stop = true;
  }
  state_->work_cv.notify_all();
  for (auto& t : state_->workers) t.join();
}

LoaderPosition Loader::position() const {
  std::lock_guard<std::mutex> lk(state_->mu);
  return {state_->next_deliver / batches_per_epoch_, state_->next_deliver % batches_per_epoch_};
}

int64_t Loader::skipped_images() const { return state_->skipped.load(); }

std::shared_ptr<const std::vector<int64_t>> Loader::indices_for_epoch(int64_t epoch) {
  State& s = *state_;
  {
    std::lock_guard<std::mutex> lk(s.epoch_mu);
    auto it = s.epochs.find(epoch);
    if (it != s.epochs.end()) return it->second;
  }
  // Computed outside the lock; two workers may race to compute the same epoch, which
  // only costs time since the result is the same.
  auto idx = std::make_shared<const std::vector<int64_t>>(epoch_indices(
      cfg_.seed, epoch, (int64_t)dataset_->size(), cfg_.dataset_enlarge_ratio, opt_.rank, opt_.world_size));
  std::lock_guard<std::mutex> lk(s.epoch_mu);
  s.epochs.emplace(epoch, idx);
  while (s.epochs.size() > 3) s.epochs.erase(s.epochs.begin());
  return idx;
}

Batch Loader::make_batch(int64_t seq) {
  const int64_t epoch = seq / batches_per_epoch_, b = seq % batches_per_epoch_;
  const int64_t bs = cfg_.batch_size_per_gpu, g = cfg_.gt_size, l = cfg_.gt_size / cfg_.scale;
  const int64_t ch = dataset_->channels();  // 3, or 1 with color y (never for RealESRGANDataset)
  const auto order = indices_for_epoch(epoch);
  const int64_t n = (int64_t)dataset_->size();
  Batch batch;
  batch.position = {epoch, b};
  const bool synth = cfg_.type == DatasetType::realesrgan;
  const bool on_device = synth && cfg_.degrade_on_device;  // no CPU pair: the device makes it
  if (on_device) {
    batch.gt = Tensor::empty({bs, 3, cfg_.crop_pad_size, cfg_.crop_pad_size});  // filled below
  } else if (opt_.pin_memory_device >= 0) {
    batch.gt = Tensor::empty_pinned({bs, ch, g, g}, DType::f32, opt_.pin_memory_device);
    batch.lq = Tensor::empty_pinned({bs, ch, l, l}, DType::f32, opt_.pin_memory_device);
  } else {
    batch.gt = Tensor::empty({bs, ch, g, g});
    batch.lq = Tensor::empty({bs, ch, l, l});
  }
  float* gt = on_device ? nullptr : batch.gt.data<float>();
  float* lq = on_device ? nullptr : batch.lq.data<float>();
  std::vector<degrade::GtSample> crops(synth ? bs : 0);
  for (int64_t i = 0; i < bs; ++i) {
    const int64_t k = b * bs + i;
    const int64_t position = opt_.rank + (int64_t)opt_.world_size * k;
    const SampleDraw draw = draw_sample(cfg_.seed, epoch, position, cfg_.use_hflip, cfg_.use_rot);
    int64_t index = (*order)[k];
    // Under skip_bad_images a failing sample is replaced by the next dataset index
    // (deterministic, so the batch stays a function of its position).
    for (int64_t attempt = 0;; ++attempt) {
      try {
        if (synth) crops[i] = dataset_->load_realesrgan_sample((size_t)index, epoch, position);
        else dataset_->load_train_sample((size_t)index, draw, gt + i * ch * g * g, lq + i * ch * l * l);
        break;
      } catch (const Error& e) {
        if (!cfg_.skip_bad_images)
          fail("data loader (epoch ", epoch, ", batch ", b, ", sample ", index, "): ", e.what());
        state_->skipped.fetch_add(1);
        opt_.warn(str_cat("skipping bad image (skip_bad_images): ", e.what()));
        SR_CHECK(attempt + 1 < n, "data loader: every one of the ", n, " images failed to load; last error: ",
                 e.what());
        index = (index + 1) % n;
      }
    }
    batch.indices.push_back(index);
  }
  if (on_device)
    draw_device_degradation(batch, crops, epoch, b);
  else if (synth)
    degrade_batch_into(crops, epoch, b, gt, lq);
  return batch;
}

namespace {

// A RealESRGANDataset batch's key: the streams of its degradation and patch position.
uint64_t train_batch_key(int64_t epoch, int64_t b, int rank) {
  return degrade::stream_id(degrade::StreamTag::train_batch, (uint64_t)epoch, ((uint64_t)b << 20) | (uint64_t)rank);
}

// The patch's corner on the LQ grid (one position for the whole batch).
std::pair<int, int> patch_corner(uint64_t seed, uint64_t key, int lq_side, int l) {
  degrade::Stream crop_rng(seed, degrade::stream_id(degrade::StreamTag::batch_crop, key));
  const int top = crop_rng.randint(0, lq_side - l);
  return {top, crop_rng.randint(0, lq_side - l)};
}

}  // namespace

// RealESRGANDataset on the device: the plain crops (pinned when the device is a GPU) and
// the draws degrade_batch_into would make, the same streams in the same order.
void Loader::draw_device_degradation(Batch& batch, std::vector<degrade::GtSample>& crops, int64_t epoch,
                                     int64_t b) const {
  const int size = cfg_.crop_pad_size, s = cfg_.scale;
  const uint64_t key = train_batch_key(epoch, b, opt_.rank);
  const int64_t n = 3 * (int64_t)size * size;
  if (opt_.pin_memory_device >= 0)
    batch.gt = Tensor::empty_pinned(batch.gt.shape(), DType::f32, opt_.pin_memory_device);
  std::vector<degrade::SampleKernels> kernels(crops.size());
  for (size_t i = 0; i < crops.size(); ++i) {
    std::copy(crops[i].gt.v.begin(), crops[i].gt.v.end(), batch.gt.data<float>() + i * n);
    kernels[i] = crops[i].kernels;
  }
  auto d = std::make_shared<degrade::DeviceDegradation>();
  d->params = degrade::draw_degradation(kernels, size, size, cfg_.degradation, cfg_.seed, key);
  d->usm_gt = cfg_.usm_gt;
  d->degrade_from_usm = cfg_.degrade_from_usm;
  d->gt_size = cfg_.gt_size;
  std::tie(d->top, d->left) = patch_corner(cfg_.seed, key, size / s, cfg_.gt_size / s);
  batch.degradation = std::move(d);
}

// RealESRGANDataset: the GT crops of one batch -> USM (as the stage wants it), the
// second-order degradation with one set of per-batch decisions, then one patch position
// for the whole batch on the LQ grid (Real-ESRGAN's paired crop after the degradation).
void Loader::degrade_batch_into(std::vector<degrade::GtSample>& crops, int64_t epoch, int64_t b, float* gt_out,
                                float* lq_out) const {
  const int s = cfg_.scale, g = cfg_.gt_size, l = g / s, size = cfg_.crop_pad_size, lq_side = size / s;
  const uint64_t key = train_batch_key(epoch, b, opt_.rank);
  std::vector<degrade::Planes> source(crops.size()), target(crops.size());
  std::vector<degrade::SampleKernels> kernels(crops.size());
  for (size_t i = 0; i < crops.size(); ++i) {
    degrade::Planes sharp;
    if (cfg_.degrade_from_usm || cfg_.usm_gt) sharp = degrade::usm_sharp(crops[i].gt);
    source[i] = cfg_.degrade_from_usm ? sharp : crops[i].gt;
    target[i] = cfg_.usm_gt ? std::move(sharp) : std::move(crops[i].gt);
    kernels[i] = crops[i].kernels;
  }
  const std::vector<degrade::Planes> lq = degrade::degrade_batch(source, kernels, cfg_.degradation, cfg_.seed, key);
  const auto [top, left] = patch_corner(cfg_.seed, key, lq_side, l);
  for (size_t i = 0; i < crops.size(); ++i) {
    SR_CHECK(lq[i].height == lq_side && lq[i].width == lq_side, "loader: degraded LQ is ", lq[i].width, "x",
             lq[i].height, ", expected ", lq_side, "x", lq_side);
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < l; ++y)
        for (int x = 0; x < l; ++x) lq_out[((i * 3 + c) * l + y) * l + x] = lq[i].at(c, top + y, left + x);
      for (int y = 0; y < g; ++y)
        for (int x = 0; x < g; ++x)
          gt_out[((i * 3 + c) * g + y) * g + x] = target[i].at(c, top * s + y, left * s + x);
    }
  }
}

void Loader::worker_loop() {
  State& s = *state_;
  for (;;) {
    int64_t seq;
    {
      std::unique_lock<std::mutex> lk(s.mu);
      s.work_cv.wait(lk, [&] { return s.stop || s.next_claim < s.next_deliver + s.capacity; });
      if (s.stop) return;
      seq = s.next_claim++;
    }
    State::Slot slot;
    try {
      slot.batch = make_batch(seq);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(s.mu);
      s.ready.emplace(seq, std::move(slot));
    }
    s.ready_cv.notify_all();
  }
}

Batch Loader::next() {
  State& s = *state_;
  if (s.workers.empty()) {
    int64_t seq;
    {
      std::lock_guard<std::mutex> lk(s.mu);
      seq = s.next_deliver++;
    }
    return make_batch(seq);
  }
  State::Slot slot;
  {
    std::unique_lock<std::mutex> lk(s.mu);
    s.ready_cv.wait(lk, [&] { return s.ready.count(s.next_deliver) > 0; });
    auto it = s.ready.find(s.next_deliver);
    slot = std::move(it->second);
    s.ready.erase(it);
    ++s.next_deliver;
  }
  s.work_cv.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.batch);
}

}  // namespace sr::data
