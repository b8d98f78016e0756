// The SIMT interpreter's CUDA: what nvcc and <cuda_runtime.h> give a .cu file, for the host
// compiler, so that kernels/cuda/*.cu compile unchanged into srengine_simt and their
// __global__ functions run on the CPU (docs/SIMT.md). The build force-includes this header
// (-include), as nvcc pre-includes cuda_runtime.h.
//
// Threads run as cooperative fibers (kernels/simt/interpreter.cpp), one per CUDA thread of
// the block being run: __syncthreads, warp shuffles/votes, __syncwarp and the PTX mma are
// the only points where a fiber yields, and each of them checks what the hardware would
// leave undefined (divergent barriers, lanes missing from a shuffle mask, ...).
#pragma once
#if !defined(SRENGINE_SIMT)
#error "kernels/simt/simt.h is the SIMT interpreter build's CUDA (compile with -DSRENGINE_SIMT)"
#endif

#include <math.h>  // the float overloads (expf as exp(float), ...) in the global namespace, as CUDA's

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/simt/device.h"
#include "kernels/simt/graph.h"

// ---- Types of the CUDA runtime API ---------------------------------------------------------
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
};
using cudaError = cudaError_t;
struct CUstream_st;
using cudaStream_t = CUstream_st*;
#define cudaStreamPerThread ((cudaStream_t)0x2)

namespace simt {

// ---- Interpreter state the device builtins read (interpreter.cpp) ---------------------------
namespace detail {

struct ThreadCtx {
  uint3 thread_idx;
  int linear;  // x + y*bx + z*bx*by
  int lane, warp;
};
struct BlockCtx {
  uint3 block_idx, block_dim, grid_dim;
};
// constinit: no dynamic initialisation, so threadIdx & co are plain TLS loads (no TLS wrapper
// call per access; GCC 12 with -fsanitize=null also miscompiles the wrapper's null check into
// a false report).
extern constinit thread_local ThreadCtx* t_thread;  // the fiber running now (null outside a kernel)
extern constinit thread_local BlockCtx t_block;

// A shared-memory declaration site (SR_SHARED): where its bytes live in the block's arena.
struct SharedSite {
  const char* name;
  const char* file;
  int line;
  int64_t offset = -1;   // in the arena; fixed at the first use of the site in the process
  size_t bytes = 0;
  uint64_t block_epoch = 0;  // the last block that touched it (then it was poisoned)
};
void* shared_at(SharedSite& site, size_t bytes, size_t align);
void* dynamic_shared();
size_t dynamic_shared_bytes();  // the launch's dynamic shared memory size
// The .shared address of the dynamic array's first byte (ptx::shared_address): not 0 and not a
// multiple of 1024, as on a GPU where the dynamic array follows other shared memory and is
// only 16-byte aligned. Its pointer has the same residue mod 1024, so the alignment of a
// pointer and of its .shared address agree.
constexpr uint32_t kDynamicSharedAddress = 16;

void syncthreads(const std::source_location& loc);
// A warp-collective operation: every lane of `mask` calls it (any order); the last one to
// arrive runs op over all lanes' payloads, then all continue. Checks that the lanes of
// `mask` exist, have not exited and all call the same operation.
using WarpOp = void (*)(void* const payload[32], unsigned mask, const void* ctx);
void warp_collective(const char* name, unsigned mask, void* payload, WarpOp op, const void* ctx,
                     const std::source_location& loc);
unsigned active_mask();

// Runs body(ctx) for every thread of every block of the grid (see launch below). Errors
// found while running are kept for cudaGetLastError, as CUDA reports kernel faults.
void launch(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes, void (*body)(void*), void* ctx);

[[noreturn]] void device_fail(const char* what, const std::source_location& loc);

}  // namespace detail

// The one launch: what `kernel<<<grid, block, shared_bytes>>>(args...)` does. The arguments
// are converted to the kernel's parameter types once, on the host, as at a CUDA launch;
// every thread then receives its own copy of them (std::apply copies into by-value params).
namespace detail {
template <class... Params, class Tuple>
void launch_converted(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Tuple& params) {
  struct Ctx {
    void (*kernel)(Params...);
    Tuple* params;
  } ctx{kernel, &params};
  detail::launch(reinterpret_cast<const void*>(kernel), grid, block, shared_bytes,
                 [](void* c) {
                   auto* x = static_cast<Ctx*>(c);
                   std::apply(x->kernel, *x->params);
                 },
                 &ctx);
}
}  // namespace detail

template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel launched with the wrong argument count");
  using Tuple = std::tuple<std::remove_cv_t<std::remove_reference_t<Params>>...>;
  if (capturing()) {  // recorded with its converted arguments; runs at replay (graph.h)
    capture::record([kernel, grid, block, shared_bytes, params = Tuple(std::forward<Args>(args)...)]() mutable {
      detail::launch_converted(kernel, grid, block, shared_bytes, params);
    });
    return;
  }
  Tuple params(std::forward<Args>(args)...);
  detail::launch_converted(kernel, grid, block, shared_bytes, params);
}


}  // namespace simt

