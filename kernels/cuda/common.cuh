// Helpers shared by the CUDA kernel files: the stream, launch geometry, shared-memory
// declarations, deterministic warp/block reductions and pool-backed scratch buffers.
// CUDA-only header (.cu files, compiled by nvcc or, with SRENGINE_SIMT, for the SIMT
// interpreter: kernels/simt/).
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/cuda_check.h"
#include "engine/cuda_launch.h"
#include "engine/cuda_runtime.h"

// Shared memory. Kernels declare it only through these, so the SIMT interpreter can give
// every block fresh, NaN-poisoned arrays between guard zones:
//   SR_SHARED(float, tile, [16][68]);              __shared__ float tile[16][68];
//   SR_SHARED_ALIGNED(16, float, As, [2][N]);      __shared__ __align__(16) float As[2][N];
//   SR_SHARED(double, inv_norm, );                 __shared__ double inv_norm;
//   SR_DYNAMIC_SHARED(float, smem);                extern __shared__ __align__(16) float smem[];
// (the type must not contain a comma).
#if defined(SRENGINE_SIMT)
#define SR_SHARED_ALIGNED(align, type, name, dims)                                                 \
  static constinit ::simt::detail::SharedSite simt_site_##name{#name, __FILE__, __LINE__};        \
  auto& name = *static_cast<type(*) dims>(                                                        \
      ::simt::detail::shared_at(simt_site_##name, sizeof(type dims), (align) > alignof(type) ? (align) : alignof(type)))
#define SR_SHARED(type, name, dims) SR_SHARED_ALIGNED(alignof(type), type, name, dims)
#define SR_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::simt::detail::dynamic_shared())
#else
#define SR_SHARED_ALIGNED(align, type, name, dims) __shared__ __align__(align) type name dims
#define SR_SHARED(type, name, dims) __shared__ type name dims
#define SR_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif

namespace sr::cuda {

// Every kernel runs on the per-thread default stream, the stream the memory pool orders
// its allocations on (engine/cuda_runtime.cu).
inline cudaStream_t current_stream() { return cudaStreamPerThread; }

constexpr int kBlock = 256;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n elements. The cap is a constant rather than a
// device property, so nothing a kernel computes depends on which GPU runs it.
inline unsigned grid_for(int64_t n, int block = kBlock, int64_t cap = 16384) {
  int64_t b = ceil_div(n, block);
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return (unsigned)b;
}

// The dynamic shared memory one block may opt in to on the current device
// (cudaDevAttrMaxSharedMemoryPerBlockOptin: 227 KiB on sm_90, 163 KiB on sm_80, 99 KiB on sm_86
// and sm_89); the SIMT interpreter reports sm_90's. Kernels that size a block's shared memory by
// the problem check it against this, so a shape the GPU cannot hold is an error that names the op
// and both sizes rather than cudaFuncSetAttribute's "invalid argument".
inline size_t max_shared_bytes_optin() {
#if defined(SRENGINE_SIMT)
  return 227 * 1024;
#else
  int bytes = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, current_device()));
  return (size_t)bytes;
#endif
}

// ---- Elementwise maps ---------------------------------------------------------------------------
// op(i) for every i < n, grid-stride. Op is a small struct of pointers and scalars with a
// __device__ operator()(int64_t) (functors rather than lambdas: no --extended-lambda).
template <class Op>
__global__ void map_kernel(Op op, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    op(i);
}

template <class Op>
void launch_map(const char* name, const Op& op, int64_t n) {
  if (n <= 0) return;
  launch_kernel(map_kernel<Op>, grid_for(n), kBlock, 0, current_stream(), op, n);
  CUDA_CHECK_LAUNCH(name);
}

// ---- Deterministic reductions ---------------------------------------------------------------
// The shuffle tree is fixed (offsets 16, 8, 4, 2, 1), so for a fixed block size and a fixed
// assignment of elements to threads the result is the same on every run and every GPU.

// Every lane returns the max / sum of v over the warp (butterfly: a + b == b + a in IEEE, so
// all lanes end with the same bits; the attention kernels' softmax rows).
__device__ __forceinline__ float warp_all_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_all_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// a . b over d values, e in order, one fmaf a step (fmaf(a, b, c) == fmaf(b, a, c): the
// operands' order does not change the bits).
__device__ __forceinline__ float dot_in_order(const float* a, const float* b, int d) {
  float acc = 0.f;
  for (int e = 0; e < d; ++e) acc = fmaf(a[e], b[e], acc);
  return acc;
}

// Lane 0 returns the sum of v over the warp.
template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// Thread 0 returns the sum of v over the block (blockDim.x must equal kThreads).
// Contains __syncthreads: every thread of the block must call it.
template <typename T, int kThreads>
__device__ T block_sum(T v) {
  static_assert(kThreads % 32 == 0 && kThreads <= 1024, "block size");
  SR_SHARED(T, partial, [kThreads / 32]);
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T total = T(0);
  if (warp == 0) total = warp_sum(lane < kThreads / 32 ? partial[lane] : T(0));
  __syncthreads();  // partial[] may be reused by the next call
  return total;
}

// ---- Scratch memory -------------------------------------------------------------------------
// A temporary device buffer from the stream-ordered pool; freed (stream-ordered, so after
// the kernels queued before it) when it goes out of scope.
class DeviceScratch {
 public:
  explicit DeviceScratch(size_t bytes) : device_(current_device()) {
    if (bytes) ptr_ = allocate(bytes, device_);
  }
  ~DeviceScratch() {
    if (!ptr_) return;
    try {
      deallocate(ptr_, device_);
    } catch (...) {
      // A destructor must not throw; a failing free surfaces at the next checked call.
    }
  }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  int device_ = 0;
  void* ptr_ = nullptr;
};

}  // namespace sr::cuda
