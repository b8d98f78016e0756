// Every inline-PTX instruction of the CUDA kernels, behind one named wrapper each, for two
// targets:
//   nvcc, device code     the asm statement itself
//   SIMT interpreter      kernels/simt/ptx.h: the instruction's PTX ISA semantics on the CPU
//                         (mma.sync as a warp-collective operation over the 32 lanes)
// (Plain host code has none of these: igemm.h keeps host twins of the conversions for the
// CPU tests, tests/test_cuda_host.cpp, which emulate the warp MMA themselves.)
// Adding an instruction: a wrapper here for both targets, its semantics in kernels/simt/.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

#if defined(SRENGINE_SIMT)
#include "kernels/simt/ptx.h"
#elif defined(__CUDACC__)
#include <cuda.h>  // CUtensorMap (a type only: nothing links libcuda)
#endif

#if defined(__CUDACC__)
#define SR_DEVICE_INLINE __device__ __forceinline__
#else
#define SR_DEVICE_INLINE inline
#endif

#if defined(__CUDACC__) || defined(SRENGINE_SIMT)
namespace sr::cuda::ptx {

// cvt.rna.tf32.f32: round to TF32, nearest with ties away from zero. The .b32 result holds
// the TF32 value; callers mask its low 13 bits.
SR_DEVICE_INLINE uint32_t cvt_rna_tf32(float x) {
#if defined(SRENGINE_SIMT)
  return ::simt::ptx::cvt_rna_tf32(x);
#else
  uint32_t r = 0;
#if defined(__CUDA_ARCH__)
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
#endif
  return r;
#endif
}

// cvt.rn.bf16x2.f32 d, hi, lo: hi rounded to bf16 (nearest even) in bits 16..31, lo in 0..15.
SR_DEVICE_INLINE uint32_t cvt_rn_bf16x2(float hi, float lo) {
#if defined(SRENGINE_SIMT)
  return ::simt::ptx::cvt_rn_bf16x2(hi, lo);
#else
  uint32_t r = 0;
#if defined(__CUDA_ARCH__)
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
#endif
}

// cvt.rn.f16x2.f32 d, hi, lo: hi rounded to IEEE fp16 (nearest even, overflow to infinity,
// subnormals kept) in bits 16..31, lo in 0..15.
SR_DEVICE_INLINE uint32_t cvt_rn_f16x2(float hi, float lo) {
#if defined(SRENGINE_SIMT)
  return ::simt::ptx::cvt_rn_f16x2(hi, lo);
#else
  uint32_t r = 0;
#if defined(__CUDA_ARCH__)
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
#endif
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 d, a, b, d (every lane of the warp).
SR_DEVICE_INLINE void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mma_m16n8k8_tf32(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 d, a, b, d (every lane of the warp).
SR_DEVICE_INLINE void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mma_m16n8k16_bf16(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

#if defined(SRENGINE_SIMT)
// The .shared state-space address of a generic pointer to shared memory (32 bits; in the
// interpreter, dynamic shared memory only).
SR_DEVICE_INLINE uint32_t shared_address(const void* p) { return ::simt::ptx::shared_address(p); }
#else
SR_DEVICE_INLINE uint32_t shared_address(const void* p) {
#if defined(__CUDA_ARCH__)
  return (uint32_t)__cvta_generic_to_shared(p);
#else
  return (uint32_t)(uintptr_t)p;  // (nvcc's host pass of a kernel body; never runs)
#endif
}
#endif

// cp.async.cg.shared.global [dst], [src], 16, src_size: copies 16 bytes from global to shared
// memory asynchronously, bypassing L1 (.cg); the bytes past src_size are zero-filled, and
// src_size = 0 reads nothing (the out-of-image zero padding). dst and src 16-byte aligned.
// Lands at the cp_async_wait_group that retires its group.
SR_DEVICE_INLINE void cp_async_cg_16(void* dst, const void* src, int src_size) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::cp_async_cg_16(dst, src, src_size);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)), "l"(src),
               "r"(src_size)
               : "memory");
#endif
}

