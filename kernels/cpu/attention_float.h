// The float building blocks of the CPU attention kernels' fast paths (window_attention.cpp,
// overlap_window_attention.cpp): small GEMMs over contiguous rows in register blocks of
// kernels/cpu/simd.h vectors, a branch-free expf for softmax rows, and row reductions in a fixed
// order that still vectorises. Every output is summed in one fixed order whatever the blocking,
// so the kernels built on them give the same bits on every run and thread count. Include after
// kernels/cpu/simd_gcc_warnings.h, from .cpp files only.
#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/simd.h"

namespace sr::cpu::attention_float {
// Internal linkage: the bodies depend on the including file's SIMD flags (SR_CPU_SIMD, -march),
// so each translation unit keeps its own copy rather than sharing one definition.
namespace {

// C (M x n, row stride ldc) = A (M x K: element (r, k) at A[r lda + k ak]) B (K x n, row stride
// ldb) in float:
// each element summed over k = 0, 1, ... in order from 0 (one FMA a step), whatever the
// blocking, so it does not depend on how rows and columns are tiled. The register blocks are
// R rows by NV vectors of columns (the last one masked), the accumulators in registers (5 rows
// when M is a multiple of 5 but not of 4: the attention's P V with head_dim 10); without
// AVX2 / AVX-512, plain loops with std::fma in the same order.
#if SR_CPU_SIMD
template <int R, int NV>
void small_gemm_block(const float* A, int64_t lda, int64_t ak, const float* B, int64_t ldb, int K, float* C,
                      int64_t ldc, simd::Mask last) {
  using namespace simd;
  Vec acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = zero();
  for (int k = 0; k < K; ++k) {
    const float* b = B + (int64_t)k * ldb;
    Vec bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = v == NV - 1 ? loadu(b + v * kLanes, last) : loadu(b + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const Vec a = broadcast(A + r * lda + k * ak);
      for (int v = 0; v < NV; ++v) acc[r][v] = fmadd(a, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) {
      if (v == NV - 1)
        storeu(C + r * ldc + v * kLanes, acc[r][v], last);
      else
        storeu(C + r * ldc + v * kLanes, acc[r][v]);
    }
}

template <int R>
void small_gemm_rows(const float* A, int64_t lda, int64_t ak, const float* B, int64_t ldb, int K, int n, float* C,
                     int64_t ldc) {
  using namespace simd;
  constexpr int kMaxNV = kRegisters >= 32 ? 4 : 2;  // AVX2's 16 registers: 4 x 2 accumulators
  for (int j0 = 0; j0 < n; j0 += kMaxNV * kLanes) {
    const int cols = std::min(n - j0, kMaxNV * kLanes), nv = (cols + kLanes - 1) / kLanes;
    const Mask last = first_lanes(cols - (nv - 1) * kLanes);
    const float* b = B + j0;
    float* c = C + j0;
    switch (nv) {
      case 1: small_gemm_block<R, 1>(A, lda, ak, b, ldb, K, c, ldc, last); break;
      case 2: small_gemm_block<R, 2>(A, lda, ak, b, ldb, K, c, ldc, last); break;
      case 3: small_gemm_block<R, 3>(A, lda, ak, b, ldb, K, c, ldc, last); break;
      default: small_gemm_block<R, 4>(A, lda, ak, b, ldb, K, c, ldc, last); break;
    }
  }
}
#endif

inline void small_gemm(int M, int n, int K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                int64_t ak = 1) {
#if SR_CPU_SIMD
  int i = 0;
  if (M % 4 != 0 && M % 5 == 0)
    for (; i + 5 <= M; i += 5) small_gemm_rows<5>(A + i * lda, lda, ak, B, ldb, K, n, C + i * ldc, ldc);
  for (; i + 4 <= M; i += 4) small_gemm_rows<4>(A + i * lda, lda, ak, B, ldb, K, n, C + i * ldc, ldc);
  for (; i < M; ++i) small_gemm_rows<1>(A + i * lda, lda, ak, B, ldb, K, n, C + i * ldc, ldc);
#else
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < n; ++j) {
      float acc = 0.f;
      for (int k = 0; k < K; ++k) acc = std::fma(A[i * lda + k * ak], B[(int64_t)k * ldb + j], acc);
      C[i * ldc + j] = acc;
    }
#endif
}

inline void transpose_square(const float* a, float* t, int n) {
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) t[(size_t)j * n + i] = a[(size_t)i * n + j];
}

// exp(x) in float for a softmax's x - max (x <= 0), branch-free so that a row's loop vectorises:
// Cephes' expf (x = n ln 2 + r, |r| <= ln 2 / 2, a polynomial in r, times 2^n), within 1.01 ulp
// of exp on every float in (-87.3, 0] (checked exhaustively against double exp); 0 below -87.3,
// where exp leaves float's normal range (1e-38 of a row sum >= 1). x is clamped to -88 before the
// integer conversion (converting the n of -inf or NaN is undefined); a NaN x comes back NaN, so a
// non-finite score still reaches the loss and the step's non-finite check.
inline float softmax_exp(float x_in) {
  const float x = x_in > -88.f ? x_in : -88.f;  // NaN -> -88 here; returned as NaN below
  const float t = x * 1.44269504088896341f + 12582912.f;  // 1.5 2^23: rounds x log2 e to an integer
  const float n = t - 12582912.f;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.f;
  const int e = (int)n;
  const float p2 = std::bit_cast<float>((std::max(e, -126) + 127) << 23);
  return x_in >= -87.3f ? y * p2 : (x_in < -87.3f ? 0.f : x_in);
}

// Row reductions in a fixed order that still vectorises: 16 interleaved partials (element j
// into partial j % 16, each in j order), then the partials added 0, 1, ..., 15.
constexpr int kPartials = 16;
inline float ordered_dot(const float* __restrict a, const float* __restrict b, int n) {
  float part[kPartials] = {};
  int j = 0;
  for (; j + kPartials <= n; j += kPartials)
    for (int t = 0; t < kPartials; ++t) part[t] += a[j + t] * b[j + t];
  for (int t = 0; j < n; ++j, ++t) part[t] += a[j] * b[j];
  float sum = 0.f;
  for (int t = 0; t < kPartials; ++t) sum += part[t];
  return sum;
}
inline float ordered_sum(const float* __restrict a, int n) {
  float part[kPartials] = {};
  int j = 0;
  for (; j + kPartials <= n; j += kPartials)
    for (int t = 0; t < kPartials; ++t) part[t] += a[j + t];
  for (int t = 0; j < n; ++j, ++t) part[t] += a[j];
  float sum = 0.f;
  for (int t = 0; t < kPartials; ++t) sum += part[t];
  return sum;
}
inline float row_max(const float* __restrict a, int n) {  // exact: any order gives the same
  float part[kPartials];
  for (int t = 0; t < kPartials; ++t) part[t] = -INFINITY;
  int j = 0;
  for (; j + kPartials <= n; j += kPartials)
    for (int t = 0; t < kPartials; ++t) part[t] = a[j + t] > part[t] ? a[j + t] : part[t];
  for (int t = 0; j < n; ++j, ++t) part[t] = a[j] > part[t] ? a[j] : part[t];
  float m = part[0];
  for (int t = 1; t < kPartials; ++t) m = part[t] > m ? part[t] : m;
  return m;
}

}  // namespace
}  // namespace sr::cpu::attention_float
