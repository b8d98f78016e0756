// CUDA device memory (stream-ordered pool), copies and fills (see cuda_runtime.h).
#include <algorithm>
#include <atomic>
#include <memory>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/cuda_check.h"
#include "engine/cuda_runtime.h"
#include "engine/cuda_retained_copy.h"

namespace sr::cuda {

namespace {

constexpr int kMaxDevices = 16;
std::atomic<size_t> g_current[kMaxDevices];
std::atomic<size_t> g_peak[kMaxDevices];
std::once_flag g_pool_init[kMaxDevices];

// Keep freed blocks in the pool instead of returning them to the driver at every
// synchronisation: the default release threshold (0) would make every step pay for
// cudaMalloc again.
void init_pool(int device) {
  cudaMemPool_t pool;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;
  CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
}

size_t pool_used(int device) {
  cudaMemPool_t pool;
  if (cudaDeviceGetDefaultMemPool(&pool, device) != cudaSuccess) return 0;
  uint64_t used = 0;
  cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used);
  return used;
}

void note(int device, size_t bytes, bool alloc) {
  if (alloc) {
    size_t now = g_current[device].fetch_add(bytes) + bytes;
    size_t peak = g_peak[device].load();
    while (now > peak && !g_peak[device].compare_exchange_weak(peak, now)) {
    }
  } else {
    g_current[device].fetch_sub(bytes);
  }
}


}  // namespace

bool available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

// -1: not asked yet. Per thread because the CUDA current device is per thread (a loader
// thread binds itself to the trainer's GPU; see pinned_memory.cu).
thread_local int t_current_device = -1;

void set_device(int index) {
  CUDA_CHECK(cudaSetDevice(index));
  t_current_device = index;
}

int current_device() {
  if (t_current_device < 0) CUDA_CHECK(cudaGetDevice(&t_current_device));
  return t_current_device;
}

// Block sizes are tracked on the host (ptr -> bytes) for the peak statistics; a hash map,
// since a training step keeps thousands of activations alive at once.
namespace {
std::mutex g_sizes_mutex;
std::unordered_map<void*, size_t>& sizes() {
  static std::unordered_map<void*, size_t> s;
  return s;
}
}  // namespace

void* allocate(size_t bytes, int device) {
  if (device < 0 || device >= kMaxDevices) fail("CUDA allocate: bad device index ", device);
  // The pool below is the current device's, whatever `device` says.
  const int current = current_device();
  if (current != device)
    fail("CUDA allocate: ", bytes, " bytes for a tensor on cuda:", device, " would land on cuda:", current,
         ", this thread's current device; the caller must select cuda:", device,
         " first (sr::activate_device or sr::cuda::set_device)");
  std::call_once(g_pool_init[device], init_pool, device);
  void* p = nullptr;
  cudaError_t err = cudaMallocAsync(&p, bytes, cudaStreamPerThread);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail("CUDA out of memory: requested ", bytes, " bytes on cuda:", device, "; srengine holds ",
         g_current[device].load(), " bytes (pool in use ", pool_used(device), ", device free ",
         free_b, " of ", total_b, "). Hint: lower the batch size or gt_size, or use --tile for inference");
  }
  CUDA_CHECK(err);
  note(device, bytes, true);
  std::lock_guard<std::mutex> lock(g_sizes_mutex);
  sizes()[p] = bytes;
  return p;
}

void deallocate(void* ptr, int device) {
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(g_sizes_mutex);
    auto& s = sizes();
    auto it = s.find(ptr);
    if (it != s.end()) {
      bytes = it->second;
      s.erase(it);
    }
  }
  note(device, bytes, false);
  CUDA_CHECK(cudaFreeAsync(ptr, cudaStreamPerThread));
}

PoolStats pool_stats(int device) { return {g_current[device].load(), g_peak[device].load()}; }
void reset_peak(int device) { g_peak[device].store(g_current[device].load()); }

namespace {
std::atomic<uint64_t> g_host_waits{0};
}  // namespace

uint64_t host_wait_count() { return g_host_waits.load(); }

void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind) {
  const cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                              : cudaMemcpyDeviceToDevice;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, k, cudaStreamPerThread));
  if (kind == CopyKind::device_to_host) {
    g_host_waits.fetch_add(1);
    CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
  }
}

void memset_zero(void* dst, size_t bytes) {
  CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, cudaStreamPerThread));
}

void synchronize() {
  g_host_waits.fetch_add(1);
  CUDA_CHECK(cudaStreamSynchronize(cudaStreamPerThread));
}

void memcpy_to_host_async(void* dst, const void* src, size_t bytes) {
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, cudaStreamPerThread));
}

StreamMark::StreamMark() {
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  event_ = e;
}

StreamMark::~StreamMark() {
  if (event_) (void)cudaEventDestroy(static_cast<cudaEvent_t>(event_));  // no throw in teardown
}

void StreamMark::set() { CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_), cudaStreamPerThread)); }

void StreamMark::wait() {
  g_host_waits.fetch_add(1);
  CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)));
}

bool StreamMark::done() {
  const cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(event_));
  if (err == cudaErrorNotReady) {
    (void)cudaGetLastError();  // "not yet" is an answer, not an error: leave no trace of it
    return false;
  }
  CUDA_CHECK(err);
  return true;
}

void memcpy_to_device_retained(void* dst, std::vector<char>&& src) {
  if (src.empty()) return;
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(cudaStreamPerThread, &status));
  auto held = std::make_unique<std::vector<char>>(std::move(src));
  CUDA_CHECK(cudaMemcpyAsync(dst, held->data(), held->size(), cudaMemcpyHostToDevice, cudaStreamPerThread));
  if (status != cudaStreamCaptureStatusActive) return;  // pageable: staged before the call returned
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamGetCaptureInfo(cudaStreamPerThread, &status, nullptr, &graph));
  cudaUserObject_t object = nullptr;
  CUDA_CHECK(cudaUserObjectCreate(&object, held.get(),
                                  [](void* p) { delete static_cast<std::vector<char>*>(p); }, 1,
                                  cudaUserObjectNoDestructorSync));
  held.release();  // the user object owns it now
  CUDA_CHECK(cudaGraphRetainUserObject(graph, object, 1, cudaGraphUserObjectMove));
}

}  // namespace sr::cuda
