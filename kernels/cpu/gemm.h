// Row-major GEMM on the CPU through Eigen: C = A(op) * B(op) (+ C when accumulate).
// Eigen parallelises one product over OpenMP threads; called inside a parallel region
// it runs single-threaded, which the conv kernels use to parallelise over images.
#pragma once
#include <cstdint>

namespace sr::cpu {

// A is M x K (or K x M when trans_a), B is K x N (or N x K when trans_b), C is M x N;
// lda/ldb/ldc are row strides in elements.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate);

}  // namespace sr::cpu
