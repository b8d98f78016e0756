// Packed SGEMM (see sgemm.h), blocked the classic way for a two-level cache:
//
//   for jc over N in steps of kNc            (B block: kKc x kNc, packed once, lives in L2/L3)
//     for pc over K in steps of kKc
//       pack B[pc.., jc..] into column panels of kNR      Bp[jp][kk][kNR]
//       for ic over M in steps of kMc        (A block: kMc x kKc, ~100 KB, lives in L2)
//         pack A[ic.., pc..] into row panels of kMR       Ap[ip][kk][kMR]
//         for jr over the B panels           (one B panel, kKc x kNR = 36 KB, stays in L1)
//           for ir over the A panels
//             micro-kernel: C[kMR x kNR] (+)= Ap panel * Bp panel
//
// The micro-kernel keeps a kMR x kNR tile of C in registers (AVX-512: 8 x 48 = 24 zmm
// accumulators), and per k step loads kV vectors of B and broadcasts kMR values of A:
// 24 FMAs for 11 loads, so the two FMA ports, not the load ports, set the pace. Packing
// makes both operands unit-stride whatever the transposes, and zero-pads the edges so the
// kernel never branches inside its loop; only the final store is masked.
//
// Two threads split C into two rectangles (along N when it is wide, else along M); each
// packs what it needs on its own, so there is no synchronisation inside the product.
#include "kernels/cpu/sgemm.h"

#include "kernels/cpu/simd_gcc_warnings.h"

#if SR_CPU_SIMD
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/transpose.h"

