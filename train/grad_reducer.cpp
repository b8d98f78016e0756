// Bucketed gradient all-reduce (see grad_reducer.h).
#include "train/grad_reducer.h"

#include "engine/autograd.h"
#include "engine/error.h"

namespace sr::train {

GradReducer::GradReducer(Communicator& comm, std::vector<Tensor> params, double bucket_mb)
    : comm_(comm), params_(std::move(params)) {
  const int64_t cap = std::max<int64_t>(1, (int64_t)(bucket_mb * 1024 * 1024 / 4));
  Bucket cur;
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    if (cur.numel > 0 && cur.numel + p.numel() > cap) {
      buckets_.push_back(std::move(cur));
      cur = Bucket{};
    }
    cur.params.push_back(k);
    cur.numel += p.numel();
  }
  if (!cur.params.empty()) buckets_.push_back(std::move(cur));
  for (size_t b = 0; b < buckets_.size(); ++b) {
    Bucket& bk = buckets_[b];
    bk.flat = Tensor::empty({bk.numel}, params_[bk.params[0]].dtype(), params_[bk.params[0]].device());
    for (size_t k : bk.params) bucket_of_[params_[k].impl()] = b;
  }
}

GradReducer::~GradReducer() { set_leaf_ready_hook(nullptr); }

void GradReducer::begin() {
  for (Bucket& b : buckets_) b.ready = 0, b.launched = false;
  set_leaf_ready_hook([this](const std::shared_ptr<TensorImpl>& leaf) { on_ready(leaf.get()); });
}

void GradReducer::on_ready(TensorImpl* leaf) {
  auto it = bucket_of_.find(leaf);
  if (it == bucket_of_.end()) return;  // not one of ours (e.g. another network's leaf)
  Bucket& b = buckets_[it->second];
  if (++b.ready == b.params.size()) launch(b);
}

void GradReducer::launch(Bucket& b) {
  int64_t off = 0;
  for (size_t k : b.params) {
    const Tensor& p = params_[k];
    Tensor dst = b.flat.narrow(0, off, p.numel()).reshape(p.shape());
    Tensor g = p.grad();
    if (g.defined())
      dst.copy_(g);
    else
      dst.zero_();
    off += p.numel();
  }
  comm_.all_reduce_async(b.flat, /*average=*/true);
  b.launched = true;
}

void GradReducer::finish() {
  set_leaf_ready_hook(nullptr);
  for (Bucket& b : buckets_)
    if (!b.launched) launch(b);
  comm_.wait_all();
  for (Bucket& b : buckets_) {
    int64_t off = 0;
    for (size_t k : b.params) {
      Tensor& p = params_[k];
      Tensor g = Tensor::empty(p.shape(), p.dtype(), p.device());
      g.copy_(b.flat.narrow(0, off, p.numel()).reshape(p.shape()));
      p.set_grad(g);
      off += p.numel();
    }
  }
}

void broadcast_tensors(Communicator& comm, std::vector<Tensor> tensors) {
  if (comm.world_size() == 1) return;
  for (Tensor& t : tensors) {
    SR_CHECK(t.is_contiguous(), "broadcast: tensor ", t.str(), " must be contiguous");
    comm.broadcast(t, 0);
  }
}

}  // namespace sr::train
