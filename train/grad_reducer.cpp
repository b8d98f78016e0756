// Bucketed gradient all-reduce (see grad_reducer.h).
#include "train/grad_reducer.h"

#include <algorithm>
#include <cstring>

#include "engine/autograd.h"
#include "engine/error.h"

namespace sr::train {

GradReducer::GradReducer(Communicator& comm, std::vector<Tensor> params, double bucket_mb)
    : comm_(comm), params_(std::move(params)) {
  const int64_t cap = std::max<int64_t>(1, (int64_t)(bucket_mb * 1024 * 1024 / sizeof(float)));  // float32 grads
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
  // A bucket goes out once all its gradients are final; a gradient that changes after
  // that (a second backward between begin() and finish()) would be reduced half-done.
  SR_CHECK(!b.launched, "gradient reducer: a gradient changed after its bucket was all-reduced (call begin() "
                        "right before the last backward of the step)");
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

namespace {

// splitmix64's finaliser over the tensor's 64-bit words (tail bytes zero-padded): any
// changed bit changes the hash with overwhelming probability.
uint64_t hash_bytes(const Tensor& t) {
  const Tensor host = (!t.device().is_cpu() ? t.to(Device::cpu()) : t).contiguous();
  const auto* p = static_cast<const unsigned char*>(host.raw_data());
  const size_t n = host.nbytes();
  auto mix = [](uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(n + 0x9e3779b97f4a7c15ull);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, std::min<size_t>(8, n - i));
    h = mix(h ^ w) + 0x9e3779b97f4a7c15ull;
  }
  return h;
}

}  // namespace

std::vector<std::string> replicas_differing_from_rank0(Communicator& comm, const NamedTensors& tensors) {
  if (comm.world_size() == 1) return {};
  // Each hash travels as two 32-bit halves, which float64 holds exactly.
  std::vector<double> m(2 * tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const uint64_t h = hash_bytes(tensors[i].second);
    m[2 * i] = (double)(h >> 32);
    m[2 * i + 1] = (double)(h & 0xffffffffull);
  }
  std::vector<double> r = m;
  comm.broadcast_host(r, 0);
  std::vector<std::string> differ;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (m[2 * i] != r[2 * i] || m[2 * i + 1] != r[2 * i + 1]) differ.push_back(tensors[i].first);
  return differ;
}

}  // namespace sr::train