// cp.async.commit_group: the calling thread's cp.async since the last commit form one group.
SR_DEVICE_INLINE void cp_async_commit_group() {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::cp_async_commit_group();
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// cp.async.wait_group N: waits until at most the N most recent groups of the calling thread
// are pending (N is an immediate). Other threads' copies need a __syncthreads after it.
template <int N>
SR_DEVICE_INLINE void cp_async_wait_group() {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::cp_async_wait_group(N);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// ldmatrix.sync.aligned.m8n8.x4.shared.b16 (every lane of the warp): lane 8j+i gives the
// 16-byte row i of 8x8 b16 matrix j; lane l receives in r[j] row l/4, elements 2(l%4) and
// 2(l%4)+1 of matrix j (low half first): the mma.m16n8k16 A/B fragment layout.
SR_DEVICE_INLINE void ldmatrix_x4(uint32_t r[4], const void* row) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::ldmatrix_x4(r, row, /*trans=*/false);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
#endif
}

// ldmatrix...x4.trans: the same rows, each matrix delivered transposed: lane l receives
// (row 2(l%4), column l/4) and (row 2(l%4)+1, column l/4) of matrix j.
SR_DEVICE_INLINE void ldmatrix_x4_trans(uint32_t r[4], const void* row) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::ldmatrix_x4(r, row, /*trans=*/true);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
#endif
}

// mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 d, a, b, d (every lane of the warp).
SR_DEVICE_INLINE void mma_m16n8k16_f16(float d[4], const uint32_t a[4], const uint32_t b[2]) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mma_m16n8k16_f16(d, a, b);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}


// ---- sm_90: mbarrier, tiled bulk tensor copies (TMA) -----------------------------------------
// The tensor map a tiled bulk copy reads: the driver's CUtensorMap on a GPU (a
// __grid_constant__ kernel parameter), the interpreter's struct with the same fields.
#if defined(SRENGINE_SIMT)
using TensorMap = ::simt::TensorMap;
#elif defined(__CUDACC__)
using TensorMap = CUtensorMap;
#endif

// mbarrier.init.shared::cta.b64 [bar], count: phase 0 expecting `count` arrivals.
SR_DEVICE_INLINE void mbarrier_init(uint64_t* bar, uint32_t count) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mbarrier_init(bar, count);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)), "r"(count) : "memory");
#endif
}

// fence.mbarrier_init.release.cluster: initialised mbarriers visible to the async proxy (the
// tensor copies that complete on them). Nothing to order in the interpreter.
SR_DEVICE_INLINE void fence_mbarrier_init() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && !defined(SRENGINE_SIMT)
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}

// fence.proxy.async.shared::cta: orders the calling thread's shared-memory accesses through the
// generic proxy (plain loads and stores) with later ones through the async proxy (tensor copies,
// wgmma operand reads), and the reverse. The interpreter has one proxy: nothing to order.
SR_DEVICE_INLINE void fence_proxy_async_shared() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && !defined(SRENGINE_SIMT)
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// mbarrier.arrive.shared::cta.b64 _, [bar]: one arrival on the current phase.
SR_DEVICE_INLINE void mbarrier_arrive(uint64_t* bar) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mbarrier_arrive(bar);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.shared::cta.b64 state, [%0];\n}\n" ::"r"(shared_address(bar))
               : "memory");
#endif
}

// mbarrier.arrive.expect_tx.shared::cta.b64 _, [bar], tx: the phase also waits for tx bytes
// of transactions (the tensor copies issued on it), then one arrival.
SR_DEVICE_INLINE void mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t tx) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mbarrier_arrive_expect_tx(bar, tx);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("{\n.reg .b64 state;\nmbarrier.arrive.expect_tx.shared::cta.b64 state, [%0], %1;\n}\n" ::"r"(
                   shared_address(bar)),
               "r"(tx)
               : "memory");
#endif
}

// mbarrier.try_wait.parity.shared::cta.b64 until it succeeds: returns once the phase of
// parity `parity` (0 or 1) of bar has completed.
SR_DEVICE_INLINE void mbarrier_wait_parity(uint64_t* bar, uint32_t parity) {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::mbarrier_wait_parity(bar, parity);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  uint32_t done = 0;
  while (!done)
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(shared_address(bar)), "r"(parity)
        : "memory");
#endif
}

// cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// [dst], [map, {c0, c1, c2, c3}], [bar]: the box of *map at (c0 innermost, ..., c3), elements
// outside the tensor zero-filled, into dst with the map's swizzle; its bytes complete as
// transactions on bar. map: a __grid_constant__ kernel parameter (its generic address).
SR_DEVICE_INLINE void tma_load_4d(void* dst, const TensorMap* map, int c0, int c1, int c2, int c3, uint64_t* bar) {
#if defined(SRENGINE_SIMT)
  const int32_t c[4] = {c0, c1, c2, c3};
  ::simt::ptx::tma_load_tile(dst, map, c, bar);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
      "[%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(shared_address(dst)),
      "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(shared_address(bar))
      : "memory");
