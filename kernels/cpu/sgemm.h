// Packed single-precision GEMM with SIMD register-blocked micro-kernels (simd.h): the
// float32 path of gemm() (gemm.h) wherever the build has AVX2 or AVX-512. Same contract
// as gemm(): row-major, C = op(A) * op(B) (+ C when accumulate), then + col_bias[j] on every
// row when col_bias is not null (added after the whole sum, in the micro-kernel's last store: the
// same values as a separate pass over C).
#pragma once
#include <cstdint>

#include "kernels/cpu/simd.h"

namespace sr::cpu {

#if SR_CPU_SIMD
void sgemm_packed(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate,
                  const float* col_bias = nullptr);
#endif

}  // namespace sr::cpu
