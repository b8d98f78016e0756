// Storage: one allocation (host or device) shared by every tensor that views it.
// Host memory is 64-byte aligned for AVX-512; device memory comes from the CUDA
// backend's stream-ordered pool (engine/cuda_runtime.h), for the simt device from the
// interpreter (guarded, NaN-poisoned host memory: kernels/simt/device.h). Host storage may be page-locked
// for copies to GPU `pin_device` (>= 0), so that those copies run asynchronously; that
// needs a CUDA build with a device present, and falls back to ordinary host memory
// otherwise.
#pragma once
#include <cstddef>
#include <memory>

#include "engine/dtype.h"

namespace sr {

class Storage {
 public:
  Storage(size_t bytes, Device device, int pin_device = -1);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  bool pinned_ = false;
};

// Host allocation statistics (bytes currently held by Storage objects and the peak).
struct MemoryStats {
  size_t current_bytes = 0;
  size_t peak_bytes = 0;
};
MemoryStats host_memory_stats();
void reset_host_peak_memory();

}  // namespace sr
