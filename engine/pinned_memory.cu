// Page-locked ("pinned") host memory for the data loader's batches (see cuda_runtime.h).
//
// Why: a host->device copy from pageable memory goes through a driver staging buffer and
// blocks the host thread; from pinned memory it is one DMA transfer that runs on the
// stream while the host carries on. The price is that the host block must stay untouched
// until that transfer has finished, and cudaHostAlloc/cudaFreeHost are slow (they map
// pages and may synchronise the device). So freed blocks are kept in a small cache, each
// with an event recorded on the releasing thread's stream when it was given back: a block
// is handed out again only after its event has completed, i.e. after every copy that was
// queued from it before the release. Contract: the thread that drops the last reference
// to a pinned batch is the thread that queued its copies (the trainer's main thread), so
// that its per-thread stream orders the event after them.
#include <mutex>
#include <vector>

#include "engine/cuda_check.h"
#include "engine/cuda_runtime.h"

namespace sr::cuda {

namespace {

struct CachedBlock {
  void* ptr;
  size_t bytes;
  cudaEvent_t released;  // recorded on the releasing thread's stream
};

// A training run cycles through (queue capacity + workers + 1) batches of two tensors
// each, all of a few sizes; 32 blocks covers that with room to spare.
constexpr size_t kMaxCached = 32;

std::mutex g_mutex;
std::vector<CachedBlock>& cache() {
  static std::vector<CachedBlock> c;
  return c;
}

}  // namespace

void* allocate_pinned_host(size_t bytes, int device) {
  // Bind this thread to the batches' GPU (loader threads start on device 0, and a rank
  // using GPU r must not create a context on GPU 0); a no-op on a thread already there.
  if (current_device() != device) set_device(device);
  bool reuse = false;
  CachedBlock b{};
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto& c = cache();
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].bytes != bytes) continue;
      b = c[i];
      c.erase(c.begin() + (std::ptrdiff_t)i);
      reuse = true;
      break;
    }
  }
  if (reuse) {
    // Outside the lock: this may wait for the GPU, and other threads must not wait with it.
    // Usually long complete: the block was released a whole step ago.
    const cudaError_t waited = cudaEventSynchronize(b.released);
    CUDA_CHECK(cudaEventDestroy(b.released));
    if (waited != cudaSuccess) cudaFreeHost(b.ptr);  // do not hand out a block in doubt
    CUDA_CHECK(waited);
    return b.ptr;
  }
  void* p = nullptr;
  cudaError_t err = cudaHostAlloc(&p, bytes, cudaHostAllocPortable);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    fail("CUDA: out of page-locked host memory allocating ", bytes,
         " bytes for a data batch. Hint: lower the batch size or the loader's prefetch");
  }
  CUDA_CHECK(err);
  return p;
}

void release_pinned_host(void* ptr, size_t bytes) {
  cudaEvent_t ev;
  CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventRecord(ev, cudaStreamPerThread));
  CachedBlock evicted{};
  bool evict = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto& c = cache();
    if (c.size() >= kMaxCached) {  // full: the oldest block goes back to the driver
      evicted = c.front();
      c.erase(c.begin());
      evict = true;
    }
    c.push_back({ptr, bytes, ev});
  }
  if (evict) {  // outside the lock: cudaFreeHost may synchronise the device
    CUDA_CHECK(cudaEventSynchronize(evicted.released));
    CUDA_CHECK(cudaEventDestroy(evicted.released));
    CUDA_CHECK(cudaFreeHost(evicted.ptr));
  }
}

}  // namespace sr::cuda