#endif
}

// The same in three dimensions: the box at (c0, c1, c2).
SR_DEVICE_INLINE void tma_load_3d(void* dst, const TensorMap* map, int c0, int c1, int c2, uint64_t* bar) {
#if defined(SRENGINE_SIMT)
  const int32_t c[3] = {c0, c1, c2};
  ::simt::ptx::tma_load_tile(dst, map, c, bar);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
      "[%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(shared_address(dst)),
      "l"(map), "r"(c0), "r"(c1), "r"(c2), "r"(shared_address(bar))
      : "memory");
#endif
}

// The same in two dimensions: the box at (c0, c1).
SR_DEVICE_INLINE void tma_load_2d(void* dst, const TensorMap* map, int c0, int c1, uint64_t* bar) {
#if defined(SRENGINE_SIMT)
  const int32_t c[2] = {c0, c1};
  ::simt::ptx::tma_load_tile(dst, map, c, bar);
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes "
      "[%0], [%1, {%2, %3}], [%4];\n" ::"r"(shared_address(dst)),
      "l"(map), "r"(c0), "r"(c1), "r"(shared_address(bar))
      : "memory");
#endif
}

// ---- sm_90a: warpgroup MMA -------------------------------------------------------------------
// wgmma is an sm_90a feature (__CUDA_ARCH_FEAT_SM90_ALL): other targets compile these
// wrappers empty, and the kernels that use them refuse to launch there.

// The 64-bit shared-memory matrix descriptor of a bf16 operand (kernels/simt/wgmma.h: start
// address, leading and stride byte offsets, each >> 4; swizzle 0 none, 1 128B, 2 64B).
SR_DEVICE_INLINE uint64_t wgmma_descriptor(uint32_t shared_addr, uint32_t lbo, uint32_t sbo, uint32_t swizzle) {
  return (uint64_t)((shared_addr >> 4) & 0x3fff) | ((uint64_t)((lbo >> 4) & 0x3fff) << 16) |
         ((uint64_t)((sbo >> 4) & 0x3fff) << 32) | ((uint64_t)(swizzle & 3) << 62);
}

// wgmma.fence.sync.aligned (every thread of the warpgroup): orders the accumulators'
// register accesses before the next wgmma.mma_async.
SR_DEVICE_INLINE void wgmma_fence() {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::wgmma_fence();
#elif defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}

// wgmma.commit_group.sync.aligned: the wgmma.mma_async since the last commit form a group.
SR_DEVICE_INLINE void wgmma_commit_group() {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::wgmma_commit_group();
#elif defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}

// wgmma.wait_group.sync.aligned N: at most the N newest groups still pending; the
// accumulators of the others hold their results.
template <int N>
SR_DEVICE_INLINE void wgmma_wait_group() {
#if defined(SRENGINE_SIMT)
  ::simt::ptx::wgmma_wait_group(N);
#elif defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}

// wgmma.mma_async.sync.aligned.m64n<N>k16.f32.bf16.bf16 d, desc_a, desc_b, scale_d, 1, 1,
// TransA, TransB (every thread of the warpgroup; N = 64 or 32): D = A (64 x 16) * B (16 x N)
// + (scale_d ? D : 0), A K-major (TransA 0) or M-major (1), B K-major or N-major (TransB 1);
// d: the thread's N/2 accumulators (fragment layout and operand layouts: kernels/simt/wgmma.h).
template <int N, int TransA = 0, int TransB = 0>
SR_DEVICE_INLINE void wgmma_m64k16_bf16(float* d, uint64_t desc_a, uint64_t desc_b, int scale_d) {
  static_assert(N == 64 || N == 32, "wgmma_m64k16_bf16: N is 64 or 32");
  static_assert((TransA == 0 || TransA == 1) && (TransB == 0 || TransB == 1), "imm-trans is 0 or 1");
#if defined(SRENGINE_SIMT)
  ::simt::ptx::wgmma_m64k16_bf16(d, N, desc_a, desc_b, scale_d != 0, TransA != 0, TransB != 0);
#elif defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if constexpr (N == 64) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
        "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, %35, "
        "%36;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
        : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TransA), "n"(TransB));
  } else {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %18, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, %16, %17, p, 1, 1, %19, %20;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
        : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TransA), "n"(TransB));
  }
#else
  (void)d, (void)desc_a, (void)desc_b, (void)scale_d;
#endif
}

}  // namespace sr::cuda::ptx
#endif
