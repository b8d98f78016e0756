// Row-major GEMM on the CPU: C = A(op) * B(op) (+ C when accumulate).
// float32 runs the packed SIMD SGEMM (sgemm.h) where the build has AVX2/AVX-512; float64
// (and float32 elsewhere) runs Eigen, which parallelises one product over OpenMP threads.
// Called inside a parallel region, either runs single-threaded, which lets callers
// parallelise over independent products themselves.
#pragma once
#include <cstdint>

namespace sr::cpu {

// A is M x K (or K x M when trans_a), B is K x N (or N x K when trans_b), C is M x N;
// lda/ldb/ldc are row strides in elements.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate);

// gemm, then C[i, j] += bias[j] on every row: the same values as a separate pass (the bias goes
// on after the whole sum); float32's packed SGEMM adds it in the micro-kernel's store, which
// saves a pass over C (the linear layers' bias).
template <typename T>
void gemm_bias(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
               const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate, const T* bias);

// The same product through Eigen for every dtype: the reference for tests and benchmarks.
template <typename T>
void gemm_eigen(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate);

}  // namespace sr::cpu
