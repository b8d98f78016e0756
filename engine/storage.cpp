// Storage allocation: aligned host memory or the CUDA pool.
#include "engine/storage.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "engine/cuda_runtime.h"

namespace sr {

namespace {
std::atomic<size_t> g_host_current{0};
std::atomic<size_t> g_host_peak{0};

void note_host_alloc(size_t bytes) {
  size_t now = g_host_current.fetch_add(bytes) + bytes;
  size_t peak = g_host_peak.load();
  while (now > peak && !g_host_peak.compare_exchange_weak(peak, now)) {
  }
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  const size_t alloc_bytes = bytes == 0 ? 64 : bytes;
  if (device.is_cpu()) {
    const size_t rounded = (alloc_bytes + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, rounded);
    if (!data_) fail("Storage: out of host memory allocating ", bytes, " bytes");
    note_host_alloc(bytes);
  } else {
#ifdef SRENGINE_WITH_CUDA
    data_ = cuda::allocate(alloc_bytes, device.index);
#else
    fail("Storage: cannot allocate on ", device.str(), ": srengine was built without CUDA");
#endif
  }
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    std::free(data_);
    g_host_current.fetch_sub(bytes_);
  } else {
#ifdef SRENGINE_WITH_CUDA
    try {
      cuda::deallocate(data_, device_.index);
    } catch (...) {
      // A failing free during teardown must not terminate the process.
    }
#endif
  }
}

MemoryStats host_memory_stats() { return {g_host_current.load(), g_host_peak.load()}; }
void reset_host_peak_memory() { g_host_peak.store(g_host_current.load()); }

}  // namespace sr
