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

}  // namespace sr::cuda::ptx
#endif
