// Storage: one allocation (host or device) shared by every tensor that views it.
// Host memory is 64-byte aligned for AVX-512; device memory comes from the CUDA
// backend's stream-ordered pool (engine/cuda_runtime.h), for the simt device from the
// interpreter (guarded, NaN-poisoned host memory: kernels/simt/device.h). Host storage may be page-locked
// for copies to GPU `pin_device` (>= 0), so that those copies run asynchronously; that
// needs a CUDA build with a device present, and falls back to ordinary host memory
// otherwise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

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

// While one lives, a host Storage allocated on this thread that would take what the thread has
// allocated since the scope began (less what it freed) past `bytes` fails with an sr::Error
// saying `what` before any of it is taken. Networks are built inside one (nets/factory.h), so
// a mistyped size (num_block 100000) stops with its options named instead of filling the
// machine's memory and being killed for it. Scopes nest; the innermost one counts.
class HostAllocationLimit {
 public:
  HostAllocationLimit(size_t bytes, std::string what);
  ~HostAllocationLimit();
  HostAllocationLimit(const HostAllocationLimit&) = delete;
  HostAllocationLimit& operator=(const HostAllocationLimit&) = delete;

  // Called by Storage: counts `bytes` allocated (positive) or freed (negative) on this thread.
  static void note(int64_t bytes);

 private:
  HostAllocationLimit* outer_;
  size_t limit_;
  int64_t held_ = 0;
  std::string what_;
};

// The host memory the system could give now without swapping (Linux's MemAvailable), or its
// physical memory where that is not known.
size_t available_host_memory();

}  // namespace sr
