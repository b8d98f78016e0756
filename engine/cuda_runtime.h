// The host-side face of the CUDA backend: device memory from a stream-ordered pool,
// copies, and the current stream. Plain C++ declarations (no CUDA headers), so every
// .cpp can call them; they exist only when srengine is built with CUDA
// (SRENGINE_WITH_CUDA), and the engine only calls them for CUDA tensors. The SIMT
// interpreter defines the same functions as sr::simt::* (kernels/simt/runtime.cpp,
// engine/cuda_copy.cu) for simt tensors; engine/dispatch.h's SR_ON_DEVICE picks one.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sr::cuda {

bool available();        // built with CUDA and at least one device present
int device_count();
// Makes `index` the calling thread's current device (cudaSetDevice) and remembers it in a
// per-thread cache, which current_device() returns without asking the runtime. So switch
// devices only through set_device: a bare cudaSetDevice leaves the cache stale (the one in
// the NCCL communicator sets the device the trainer already chose, which is harmless).
void set_device(int index);
int current_device();

// Stream-ordered pool allocations on the current stream. `device` must be the calling
// thread's current device (checked: an error names both, instead of memory silently
// landing on another GPU than the tensor says). Out of memory throws an sr::Error with the
// requested size, the pool's use and a hint.
void* allocate(size_t bytes, int device);
void deallocate(void* ptr, int device);

struct PoolStats {
  size_t current_bytes = 0;
  size_t peak_bytes = 0;
};
PoolStats pool_stats(int device);
void reset_peak(int device);

// Page-locked host memory for batches that are copied to `device` (data loader; the
// calling thread is bound to that device first, so a loader thread of rank r never
// creates a context on GPU 0).
// Released blocks are cached and reused only after the copies queued from them on the
// releasing thread's stream have completed, so a host->device copy from such a block
// can stay asynchronous. Out of page-locked memory throws with the size and a hint.
void* allocate_pinned_host(size_t bytes, int device);
void release_pinned_host(void* ptr, size_t bytes);

enum class CopyKind { host_to_device, device_to_host, device_to_device };
// device_to_host waits for the copy (and so for everything queued before it).
void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind);
void memset_zero(void* dst, size_t bytes);
void synchronize();

// A device->host copy that does not wait; `dst` should be page-locked (else the driver
// stages it synchronously). Read dst only after a StreamMark set after this call has been
// waited for.
void memcpy_to_host_async(void* dst, const void* src, size_t bytes);

// A point in the calling thread's stream: wait() blocks the host until the work queued
// before set() has run, not the work queued after it, so the GPU stays busy meanwhile (a
// trainer can check a loss while its backward runs). One event, reused by every set().
// done() asks without waiting (not a host round trip): whether the work queued before the
// last set() has run (true before any set()). The simt device runs work as it is queued but
// answers as a GPU that has run nothing the host has not waited for: done() is false from
// set() until wait(), so a test there sees every wait a slow GPU would cost.
class StreamMark {
 public:
  StreamMark();
  ~StreamMark();
  StreamMark(const StreamMark&) = delete;
  StreamMark& operator=(const StreamMark&) = delete;
  void set();
  void wait();
  bool done();

 private:
  void* event_ = nullptr;
  bool pending_ = false;  // simt: set() and no wait() since
};

// How many times the host has waited for the GPU through this file (device->host copies,
// synchronize(), StreamMark::wait()), over all threads: tests check with it that ops and
// training steps keep their values on the device.
uint64_t host_wait_count();

}  // namespace sr::cuda

namespace sr::cuda {

// Elementwise copy between strided layouts of the same shape on the device, with
// conversion between float32 and float64 (elem types given by their sizes 4 or 8).
void copy_strided(void* dst, const int64_t* dst_strides, int dst_elem_size, const void* src,
                  const int64_t* src_strides, int src_elem_size, const int64_t* shape, int ndim);
// Fills a strided float32/float64 region with one value.
void fill_strided(void* dst, const int64_t* strides, int elem_size, const int64_t* shape, int ndim,
                  double value);

}  // namespace sr::cuda
