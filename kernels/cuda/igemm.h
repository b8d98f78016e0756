// The tile engine of the tensor-core convolution kernels (v2 TF32, v3 bf16), written as
// plain host/device C++ so that the CPU tests can run it, thread by thread, through an
// emulated warp MMA (tests/test_cuda_host.cpp). The __global__ kernel that glues these
// pieces together with __syncthreads lives in kernels/cuda/conv2d_igemm.cu.
//
// One CTA computes a BM x BN tile of C = A * B (A: M x K, B: K x N; see conv2d_problems.h
// for what A, B and C are in each direction), stepping through K in tiles of BK = 16:
//
//   registers --(store: TF32 rounding)--> shared memory As/Bs (two buffers)
//   shared memory --(fragments)--> mma.sync --> fp32 accumulators in registers
//
//   prologue:  load tile 0 from global into registers, store it into buffer 0, sync
//   iteration: start loading tile i+1 into registers (global latency overlaps the math),
//              run the MMAs on buffer i%2, store tile i+1 into buffer (i+1)%2, sync.
//   Buffer (i+1)%2 was last read in iteration i-1, which the sync closing i-1 finished,
//   so one barrier per tile is enough.
//
// Warps: WARPS_M x WARPS_N warps, each computing a 32 x 32 sub-tile as 2 x 4 MMA tiles
// of 16 x 8 (acc[2][4][4] floats per thread).
//
// Shared-memory layouts (floats; padded so that fragment reads are bank-conflict free):
//   A gathered along m (fprop, dgrad): As[k][m], row length BM + 8 (= 8 mod 32 words):
//       lanes (g = lane/4, t = lane%4) read k = t (+4), m = g (+8): banks 8t + g, distinct.
//   A gathered along k (wgrad):        As[m][k], row length BK + 4 = 20:
//       banks 20g + t mod 32 are distinct for g < 8, t < 4.
//   B (all directions):                 Bs[n][k], row length BK + 4, the same argument.
// bf16 keeps fp32 in shared memory and converts pairs while building fragments.
//
// MMA fragments (PTX ISA, "Matrix Fragments for mma.m16n8k8" .tf32 and "mma.m16n8k16"
// .bf16), g = lane >> 2, t = lane & 3:
//   m16n8k8 tf32:  a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4);  b0 (k=t, n=g)  b1 (t+4, g)
//   m16n8k16 bf16: a0 (g, 2t..2t+1)  a1 (g+8, 2t..)  a2 (g, 2t+8..2t+9)  a3 (g+8, 2t+8..);
//                  b0 (k=2t..2t+1, n=g)  b1 (k=2t+8..2t+9, n=g); low half = lower index
//   accumulators:  c0 (g, 2t)  c1 (g, 2t+1)  c2 (g+8, 2t)  c3 (g+8, 2t+1)
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/common/fp16_round.h"
#include "kernels/common/fp16_round.h"
#include "kernels/common/math.h"
#include "kernels/cuda/ptx.h"

// #pragma unroll where nvcc compiles (host compilers would warn about the unknown pragma).
#if defined(__CUDACC__)
#define SR_UNROLL _Pragma("unroll")
#else
#define SR_UNROLL
#endif

