// GEMM on CUDA (see gemm.h).
//
// native v1: C tile 64 x 64 per block of 256 threads, K in steps of 16.
//   As[k][m] and Bs[k][n] (k-major, +4 padding) are filled with coalesced loads in both
//   transposition cases, then each thread accumulates a 4 x 4 patch (rows ty + 16i,
//   columns tx + 16j, so a warp's stores are 16 consecutive floats). fp32 FMA, fixed
//   summation order per output: deterministic. It serves the linear layer (small
//   matrices); the convolutions have their own tensor-core kernels.
// cublas: cublasSgemm with the row-major <-> column-major swap
//   C^T (N x M, col-major, ld = ldc) = op(B)^T op(A)^T.
#if !defined(SRENGINE_SIMT)  // cuBLAS is GPU-only: the SIMT interpreter runs the native kernel
#include <cublas_v2.h>
#endif

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/reduce.h"

namespace sr::cuda {

namespace {

constexpr int kTile = 64, kTileK = 16, kGemmThreads = 256;

__global__ void __launch_bounds__(kGemmThreads)
    gemm_tiled_kernel(int trans_a, int trans_b, int M, int N, int K, const float* __restrict__ A,
                      int64_t lda, const float* __restrict__ B, int64_t ldb, float* __restrict__ C,
                      int64_t ldc, int accumulate) {
  SR_SHARED(float, As, [kTileK][kTile + 4]);
  SR_SHARED(float, Bs, [kTileK][kTile + 4]);
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.y * kTile, n0 = blockIdx.x * kTile;
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += kTileK) {
    // 64 x 16 elements of each operand, 4 per thread. Threads run along the operand's
    // contiguous dimension: k for a non-transposed A, m for a transposed one.
    for (int e = tid; e < kTile * kTileK; e += kGemmThreads) {
      int m, k;
      if (trans_a) {
        m = e % kTile;
        k = e / kTile;
      } else {
        k = e % kTileK;
        m = e / kTileK;
      }
      const int gm = m0 + m, gk = k0 + k;
      As[k][m] = (gm < M && gk < K) ? (trans_a ? A[(int64_t)gk * lda + gm] : A[(int64_t)gm * lda + gk]) : 0.f;
      int n, kb;
      if (trans_b) {
        kb = e % kTileK;
        n = e / kTileK;
      } else {
        n = e % kTile;
        kb = e / kTile;
      }
      const int gn = n0 + n, gkb = k0 + kb;
      Bs[kb][n] = (gn < N && gkb < K) ? (trans_b ? B[(int64_t)gn * ldb + gkb] : B[(int64_t)gkb * ldb + gn]) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTileK; ++k) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[k][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int gm = m0 + ty + 16 * i;
    if (gm >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int gn = n0 + tx + 16 * j;
      if (gn >= N) continue;
      float* c = C + (int64_t)gm * ldc + gn;
      *c = accumulate ? *c + acc[i][j] : acc[i][j];
    }
  }
}

struct AddBiasRowsOp {
  float* y;
  const float* bias;
  int64_t Out;
  __device__ void operator()(int64_t i) const { y[i] += bias[i % Out]; }
};

#if !defined(SRENGINE_SIMT)
// One cuBLAS handle per thread and device, created on first use and kept for the life of
// the process (destroying handles at exit races the driver's own teardown).
cublasHandle_t cublas_handle() {
  constexpr int kMaxDevices = 16;
  thread_local cublasHandle_t handles[kMaxDevices] = {};
  const int d = current_device();
  SR_CHECK(d < kMaxDevices, "cublas: device index ", d, " out of range");
  if (!handles[d]) CUBLAS_CHECK(cublasCreate(&handles[d]));
  CUBLAS_CHECK(cublasSetStream(handles[d], current_stream()));
  return handles[d];
}
#endif

}  // namespace

void gemm_with(GemmVariant v, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
               bool accumulate) {
  if (M <= 0 || N <= 0) return;
  const int64_t lim = int64_t{1} << 31;
  SR_CHECK(M < lim && N < lim && K < lim, "gemm: sizes ", M, " x ", N, " x ", K, " too large");
  if (v == GemmVariant::cublas) {
#if defined(SRENGINE_SIMT)
    fail("gemm: the cublas variant is GPU-only (the SIMT interpreter runs the native kernel)");
#else
    const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
    CUBLAS_CHECK(cublasSgemm(cublas_handle(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                             trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)N, (int)M, (int)K, &alpha, B,
                             (int)ldb, A, (int)lda, &beta, C, (int)ldc));
    return;
#endif
  }
  const dim3 grid((unsigned)ceil_div(N, kTile), (unsigned)ceil_div(M, kTile));
  SR_CHECK(grid.y <= 65535, "gemm: M = ", M, " is too large for the native kernel");
  launch_kernel(gemm_tiled_kernel, grid, kGemmThreads, 0, current_stream(), trans_a, trans_b, (int)M, (int)N,
                (int)K, A, lda, B, ldb, C, ldc, accumulate ? 1 : 0);
  CUDA_CHECK_LAUNCH("gemm");
}

void linear_forward(GemmVariant v, const float* x, const float* w, const float* bias, float* y, int64_t N,
                    int64_t In, int64_t Out) {
  gemm_with(v, false, true, N, Out, In, x, In, w, In, y, Out, false);
  if (bias) launch_map("linear bias", AddBiasRowsOp{y, bias, Out}, N * Out);
}

void linear_backward(GemmVariant v, const float* g, const float* x, const float* w, float* dx, float* dw,
                     float* dbias, int64_t N, int64_t In, int64_t Out) {
  if (dx) gemm_with(v, false, false, N, In, Out, g, Out, w, In, dx, In, false);
  if (dw) gemm_with(v, true, false, Out, In, N, g, Out, x, In, dw, In, false);
  if (dbias) channel_sum(g, N, Out, 1, Out, dbias, /*accumulate=*/true);
}

}  // namespace sr::cuda
