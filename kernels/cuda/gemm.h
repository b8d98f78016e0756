// Row-major float32 GEMM on CUDA, the twin of kernels/cpu/gemm.h, plus the linear layer
// built on it. Two variants; the caller names one (the linear op passes its
// kernels::KernelChoice's, kernels/kernel_choice.h):
//   native  v1: 64 x 64 tiles in shared memory, 4 x 4 outputs per thread, fp32 FMA
//   cublas  cublasSgemm (default math: fp32), the oracle and baseline
#pragma once
#include <cstdint>
#include <string>

#include "kernels/kernel_choice.h"

namespace sr::cuda {

using GemmVariant = kernels::GemmVariant;
using kernels::gemm_variant_from_name;
using kernels::gemm_variant_name;

// C = op(A) * op(B) (+ C when accumulate). A is M x K (K x M when trans_a), B is K x N
// (N x K when trans_b), C is M x N; lda/ldb/ldc are row strides in elements.
void gemm_with(GemmVariant v, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
               bool accumulate);

// linear: y (N, Out) = x (N, In) w^T (w is (Out, In)) + bias (may be null).
void linear_forward(GemmVariant v, const float* x, const float* w, const float* bias, float* y, int64_t N,
                    int64_t In, int64_t Out);
// dx = g w, dw = g^T x (both overwritten), dbias += column sums of g (deterministic);
// each output may be null.
void linear_backward(GemmVariant v, const float* g, const float* x, const float* w, float* dx, float* dw,
                     float* dbias, int64_t N, int64_t In, int64_t Out);

}  // namespace sr::cuda
