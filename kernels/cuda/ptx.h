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

#if defined(__CUDA_ARCH__)
// The .shared state-space address of a generic pointer to shared memory (32 bits).
SR_DEVICE_INLINE uint32_t shared_address(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
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

}  // namespace sr::cuda::ptx
#endif
