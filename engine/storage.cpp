// Storage allocation: aligned host memory or the CUDA pool.
#include "engine/storage.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/cuda_runtime.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/host_block_cache.h"

namespace sr {

namespace {
std::atomic<size_t> g_host_current{0};
std::atomic<size_t> g_host_peak{0};
thread_local HostAllocationLimit* t_limit = nullptr;

// What a host Storage of `bytes` allocates: at least 64 bytes, a multiple of 64 (AVX-512).
size_t host_alloc_bytes(size_t bytes) { return ((bytes == 0 ? 64 : bytes) + 63) / 64 * 64; }

void note_host_alloc(size_t bytes) {
  size_t now = g_host_current.fetch_add(bytes) + bytes;
  size_t peak = g_host_peak.load();
  while (now > peak && !g_host_peak.compare_exchange_weak(peak, now)) {
  }
}
}  // namespace

Storage::Storage(size_t bytes, Device device, int pin_device) : bytes_(bytes), device_(device) {
  const size_t alloc_bytes = bytes == 0 ? 64 : bytes;
#ifdef SRENGINE_WITH_CUDA
  if (device.is_cpu() && pin_device >= 0 && cuda::available()) {
    // cudaHostAlloc returns page-aligned memory, which satisfies the 64-byte alignment.
    data_ = cuda::allocate_pinned_host(alloc_bytes, pin_device);
    pinned_ = true;
    note_host_alloc(bytes);
    return;
  }
#else
  (void)pin_device;
#endif
  if (device.is_cpu()) {
    const size_t rounded = host_alloc_bytes(bytes);
    HostAllocationLimit::note((int64_t)bytes);
    data_ = rounded >= host_cache::kMinBytes ? host_cache::acquire(rounded) : std::aligned_alloc(64, rounded);
    if (!data_) fail("Storage: out of host memory allocating ", bytes, " bytes");
    note_host_alloc(bytes);
  } else {
    SR_ON_DEVICE(device, data_ = cuda::allocate(alloc_bytes, device.index));
  }
}

Storage::~Storage() {
#ifdef SRENGINE_WITH_CUDA
  if (pinned_) {
    g_host_current.fetch_sub(bytes_);
    try {
      cuda::release_pinned_host(data_, bytes_ == 0 ? 64 : bytes_);
    } catch (...) {
      // As for device memory: teardown must not terminate the process.
    }
    return;
  }
#endif
  if (device_.is_cpu()) {
    const size_t rounded = host_alloc_bytes(bytes_);
    if (rounded >= host_cache::kMinBytes)
      host_cache::release(data_, rounded);
    else
      std::free(data_);
    g_host_current.fetch_sub(bytes_);
    HostAllocationLimit::note(-(int64_t)bytes_);
  } else {
    try {
      SR_ON_DEVICE(device_, cuda::deallocate(data_, device_.index));
    } catch (...) {
      // A failing free during teardown must not terminate the process.
    }
  }
}

HostAllocationLimit::HostAllocationLimit(size_t bytes, std::string what)
    : outer_(t_limit), limit_(bytes), what_(std::move(what)) {
  t_limit = this;
}

HostAllocationLimit::~HostAllocationLimit() { t_limit = outer_; }

void HostAllocationLimit::note(int64_t bytes) {
  HostAllocationLimit* l = t_limit;
  if (!l) return;
  if (bytes > 0 && l->held_ + bytes > (int64_t)l->limit_) fail(l->what_);
  l->held_ += bytes;
}

size_t available_host_memory() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    size_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : SIZE_MAX;
}

MemoryStats host_memory_stats() { return {g_host_current.load(), g_host_peak.load()}; }
void reset_host_peak_memory() { g_host_peak.store(g_host_current.load()); }

}  // namespace sr