namespace sr::cuda::igemm {

// The tensor-core operand format: tf32 (m16n8k8), bf16 or fp16 (m16n8k16, the same fragment
// layout; fp16 pairs by cvt.rn.f16x2, overflow to infinity, subnormals kept).
enum class Prec { tf32, bf16, fp16 };
constexpr int kBK = 16;

// ---- number formats -----------------------------------------------------------------------
SR_HD uint32_t float_bits(float x) {
#if defined(SR_DEVICE_CODE)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
#endif
}
SR_HD float bits_float(uint32_t u) {
#if defined(SR_DEVICE_CODE)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, 4);
  return x;
#endif
}

// Rounds to TF32 (8-bit exponent, 10-bit mantissa), to nearest with ties away from zero:
// what cvt.rna.tf32.f32 does. The low 13 bits of the result are zero. The host side is the
// CPU tf32 convolution's own rounding (kernels/common/fp16_round.h).
SR_HD float round_tf32(float x) {
#if defined(SR_DEVICE_CODE)
  return __uint_as_float(ptx::cvt_rna_tf32(x) & 0xffffe000u);
#else
  return round_to_tf32(x);
#endif
}

// bfloat16 by round-to-nearest-even (host twin of cvt.rn.bf16).
inline uint16_t bf16_bits_host(float x) {
  uint32_t u = float_bits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float bf16_to_float_host(uint16_t h) { return bits_float((uint32_t)h << 16); }

// Two floats -> packed bf16x2 with `lo` in bits 0..15 and `hi` in bits 16..31.
SR_HD uint32_t pack_bf16x2(float lo, float hi) {
#if defined(SR_DEVICE_CODE)
  // cvt.rn.bf16x2.f32 d, a, b puts a in the upper half and b in the lower half.
  return ptx::cvt_rn_bf16x2(hi, lo);
#else
  return (uint32_t)bf16_bits_host(lo) | ((uint32_t)bf16_bits_host(hi) << 16);
#endif
}

// Two floats -> packed IEEE fp16x2, `lo` in bits 0..15 (host twin: fp16_round.h's fp16_bits).
SR_HD uint32_t pack_f16x2(float lo, float hi) {
#if defined(SR_DEVICE_CODE)
  return ptx::cvt_rn_f16x2(hi, lo);
#else
  return (uint32_t)fp16_bits(lo) | ((uint32_t)fp16_bits(hi) << 16);
#endif
}

// The pair packer of a 16-bit format (bf16 or fp16).
template <Prec PR>
SR_HD uint32_t pack_pair(float lo, float hi) {
  if constexpr (PR == Prec::fp16)
    return pack_f16x2(lo, hi);
  else
    return pack_bf16x2(lo, hi);
}

// ---- tile geometry ---------------------------------------------------------------------------
template <class P, int BM_, int BN_>
struct Tile {
  static constexpr int BM = BM_, BN = BN_, BK = kBK;
  static constexpr int WARPS_M = BM / 32, WARPS_N = BN / 32;
  static constexpr int THREADS = WARPS_M * WARPS_N * 32;
  static constexpr bool kAM = P::kAContigM;
  static constexpr int A_LD = kAM ? BM + 8 : BK + 4;
  static constexpr int A_SIZE = kAM ? BK * A_LD : BM * A_LD;
  static constexpr int B_LD = BK + 4;
  static constexpr int B_SIZE = BN * B_LD;
  static constexpr int A_PER_THREAD = BM * BK / THREADS;
  static constexpr int B_PER_THREAD = BN * BK / THREADS;
  static constexpr int A_STEP = kAM ? THREADS / BM : THREADS / BK;
  static constexpr int B_STEP = THREADS / BK;
  static_assert(BM % 32 == 0 && BN % 32 == 0, "warp tiles are 32 x 32");
  static_assert(!kAM || THREADS % BM == 0, "m-gathered A needs a fixed pixel per thread");
  static_assert(THREADS % BK == 0 && (BM * BK) % THREADS == 0 && (BN * BK) % THREADS == 0,
                "loads must split evenly over the threads");

  SR_HD static int a_at(int m, int k) { return kAM ? k * A_LD + m : m * A_LD + k; }
  SR_HD static int b_at(int n, int k) { return n * B_LD + k; }
};

// Where a CTA sits: its tile origin, its split of K and the number of k tiles in it.
struct Block {
  int m0, n0, split, k_begin, ntiles;
};
template <class T>
SR_HD Block block_at(int K, int bx, int by, int bz, int k_per_split) {
  Block b;
  b.m0 = bx * T::BM;
  b.n0 = by * T::BN;
  b.split = bz;
  b.k_begin = bz * k_per_split;
  int k_end = b.k_begin + k_per_split;
  if (k_end > K) k_end = K;
  b.ntiles = k_end > b.k_begin ? (k_end - b.k_begin + T::BK - 1) / T::BK : 0;
  return b;
}

// ---- global -> registers -> shared memory ---------------------------------------------------
// Thread tid loads A elements (a_fix, a_var0 + i*A_STEP) -- (m, k) when A is gathered along
// m, (k, m) otherwise -- and B elements (n = b_n0 + i*B_STEP, k = b_k).
template <class P, class T>
struct Loader {
  typename P::ACtx a_ctx;  // per-thread pixel context (kAM); unused otherwise
  int a_fix, a_var0, b_k, b_n0;
  float a_reg[T::A_PER_THREAD];
  float b_reg[T::B_PER_THREAD];

  SR_HD void init(const P& p, int tid, int m0) {
    if constexpr (T::kAM) {
      a_fix = tid % T::BM;
      a_var0 = tid / T::BM;
      a_ctx = p.a_row(m0 + a_fix);
    } else {
      a_fix = tid % T::BK;
      a_var0 = tid / T::BK;
    }
    b_k = tid % T::BK;
    b_n0 = tid / T::BK;
  }

  SR_HD void load(const P& p, int m0, int n0, int k0) {
    if constexpr (T::kAM) {
SR_UNROLL
      for (int i = 0; i < T::A_PER_THREAD; ++i) a_reg[i] = p.a_load(a_ctx, k0 + a_var0 + i * T::A_STEP);
    } else {
      const auto ak = p.a_k(k0 + a_fix);
SR_UNROLL
      for (int i = 0; i < T::A_PER_THREAD; ++i) a_reg[i] = p.a_load(ak, m0 + a_var0 + i * T::A_STEP);
    }
    const auto bk = p.b_k(k0 + b_k);
SR_UNROLL
    for (int i = 0; i < T::B_PER_THREAD; ++i) b_reg[i] = p.b_load(bk, n0 + b_n0 + i * T::B_STEP);
  }

  template <Prec PR>
  SR_HD void store(float* As, float* Bs) const {
SR_UNROLL
    for (int i = 0; i < T::A_PER_THREAD; ++i) {
      const float v = PR == Prec::tf32 ? round_tf32(a_reg[i]) : a_reg[i];
      if constexpr (T::kAM)
        As[T::a_at(a_fix, a_var0 + i * T::A_STEP)] = v;
      else
        As[T::a_at(a_var0 + i * T::A_STEP, a_fix)] = v;
    }
SR_UNROLL
    for (int i = 0; i < T::B_PER_THREAD; ++i)
      Bs[T::b_at(b_n0 + i * T::B_STEP, b_k)] = PR == Prec::tf32 ? round_tf32(b_reg[i]) : b_reg[i];
  }
};

// ---- shared memory -> fragments -------------------------------------------------------------
template <Prec PR>
constexpr int kKStep = PR == Prec::tf32 ? 8 : 16;

template <class T, Prec PR>
SR_HD void load_fragments(int lane, int warp_m, int warp_n, const float* As, const float* Bs,
                          int kk, uint32_t af[2][4], uint32_t bf[4][2]) {
  const int g = lane >> 2, t = lane & 3;
SR_UNROLL
  for (int mt = 0; mt < 2; ++mt) {
    const int r0 = warp_m * 32 + mt * 16 + g, r1 = r0 + 8;
    if constexpr (PR == Prec::tf32) {
      af[mt][0] = float_bits(As[T::a_at(r0, kk + t)]);
      af[mt][1] = float_bits(As[T::a_at(r1, kk + t)]);
      af[mt][2] = float_bits(As[T::a_at(r0, kk + t + 4)]);
      af[mt][3] = float_bits(As[T::a_at(r1, kk + t + 4)]);
    } else {
      const int k0 = kk + 2 * t, k1 = kk + 2 * t + 8;
      af[mt][0] = pack_pair<PR>(As[T::a_at(r0, k0)], As[T::a_at(r0, k0 + 1)]);
      af[mt][1] = pack_pair<PR>(As[T::a_at(r1, k0)], As[T::a_at(r1, k0 + 1)]);
      af[mt][2] = pack_pair<PR>(As[T::a_at(r0, k1)], As[T::a_at(r0, k1 + 1)]);
      af[mt][3] = pack_pair<PR>(As[T::a_at(r1, k1)], As[T::a_at(r1, k1 + 1)]);
    }
  }
SR_UNROLL
  for (int nt = 0; nt < 4; ++nt) {
    const int c = warp_n * 32 + nt * 8 + g;
    if constexpr (PR == Prec::tf32) {
      bf[nt][0] = float_bits(Bs[T::b_at(c, kk + t)]);
      bf[nt][1] = float_bits(Bs[T::b_at(c, kk + t + 4)]);
    } else {
      const int k0 = kk + 2 * t, k1 = kk + 2 * t + 8;
      bf[nt][0] = pack_pair<PR>(Bs[T::b_at(c, k0)], Bs[T::b_at(c, k0 + 1)]);
      bf[nt][1] = pack_pair<PR>(Bs[T::b_at(c, k1)], Bs[T::b_at(c, k1 + 1)]);
    }
  }
}

// ---- the MMA instruction (device, SIMT) and its emulation (host tests) ------------------------
#if defined(__CUDACC__) || defined(SRENGINE_SIMT)
template <Prec PR>
SR_DEVICE_INLINE void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) {
  if constexpr (PR == Prec::tf32)
    ptx::mma_m16n8k8_tf32(d, a, b);
  else if constexpr (PR == Prec::fp16)
    ptx::mma_m16n8k16_f16(d, a, b);
  else
    ptx::mma_m16n8k16_bf16(d, a, b);
}
#endif

// One warp's mma.sync on the host, rebuilt from the documented fragment layouts (written
// independently of load_fragments, so the CPU test checks one against the other):
// d[lane] += A (16 x KS) * B (KS x 8) for the 32 lanes' fragments.
template <Prec PR>
inline void emulate_warp_mma(float d[32][4], const uint32_t a[32][4], const uint32_t b[32][2]) {
  constexpr int KS = kKStep<PR>;
  float A[16][16] = {}, B[16][8] = {};
  auto tf32 = [](uint32_t u) { return bits_float(u & 0xffffe000u); };
  auto half = [](uint32_t u, int i) {
    const uint16_t h = (uint16_t)(i ? u >> 16 : u & 0xffffu);
    return PR == Prec::fp16 ? fp16_to_float(h) : bf16_to_float_host(h);
  };
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    if constexpr (PR == Prec::tf32) {
      A[g][t] = tf32(a[lane][0]);
      A[g + 8][t] = tf32(a[lane][1]);
      A[g][t + 4] = tf32(a[lane][2]);
      A[g + 8][t + 4] = tf32(a[lane][3]);
      B[t][g] = tf32(b[lane][0]);
      B[t + 4][g] = tf32(b[lane][1]);
    } else {
      for (int i = 0; i < 8; ++i) {  // a_i lives in register i/2, half i%2
        const int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
        const int col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0);
        A[row][col] = half(a[lane][i / 2], i & 1);
      }
      for (int i = 0; i < 4; ++i) {
        const int row = 2 * t + (i & 1) + (i >= 2 ? 8 : 0);
        B[row][g] = half(b[lane][i / 2], i & 1);
      }
    }
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) {
      const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
      double s = d[lane][i];
      for (int k = 0; k < KS; ++k) s += (double)A[row][k] * (double)B[k][col];
      d[lane][i] = (float)s;
    }
  }
}

// ---- accumulators -> epilogue ---------------------------------------------------------------
template <class P, class T>
SR_HD void store_accumulators(const P& p, int lane, int warp_m, int warp_n, const Block& blk,
                              const float acc[2][4][4]) {
  const int g = lane >> 2, t = lane & 3;
SR_UNROLL
  for (int mt = 0; mt < 2; ++mt) {
SR_UNROLL
    for (int h = 0; h < 2; ++h) {
      const int m = blk.m0 + warp_m * 32 + mt * 16 + g + 8 * h;
      const auto row = p.c_row(m, blk.split);
SR_UNROLL
      for (int nt = 0; nt < 4; ++nt) {
SR_UNROLL
        for (int j = 0; j < 2; ++j) {
          const int n = blk.n0 + warp_n * 32 + nt * 8 + 2 * t + j;
          p.c_store(row, n, acc[mt][nt][2 * h + j]);
        }
      }
    }
  }
}

}  // namespace sr::cuda::igemm