namespace sr::cpu {

namespace {

using simd::kLanes;
using simd::Vec;

#if defined(__AVX512F__)
constexpr int kMR = 8, kV = 3;
#else
constexpr int kMR = 6, kV = 2;
#endif
constexpr int kNR = kV * kLanes;
constexpr int64_t kKc = 192;
constexpr int64_t kMc = 24 * kMR;
constexpr int64_t kNc = 64 * kNR;

struct PackBuffers {
  AlignedBuffer a, b;
};
PackBuffers& pack_buffers() {
  thread_local PackBuffers p;
  return p;
}

// Ap[ip][kk][i] = op(A)[i0 + ip*kMR + i][k0 + kk], zero past row i1. Row-major A is
// transposed in 16 x 16 blocks (transpose.h); transposed A is already k-major.
void pack_a(bool trans, const float* A, int64_t lda, int64_t i0, int64_t i1, int64_t k0, int64_t kc,
            float* dst) {
  for (int64_t ip = i0; ip < i1; ip += kMR) {
    const int rows = (int)std::min<int64_t>(kMR, i1 - ip);
    if (!trans) {
      transpose(A + ip * lda + k0, lda, dst, kMR, rows, kc, false);
      if (rows < kMR)
        for (int64_t kk = 0; kk < kc; ++kk) std::fill(dst + kk * kMR + rows, dst + (kk + 1) * kMR, 0.0f);
    } else {
      for (int64_t kk = 0; kk < kc; ++kk) {
        const float* src = A + (k0 + kk) * lda + ip;
        for (int i = 0; i < rows; ++i) dst[kk * kMR + i] = src[i];
        for (int i = rows; i < kMR; ++i) dst[kk * kMR + i] = 0.0f;
      }
    }
    dst += kc * kMR;
  }
}

// Bp[jp][kk][j] = op(B)[k0 + kk][j0 + jp*kNR + j], zero past column j1.
void pack_b(bool trans, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int64_t j1,
            float* dst) {
  for (int64_t jp = j0; jp < j1; jp += kNR) {
    const int cols = (int)std::min<int64_t>(kNR, j1 - jp);
    if (!trans) {
      for (int64_t kk = 0; kk < kc; ++kk) {
        const float* src = B + (k0 + kk) * ldb + jp;
        float* d = dst + kk * kNR;
        std::memcpy(d, src, cols * sizeof(float));
        std::fill(d + cols, d + kNR, 0.0f);
      }
    } else {
      transpose(B + jp * ldb + k0, ldb, dst, kNR, cols, kc, false);
      if (cols < kNR)
        for (int64_t kk = 0; kk < kc; ++kk) std::fill(dst + kk * kNR + cols, dst + (kk + 1) * kNR, 0.0f);
    }
    dst += kc * kNR;
  }
}

// C[mvalid x nvalid] (+)= Ap * Bp over kc steps, then + bias[j] when bias is not null, on the panel's first V of its kV vectors
// (nvalid <= V kLanes): a narrow last panel (SwinIR's 60 and 120 outputs leave 12 and 24 of 48
// columns) skips the vectors that would only hold the zero padding. Each element's sum is the
// same whatever V.
template <int V>
void micro_kernel(int64_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C,
                  int64_t ldc, int mvalid, int nvalid, bool load_c, const float* bias) {
  static_assert(V >= 1 && V <= kV);
  Vec acc[kMR][V];
#pragma GCC unroll 16
  for (int m = 0; m < kMR; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[m][v] = simd::zero();
  for (int64_t kk = 0; kk < kc; ++kk) {
    Vec b[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) b[v] = simd::loadu(Bp + v * kLanes);
#pragma GCC unroll 16
    for (int m = 0; m < kMR; ++m) {
      const Vec a = simd::broadcast(Ap + m);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[m][v] = simd::fmadd(a, b[v], acc[m][v]);
    }
    Ap += kMR;
    Bp += kNR;
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const int lanes = std::clamp(nvalid - v * kLanes, 0, kLanes);
    if (lanes == 0) break;
    const simd::Mask mk = simd::first_lanes(lanes);
    const Vec bv = bias ? simd::loadu(bias + v * kLanes, mk) : simd::zero();
#pragma GCC unroll 16
    for (int m = 0; m < kMR; ++m) {
      if (m >= mvalid) break;
      float* c = C + m * ldc + v * kLanes;
      const Vec r = load_c ? simd::add(simd::loadu(c, mk), acc[m][v]) : acc[m][v];
      simd::storeu(c, bias ? simd::add(r, bv) : r, mk);
    }
  }
}

// One thread's rectangle C[i0:i1, j0:j1].
void sgemm_rect(bool trans_a, bool trans_b, int64_t K, const float* A, int64_t lda, const float* B,
                int64_t ldb, float* C, int64_t ldc, bool accumulate, const float* col_bias, int64_t i0,
                int64_t i1, int64_t j0, int64_t j1) {
  PackBuffers& buf = pack_buffers();
  float* Ap = buf.a.get(kMc * kKc);
  float* Bp = buf.b.get(kKc * kNc);
  for (int64_t jc = j0; jc < j1; jc += kNc) {
    const int64_t jc1 = std::min(j1, jc + kNc);
    for (int64_t pc = 0; pc < K; pc += kKc) {
      const int64_t kc = std::min(kKc, K - pc);
      pack_b(trans_b, B, ldb, pc, kc, jc, jc1, Bp);
      const bool load_c = accumulate || pc > 0;
      const bool last_k = pc + kc >= K;  // the bias goes on after the whole sum
      for (int64_t ic = i0; ic < i1; ic += kMc) {
        const int64_t ic1 = std::min(i1, ic + kMc);
        pack_a(trans_a, A, lda, ic, ic1, pc, kc, Ap);
        for (int64_t jr = jc; jr < jc1; jr += kNR) {
          const float* bp = Bp + ((jr - jc) / kNR) * kc * kNR;
          const int nvalid = (int)std::min<int64_t>(kNR, jc1 - jr);
          for (int64_t ir = ic; ir < ic1; ir += kMR) {
            const float* ap = Ap + ((ir - ic) / kMR) * kc * kMR;
            const int mvalid = (int)std::min<int64_t>(kMR, ic1 - ir);
            float* c = C + ir * ldc + jr;
            const float* bias = col_bias && last_k ? col_bias + jr : nullptr;
            const int nv = (nvalid + kLanes - 1) / kLanes;
            if (nv == 1)
              micro_kernel<1>(kc, ap, bp, c, ldc, mvalid, nvalid, load_c, bias);
            else if (nv == 2 && kV > 2)
              micro_kernel<std::min(2, kV)>(kc, ap, bp, c, ldc, mvalid, nvalid, load_c, bias);
            else
              micro_kernel<kV>(kc, ap, bp, c, ldc, mvalid, nvalid, load_c, bias);
          }
        }
      }
    }
  }
}

}  // namespace

void sgemm_packed(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate,
                  const float* col_bias) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    if (col_bias)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) C[i * ldc + j] += col_bias[j];
    return;
  }
  // Below ~1 MFLOP a second thread costs more than it saves.
  const int nth = omp_in_parallel() || (double)M * N * K < 5e5 ? 1 : omp_get_max_threads();
  // Split along N in whole B panels when C is wide, else along M in whole A panels.
  const bool split_n = (N + kNR - 1) / kNR >= (M + kMR - 1) / kMR || M < 2 * kMR;
  const int64_t unit = split_n ? kNR : kMR, units = ((split_n ? N : M) + unit - 1) / unit;
  const int parts = (int)std::min<int64_t>(nth, units);
#pragma omp parallel num_threads(parts) if (parts > 1)
  {
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t u0 = units * tid / nt, u1 = units * (tid + 1) / nt;
    const int64_t lo = u0 * unit, hi = std::min((split_n ? N : M), u1 * unit);
    if (lo < hi) {
      if (split_n)
        sgemm_rect(trans_a, trans_b, K, A, lda, B, ldb, C, ldc, accumulate, col_bias, 0, M, lo, hi);
      else
        sgemm_rect(trans_a, trans_b, K, A, lda, B, ldb, C, ldc, accumulate, col_bias, lo, hi, 0, N);
    }
  }
}

}  // namespace sr::cpu
#endif  // SR_CPU_SIMD