// ---- Keywords ---------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __grid_constant__
// Static shared memory must be declared with SR_SHARED (kernels/cuda/common.cuh), which the
// interpreter backs with a poisoned per-block arena; a bare __shared__ would silently be
// one static variable for every block.
#define __shared__ static_assert(false, "use SR_SHARED / SR_DYNAMIC_SHARED (kernels/cuda/common.cuh) for shared memory");

// ---- Built-in variables -----------------------------------------------------------------------
#define threadIdx (::simt::detail::t_thread->thread_idx)
#define blockIdx (::simt::detail::t_block.block_idx)
#define blockDim (::simt::detail::t_block.block_dim)
#define gridDim (::simt::detail::t_block.grid_dim)
constexpr int warpSize = 32;

#define __syncthreads() ::simt::detail::syncthreads(std::source_location::current())

// ---- Warp shuffles, votes, __syncwarp ------------------------------------------------------------
namespace simt::detail {

enum class ShflMode { idx, up, down, bfly };
struct ShflPayload {
  uint64_t value;
  int arg;  // source lane, delta or lane mask
  int width;
  uint64_t result;
};
template <ShflMode M>
void shfl_op(void* const payload[32], unsigned mask, const void*) {
  for (int lane = 0; lane < 32; ++lane) {
    if (!(mask >> lane & 1u)) continue;
    auto* p = static_cast<ShflPayload*>(payload[lane]);
    const int w = p->width, base = lane & ~(w - 1), in_seg = lane - base;
    int src;
    if constexpr (M == ShflMode::idx) src = base + (p->arg & (w - 1));
    if constexpr (M == ShflMode::up) src = in_seg - p->arg >= 0 ? lane - p->arg : lane;
    if constexpr (M == ShflMode::down) src = in_seg + p->arg < w ? lane + p->arg : lane;
    if constexpr (M == ShflMode::bfly) src = ((in_seg ^ p->arg) < w) ? base + (in_seg ^ p->arg) : lane;
    // A source lane outside the mask gives an undefined value: the interpreter's is poison
    // (all bits set: NaN for float and double).
    p->result = (mask >> src & 1u) ? static_cast<ShflPayload*>(payload[src])->value : ~uint64_t{0};
  }
}

template <ShflMode M, class T>
T shfl(const char* name, unsigned mask, T var, int arg, int width, const std::source_location& loc) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move at most 8 bytes");
  if (width <= 0 || width > 32 || (width & (width - 1))) device_fail("shuffle width must be a power of two <= 32", loc);
  ShflPayload p{0, arg, width, 0};
  std::memcpy(&p.value, &var, sizeof(T));
  warp_collective(name, mask, &p, &shfl_op<M>, nullptr, loc);
  T out;
  std::memcpy(&out, &p.result, sizeof(T));
  return out;
}

struct VotePayload {
  int pred;
  unsigned result;
};
inline void ballot_op(void* const payload[32], unsigned mask, const void*) {
  unsigned b = 0;
  for (int lane = 0; lane < 32; ++lane)
    if ((mask >> lane & 1u) && static_cast<VotePayload*>(payload[lane])->pred) b |= 1u << lane;
  for (int lane = 0; lane < 32; ++lane)
    if (mask >> lane & 1u) static_cast<VotePayload*>(payload[lane])->result = b;
}
inline unsigned ballot(const char* name, unsigned mask, int pred, const std::source_location& loc) {
  VotePayload p{pred != 0, 0};
  warp_collective(name, mask, &p, &ballot_op, nullptr, loc);
  return p.result;
}
inline void nop_op(void* const*, unsigned, const void*) {}

}  // namespace simt::detail

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32,
              std::source_location loc = std::source_location::current()) {
  return ::simt::detail::shfl<::simt::detail::ShflMode::idx>("__shfl_sync", mask, var, src_lane, width, loc);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32,
                 std::source_location loc = std::source_location::current()) {
  return ::simt::detail::shfl<::simt::detail::ShflMode::up>("__shfl_up_sync", mask, var, (int)delta, width, loc);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32,
                   std::source_location loc = std::source_location::current()) {
  return ::simt::detail::shfl<::simt::detail::ShflMode::down>("__shfl_down_sync", mask, var, (int)delta, width, loc);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32,
                  std::source_location loc = std::source_location::current()) {
  return ::simt::detail::shfl<::simt::detail::ShflMode::bfly>("__shfl_xor_sync", mask, var, lane_mask, width, loc);
}
inline unsigned __ballot_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  return ::simt::detail::ballot("__ballot_sync", mask, pred, loc);
}
inline int __any_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  return ::simt::detail::ballot("__any_sync", mask, pred, loc) != 0;
}
inline int __all_sync(unsigned mask, int pred, std::source_location loc = std::source_location::current()) {
  return ::simt::detail::ballot("__all_sync", mask, pred, loc) == mask;
}
inline void __syncwarp(unsigned mask = 0xffffffffu, std::source_location loc = std::source_location::current()) {
  ::simt::detail::warp_collective("__syncwarp", mask, nullptr, &::simt::detail::nop_op, nullptr, loc);
}
inline unsigned __activemask() { return ::simt::detail::active_mask(); }

// ---- Memory and integer intrinsics -----------------------------------------------------------------
// Fibers switch only at barriers and warp collectives, so a read-modify-write is atomic.
// Atomics are not shown to the race checker (SIMT_ATOMIC: not instrumented): they are how
// threads share a word without a barrier.
#if defined(__SANITIZE_THREAD__)
#define SIMT_ATOMIC __attribute__((no_sanitize_thread))
#else
#define SIMT_ATOMIC
#endif
template <class T>
T __ldg(const T* p) {
  return *p;
}
template <class T>
SIMT_ATOMIC T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}
template <class T>
SIMT_ATOMIC T atomicSub(T* p, T v) {
  const T old = *p;
  *p = old - v;
  return old;
}
template <class T>
SIMT_ATOMIC T atomicMax(T* p, T v) {
  const T old = *p;
  *p = old < v ? v : old;
  return old;
}
template <class T>
SIMT_ATOMIC T atomicMin(T* p, T v) {
  const T old = *p;
  *p = v < old ? v : old;
  return old;
}
template <class T>
SIMT_ATOMIC T atomicExch(T* p, T v) {
  const T old = *p;
  *p = v;
  return old;
}
template <class T>
SIMT_ATOMIC T atomicCAS(T* p, T compare, T v) {
  const T old = *p;
  if (old == compare) *p = v;
  return old;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __mulhi(int a, int b) { return (int)(((int64_t)a * b) >> 32); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline unsigned __float_as_uint(float x) {
  unsigned u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
inline int __float_as_int(float x) { return (int)__float_as_uint(x); }
inline float __int_as_float(int u) { return __uint_as_float((unsigned)u); }
inline long long __double_as_longlong(double x) {
  long long u;
  std::memcpy(&u, &x, 8);
  return u;
}
inline double __longlong_as_double(long long u) {
  double x;
  std::memcpy(&x, &u, 8);
  return x;
}

// ---- Math: CUDA's global overloads that <math.h> lacks, and the fast-math intrinsics ---------------
// The intrinsics compute the accurate value: the interpreter does not model their ulp error.
#define SIMT_MINMAX(T)                                        \
  inline T min(T a, T b) { return b < a ? b : a; }            \
  inline T max(T a, T b) { return a < b ? b : a; }
SIMT_MINMAX(int)
SIMT_MINMAX(unsigned)
SIMT_MINMAX(long)
SIMT_MINMAX(unsigned long)
SIMT_MINMAX(long long)
SIMT_MINMAX(unsigned long long)
#undef SIMT_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline float rsqrtf(float x) { return 1.f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
// The _rn forms are never contracted into an FMA; the host compiler (-ffp-contract=fast
// under -march=native) would fuse an inlined a * b + c, so the values pass through volatile.
inline float __fadd_rn(float a, float b) {
  volatile float va = a, vb = b;
  return va + vb;
}
inline float __fmul_rn(float a, float b) {
  volatile float p = a * b;
  return p;
}
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : (x == x ? x : 0.f)); }

// ---- The runtime API the kernel files call -----------------------------------------------------------
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t err);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamSynchronize(cudaStream_t);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t = nullptr);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
// Dynamic shared memory above 48 KiB needs the kernel's opt-in, as on a GPU (up to 227 KiB,
// sm_90's limit per block); the interpreter checks launches against it.
enum cudaFuncAttribute : int { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
namespace simt::detail {
cudaError_t set_max_dynamic_shared(const void* kernel, int bytes);
}
template <class... Params>
cudaError_t cudaFuncSetAttribute(void (*kernel)(Params...), cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
  return ::simt::detail::set_max_dynamic_shared(reinterpret_cast<const void*>(kernel), value);
}
