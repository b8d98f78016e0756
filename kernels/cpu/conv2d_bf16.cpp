// bf16 convolution with AVX512-BF16 (see conv2d_bf16.h). The layout ideas are those of the
// float32 implicit GEMM (conv2d_implicit.cpp: a zero-padded, phase-split input where every
// filter tap is a constant offset, register tiles, tap chunks); what changes is that
// vdpbf16ps multiplies PAIRS along the reduction axis, acc[i] += a[2i]*b[2i] + a[2i+1]*b[2i+1]
// (products of bf16 values are exact in float32), so each operand packs its reduction pairs
// into one 32-bit lane:
//
// forward          reduction over taps (c, r, s): pair the channels c = 2cp, 2cp+1 of one
//                  (r, s). The input is packed as channel PAIRS, in2[n][cp][phase][i][j] =
//                  (bf16 x[2cp][.][.], bf16 x[2cp+1][.][.]) in one dword, so tap pair
//                  (cp, r, s) is still one constant offset and a run of 16 pixels one
//                  vector load; the filter panel holds the matching weight pairs, broadcast
//                  as one dword. Odd C gets a zero channel.
// backward-data    stride 1: the same kernel on dy (its channel pairs) with the flipped,
//                  transposed filter. Stride 2 (not in RRDBNet) rounds dy and w to bf16 and
//                  runs the float32 kernel: the same products, float32 sums, no speedup.
// backward-weight  reduction over pixels: pair adjacent pixels (q, q+1) of one output row.
//                  dy is rounded to a bf16 row (odd Q padded with a zero pixel), read as
//                  dwords and transposed to dyT[pix pair][k] (channels in the lanes); the
//                  input is packed as plain bf16 planes, so the pair (q, q+1) at a tap is
//                  one unaligned 4-byte broadcast. Few channels or few taps (the 3-channel
//                  first and last convs) round x and dy and run the float32 kernel.
// The bias is added, and dbias summed, in float32 from the unrounded values.
//
// The functions with AVX-512 intrinsics carry a target attribute (SR_BF16_TARGET), so this
// file builds whatever -march says; the entry points check the CPU at run time.
#include "kernels/cpu/conv2d_bf16.h"

#include "kernels/cpu/simd_gcc_warnings.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "kernels/common/bf16_round.h"
#include "kernels/cpu/conv2d_implicit_schedule.h"
#include "kernels/cpu/transpose.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SR_HAVE_BF16_KERNELS 1
#define SR_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define SR_HAVE_BF16_KERNELS 0
#endif

namespace sr::cpu {

bool cpu_has_avx512_bf16() {
#if SR_HAVE_BF16_KERNELS
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
  return has;
#else
  return false;
#endif
}

namespace {

void require_bf16(const char* op) {
  SR_CHECK(cpu_has_avx512_bf16(), op, ": precision bf16 needs a CPU with AVX512-BF16 (vdpbf16ps); this CPU ",
           "lacks avx512_bf16 (use precision fp32)");
}

// The float32 path for a shape (the rounded-operand fallbacks and dbias).
Conv2dShape as_fp32(Conv2dShape s) {
  s.precision = Precision::fp32;
  return s;
}

// dst[i] = round_to_bf16(src[i]) for N blocks of len floats, blocks src_bs apart in src.
void rounded_copy(const float* src, int64_t N, int64_t len, int64_t src_bs, std::vector<float>& dst) {
  if ((int64_t)dst.size() < N * len) dst.resize(N * len);
  float* out = dst.data();
#pragma omp parallel for schedule(static) if (N * len > 65536)
  for (int64_t i = 0; i < N * len; ++i) out[i] = round_to_bf16(src[(i / len) * src_bs + i % len]);
}

// x rounded into rx (images packed densely) and the float32 shape that reads it.
Conv2dShape rounded_input(const Conv2dShape& s, const float* x, std::vector<float>& rx) {
  rounded_copy(x, s.N, s.C * s.H * s.W, s.x_batch_stride, rx);
  Conv2dShape r = as_fp32(s);
  r.x_batch_stride = s.C * s.H * s.W;
  return r;
}

}  // namespace

// ---- the reference ----------------------------------------------------------------------------

void conv2d_forward_bf16_reference(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                                   float* y) {
  std::vector<float> rx, rw;
  const Conv2dShape r = rounded_input(s, x, rx);
  rounded_copy(w, 1, s.K * s.C * s.R * s.S, 0, rw);
  conv2d_forward_im2col<float>(r, rx.data(), rw.data(), bias, y);
}

void conv2d_backward_data_bf16_reference(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  std::vector<float> rdy, rw;
  rounded_copy(dy, 1, s.N * s.K * s.P * s.Q, 0, rdy);
  rounded_copy(w, 1, s.K * s.C * s.R * s.S, 0, rw);
  conv2d_backward_data_im2col<float>(as_fp32(s), rdy.data(), rw.data(), dx);
}

void conv2d_backward_weight_bf16_reference(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                           float* dbias) {
  if (dbias) conv2d_backward_weight_im2col<float>(as_fp32(s), x, dy, nullptr, dbias);
  if (!dw) return;
  std::vector<float> rx, rdy;
  const Conv2dShape r = rounded_input(s, x, rx);
  rounded_copy(dy, 1, s.N * s.K * s.P * s.Q, 0, rdy);
  conv2d_backward_weight_im2col<float>(r, rx.data(), rdy.data(), dw, nullptr);
}

#if SR_HAVE_BF16_KERNELS

namespace {

constexpr int kL = 16;  // float32 lanes: 16 pixels (forward) or 16 channels (weight) per vector
// Register tiles as in conv2d_implicit.cpp: 8 x 3 = 24 accumulators (4 x 6 for few outputs).
constexpr int kMR = 8, kV = 3, kMRSmall = 4, kVSmall = 6;
constexpr int64_t kGroupBlock = 4;
constexpr int64_t kChunkBytes = 49152;
constexpr int64_t kWgtFewTaps = 32;
constexpr int64_t kWgtTBlockBytes = 65536;

using implicit::grow;
using implicit::PixRun;
using implicit::PixVec;
using implicit::Prepared;

struct Scratch {
  std::vector<uint32_t> in2, panel, dyT;
  std::vector<uint16_t> inh, dyh, wb;
  std::vector<float> dwT, rx, rdy, rw;
  std::vector<int64_t> off, starts;
  std::vector<PixVec> vecs;
  std::vector<PixRun> runs;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// dst[j] = (bf16 a[j], bf16 b[j]) for j < n (b null: zero high halves).
SR_BF16_TARGET void pack_row_pairs(const float* a, const float* b, int64_t n, uint32_t* dst) {
  for (int64_t j = 0; j < n; j += kL) {
    const __mmask16 m = (__mmask16)(n - j >= kL ? 0xffffu : (1u << (n - j)) - 1u);
    const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, a + j)));
    const __m512i hi = b ? _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, b + j)))
                         : _mm512_setzero_si512();
    _mm512_mask_storeu_epi32(dst + j, m, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
  }
}

// dst[j] = bf16 a[j] for j < n.
SR_BF16_TARGET void pack_row_halves(const float* a, int64_t n, uint16_t* dst) {
  for (int64_t j = 0; j < n; j += kL) {
    const __mmask16 m = (__mmask16)(n - j >= kL ? 0xffffu : (1u << (n - j)) - 1u);
    _mm256_mask_storeu_epi16(dst + j, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, a + j)));
  }
}

// dst[j] = bf16 a[j] widened back to float32, for j < n.
SR_BF16_TARGET void round_row(const float* a, int64_t n, float* dst) {
  for (int64_t j = 0; j < n; j += kL) {
    const __mmask16 m = (__mmask16)(n - j >= kL ? 0xffffu : (1u << (n - j)) - 1u);
    const __m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, a + j)));
    _mm512_mask_storeu_ps(dst + j, m, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
  }
}

// rounded_copy with the vector conversion (the kernels' fallbacks; the reference keeps the
// scalar one).
void rounded_copy_fast(const float* src, int64_t N, int64_t len, int64_t src_bs, std::vector<float>& dst) {
  float* out = grow(dst, N * len);
  const int64_t chunk = 4096, per = (len + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (N * len > 65536)
  for (int64_t job = 0; job < N * per; ++job) {
    const int64_t n = job / per, j0 = (job % per) * chunk, cnt = std::min(chunk, len - j0);
    round_row(src + n * src_bs + j0, cnt, out + n * len + j0);
  }
}

// The padded, phase-split input (implicit::Prepared) of p.C channel groups: ceil(C/2)
// pairs packed in dwords (Pairs = true) or C plain bf16 values.

template <bool Pairs, typename E>
Prepared prepare(const float* src, int64_t N, int64_t C, int64_t H, int64_t W, int64_t src_bs, int st,
                 int64_t pad_t, int64_t pad_l, int64_t Hp, int64_t Wp, std::vector<E>& buf) {
  const Prepared p = implicit::padded_layout(st, Pairs ? (C + 1) / 2 : C, Hp, Wp);
  // Slack: a partial pixel vector (or the odd pixel of a last pair) reads past its row;
  // the values there are finite and meet masked-off lanes or zero dy.
  const int64_t total = N * p.img + 4 * kL;
  E* out = grow(buf, total);
  std::fill(out + N * p.img, out + total, E(0));
  const int64_t jobs = N * st * st * p.C;
#pragma omp parallel for schedule(static) if (jobs * p.plane > 32768)
  for (int64_t job = 0; job < jobs; ++job) {
    const int64_t g = job % p.C, ph = (job / p.C) % (st * st), n = job / (p.C * st * st);
    const int64_t a = ph / st, b = ph % st;
    const int64_t c0 = Pairs ? 2 * g : g;
    const bool has_hi = Pairs && c0 + 1 < C;
    const float* x0 = src + n * src_bs + c0 * H * W;
    const float* x1 = has_hi ? x0 + H * W : nullptr;
    E* dst = out + n * p.img + (g * st * st + ph) * p.plane;
    int64_t j0, j1;
    implicit::data_columns(p, W, pad_l, b, j0, j1);
    std::vector<float> ga, gb;  // stride 2: the row's columns of this phase, gathered
    if (st > 1) {
      ga.resize(j1 - j0);
      gb.resize(j1 - j0);
    }
    for (int64_t i = 0; i < p.Hh; ++i) {
      E* row = dst + i * p.Wh;
      const int64_t h = st * i + a - pad_t;
      if (h < 0 || h >= H || st * i + a >= Hp) {
        std::fill(row, row + p.Wh, E(0));
        continue;
      }
      std::fill(row, row + j0, E(0));
      std::fill(row + j1, row + p.Wh, E(0));
      const float* r0 = x0 + h * W + (j0 * st + b - pad_l);
      const float* r1 = x1 ? x1 + h * W + (j0 * st + b - pad_l) : nullptr;
      if (st > 1) {
        for (int64_t j = 0; j < j1 - j0; ++j) {
          ga[j] = r0[st * j];
          if (r1) gb[j] = r1[st * j];
        }
        r0 = ga.data();
        if (r1) r1 = gb.data();
      }
      if constexpr (Pairs)
        pack_row_pairs(r0, r1, j1 - j0, row + j0);
      else
        pack_row_halves(r0, j1 - j0, row + j0);
    }
  }
  return p;
}

void make_vectors(int64_t N, int64_t rows, int64_t cols, int64_t in_img, int64_t in_ld, int64_t out_img,
                  int64_t out_ld, std::vector<PixVec>& v) {
  implicit::make_vectors<kL>(N, rows, cols, in_img, in_ld, 0, 0, out_img, out_ld, v);
}

// Tap offsets of tap groups (g, r, s) in a Prepared buffer, in (g, r, s) order.
void filter_offsets(const Prepared& p, int64_t R, int64_t S, std::vector<int64_t>& off) {
  implicit::filter_offsets(p, p.C, R, S, off);
}

// ---- forward / backward-data: the pair GEMM ---------------------------------------------------

// out[m][vec] (+)= sum_{t < nt} A[t][m] . in2[vec.in + off[t] + lane] (dot of two bf16 pairs).
template <int MR, int V>
SR_BF16_TARGET void tile_pairs(const uint32_t* __restrict A, const int64_t* __restrict off, int64_t nt,
                               const uint32_t* __restrict in, const PixVec* vec, float* __restrict out,
                               int64_t out_ms, int mvalid, const float* bias, bool first) {
  __m512 acc[MR][V];
  const uint32_t* b[V];
  __mmask16 mk[V];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    b[v] = in + vec[v].in;
    mk[v] = (__mmask16)((1u << vec[v].n) - 1u);
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    const __m512 init = first && bias && m < mvalid ? _mm512_set1_ps(bias[m]) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      acc[m][v] = first || m >= mvalid ? init : _mm512_maskz_loadu_ps(mk[v], out + vec[v].out + m * out_ms);
  }
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t o = off[t];
    __m512i xv[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) xv[v] = _mm512_loadu_si512(b[v] + o);
    const uint32_t* a = A + t * MR;
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512i am = _mm512_set1_epi32((int)a[m]);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[m][v] = _mm512_dpbf16_ps(acc[m][v], (__m512bh)am, (__m512bh)xv[v]);
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    if (m >= mvalid) break;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(out + vec[v].out + m * out_ms, mk[v], acc[m][v]);
  }
}

// The pair GEMM: implicit::Gemm on bf16 pairs, T counting tap pairs; panel[mt][t][i] is
// the weight pair of output mt*MR + i at tap pair t.
using PairGemm = implicit::Gemm<uint32_t>;

template <int MR, int V>
void run_pairs(const PairGemm& g) {
  implicit::run_gemm<MR, V>(g, kGroupBlock,
                            [&](auto mr, auto nv, const uint32_t* A, const int64_t* off, int64_t nt,
                                const PixVec* vec, float* out, int mvalid, const float* bias, bool first) {
                              tile_pairs<decltype(mr)::value, decltype(nv)::value>(A, off, nt, g.in, vec, out,
                                                                                   g.out_ms, mvalid, bias, first);
                            });
}

int tile_mr(int64_t M) { return M <= kMRSmall ? kMRSmall : kMR; }

// Tap pairs per chunk: the input rows a block of pixel tiles reads through one chunk stay
// within kChunkBytes (conv2d_implicit.cpp's tap_chunk; a dword per pixel here too).
int64_t tap_chunk(int64_t cols, int64_t ld, int64_t rows_per_tap, int64_t taps_per_plane, int64_t M) {
  const int V = M <= kMRSmall ? kVSmall : kV;
  const int64_t block_px = kGroupBlock * V * kL;
  const int64_t rows = (block_px + cols - 1) / cols + 1 + rows_per_tap;
  const int64_t planes = std::max<int64_t>(1, kChunkBytes / (rows * ld * 4));
  return planes * taps_per_plane;
}

void run_pair_gemm(const PairGemm& g) {
  if (tile_mr(g.M) == kMRSmall)
    run_pairs<kMRSmall, kVSmall>(g);
  else
    run_pairs<kMR, kV>(g);
}

// panel[mt][(g*RS + rs)][i] = (W(m, 2g, rs), W(m, 2g + 1, rs)) with m = mt*MR + i, zero past
// M or past the G2 reduction channels; W(m, c, rs) = w[wm*m + wc*c + rs'] with rs' = rs or
// its flip RS - 1 - rs. w is rounded to bf16 once (wb), then the pairs are gathered.
void pack_pair_panel(const float* w, int64_t M, int64_t G2, int64_t RS, int64_t wm, int64_t wc, bool flip,
                     int MR, std::vector<uint16_t>& wb_buf, std::vector<uint32_t>& buf) {
  const int64_t mtiles = (M + MR - 1) / MR, G = (G2 + 1) / 2, T = G * RS, n = M * G2 * RS;
  uint16_t* wb = grow(wb_buf, n);
  pack_row_halves(w, n, wb);  // w is dense: M x G2 x RS in some order, n values
  uint32_t* panel = grow(buf, mtiles * T * MR);
#pragma omp parallel for schedule(static) if (M * T > 16384)
  for (int64_t mt = 0; mt < mtiles; ++mt)
    for (int i = 0; i < MR; ++i) {
      const int64_t m = mt * MR + i;
      uint32_t* dst = panel + mt * T * MR + i;
      for (int64_t g = 0; g < G; ++g) {
        const bool has_hi = 2 * g + 1 < G2;
        for (int64_t rs = 0; rs < RS; ++rs, dst += MR) {
          if (m >= M) {
            *dst = 0;
            continue;
          }
          const int64_t src = m * wm + 2 * g * wc + (flip ? RS - 1 - rs : rs);
          *dst = (uint32_t)wb[src] | (has_hi ? (uint32_t)wb[src + wc] << 16 : 0u);
        }
      }
    }
}

// ---- backward-weight: pixel pairs, channels in the lanes --------------------------------------

// dwT[t][k] (+)= sum over pixel pairs of (in[q], in[q+1]) at tap t . dyT[pair][k].
template <int KV, int TT>
SR_BF16_TARGET void tile_weight_pairs(const PixRun* runs, int64_t nruns, const uint16_t* __restrict in,
                                      const int64_t* off, int tvalid, const uint32_t* __restrict dyT,
                                      int64_t ldk, float* __restrict dwT, bool first) {
  __m512 acc[TT][KV];
  int64_t o[TT];
#pragma GCC unroll 32
  for (int t = 0; t < TT; ++t) {
    o[t] = off[t < tvalid ? t : 0];
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v)
      acc[t][v] = !first && t < tvalid ? _mm512_loadu_ps(dwT + t * ldk + v * kL) : _mm512_setzero_ps();
  }
  for (int64_t r = 0; r < nruns; ++r) {
    const uint16_t* b = in + runs[r].in;
    const uint32_t* d = dyT + runs[r].dy;
    for (int64_t q = 0; q < runs[r].n; ++q) {
      __m512i dv[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) dv[v] = _mm512_loadu_si512(d + q * ldk + v * kL);
#pragma GCC unroll 32
      for (int t = 0; t < TT; ++t) {
        uint32_t pr;
        std::memcpy(&pr, b + 2 * q + o[t], 4);
        const __m512i a = _mm512_set1_epi32((int)pr);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[t][v] = _mm512_dpbf16_ps(acc[t][v], (__m512bh)a, (__m512bh)dv[v]);
      }
    }
  }
#pragma GCC unroll 32
  for (int t = 0; t < TT; ++t)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v)
      if (t < tvalid) _mm512_storeu_ps(dwT + t * ldk + v * kL, acc[t][v]);
}

template <int KV, int TT>
void weight_pairs(const std::vector<PixRun>& runs, const std::vector<int64_t>& starts, const uint16_t* in,
                  const int64_t* off, int64_t T, const uint32_t* dyT, int64_t ldk, float* dwT) {
  implicit::run_weight_channels_in_lanes<TT>(
      runs, starts, T, ldk / (KV * kL), [&](const PixRun* r, int64_t nr, int64_t tt, int tvalid, int64_t kc, bool first) {
        tile_weight_pairs<KV, TT>(r, nr, in, off + tt * TT, tvalid, dyT + kc * KV * kL, ldk,
                                  dwT + tt * TT * ldk + kc * KV * kL, first);
      });
}

void weight_wide(const Conv2dShape& s, const float* x, const float* dy, float* dw, Scratch& ws) {
  const Prepared p = prepare<false>(x, s.N, s.C, s.H, s.W, s.x_batch_stride, s.stride, s.pad, s.pad,
                                    s.H + 2 * s.pad, s.W + 2 * s.pad, ws.inh);
  const int64_t T = s.C * s.R * s.S, Qe = (s.Q + 1) / 2 * 2, Qh = Qe / 2;
  filter_offsets(p, s.R, s.S, ws.off);
  const int64_t kv = (s.K + kL - 1) / kL;
  const int KV = (int)std::min<int64_t>(kv, 4);
  const int64_t ldk = (kv + KV - 1) / KV * KV * kL;
  // dy as bf16 rows of even length: dyh[n][k][pr][Qe] (a zero pixel after an odd row).
  uint16_t* dyh = grow(ws.dyh, s.N * s.K * s.P * Qe);
#pragma omp parallel for schedule(static) if (s.N * s.K * s.P * s.Q > 65536)
  for (int64_t job = 0; job < s.N * s.K * s.P; ++job) {
    pack_row_halves(dy + job * s.Q, s.Q, dyh + job * Qe);
    if (Qe > s.Q) dyh[job * Qe + s.Q] = 0;
  }
  // Read as dwords, dyh[n][k][pr] is a row of Qh pixel pairs; transpose (bit copies of
  // 32-bit lanes) to dyT[n][pr][pair][ldk], channels K..ldk zero.
  uint32_t* dyT = grow(ws.dyT, s.N * s.P * Qh * ldk);
  static_assert(sizeof(float) == sizeof(uint32_t));
#pragma omp parallel for schedule(static) if (s.N * s.P * Qh * s.K > 65536)
  for (int64_t job = 0; job < s.N * s.P; ++job) {
    const int64_t n = job / s.P, pr = job % s.P;
    const float* src = reinterpret_cast<const float*>(dyh + ((n * s.K) * s.P + pr) * Qe);
    float* dst = reinterpret_cast<float*>(dyT + job * Qh * ldk);
    transpose(src, s.P * Qh, dst, ldk, s.K, Qh, false);
    if (ldk > s.K)
      for (int64_t i = 0; i < Qh; ++i) std::fill(dyT + (job * Qh + i) * ldk + s.K, dyT + (job * Qh + i + 1) * ldk, 0u);
  }
  // Runs of pixel pairs (pieces of one output row), grouped in blocks of about
  // kWgtTBlockBytes of dyT so a block stays in L1 while the thread's tap tiles pass over it.
  const int64_t block_pairs = std::max<int64_t>(4, kWgtTBlockBytes / (int64_t)(KV * kL * 4));
  implicit::make_runs(s.N, s.P, Qh, p.img, p.Wh, 2, block_pairs, ldk, ws.runs, ws.starts);
  float* dwT = grow(ws.dwT, T * ldk);  // written by the first pixel block
  const uint16_t* in = ws.inh.data();
  const int64_t* off = ws.off.data();
  switch (KV) {
    case 1: weight_pairs<1, 16>(ws.runs, ws.starts, in, off, T, dyT, ldk, dwT); break;
    case 2: weight_pairs<2, 12>(ws.runs, ws.starts, in, off, T, dyT, ldk, dwT); break;
    case 3: weight_pairs<3, 8>(ws.runs, ws.starts, in, off, T, dyT, ldk, dwT); break;
    default: weight_pairs<4, 6>(ws.runs, ws.starts, in, off, T, dyT, ldk, dwT); break;
  }
  implicit::add_transposed(dwT, ldk, dw, T, s.K);  // dw[k][t] += dwT[t][k]
}

}  // namespace

// ---- entry points -----------------------------------------------------------------------------

void conv2d_forward_bf16(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  require_bf16("conv2d");
  Scratch& ws = scratch();
  const Prepared p = prepare<true>(x, s.N, s.C, s.H, s.W, s.x_batch_stride, s.stride, s.pad, s.pad,
                                   s.H + 2 * s.pad, s.W + 2 * s.pad, ws.in2);
  const int64_t RS = s.R * s.S, T = p.C * RS;
  filter_offsets(p, s.R, s.S, ws.off);
  make_vectors(s.N, s.P, s.Q, p.img, p.Wh, s.y_batch_stride, s.Q, ws.vecs);
  const int64_t per_plane = std::max<int64_t>(1, (s.R / s.stride) * (s.S / s.stride));
  const int64_t chunk = tap_chunk(s.Q, p.Wh, (s.R + s.stride - 1) / s.stride, per_plane, s.K);
  const int MR = tile_mr(s.K);
  pack_pair_panel(w, s.K, s.C, RS, s.C * RS, RS, false, MR, ws.wb, ws.panel);
  PairGemm g{s.K, T, chunk, ws.panel.data(), ws.off.data(), ws.in2.data(), s.N * p.img, ws.vecs.data(),
             (int64_t)ws.vecs.size(), y, s.P * s.Q, bias};
  run_pair_gemm(g);
}

void conv2d_backward_data_bf16(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  require_bf16("conv2d_backward_data");
  Scratch& ws = scratch();
  if (s.stride != 1) {
    rounded_copy_fast(dy, 1, s.N * s.K * s.P * s.Q, 0, ws.rdy);
    rounded_copy_fast(w, 1, s.K * s.C * s.R * s.S, 0, ws.rw);
    conv2d_backward_data<float>(as_fp32(s), ws.rdy.data(), ws.rw.data(), dx);
    return;
  }
  // dx[c][h][j] = sum_{k,u,v} w[k][c][R-1-u][S-1-v] * dyp[k][h + u][j + v], with dy padded by
  // R-1-pad rows above (S-1-pad columns left) into dyp of H+R-1 x W+S-1.
  const int64_t top = s.R - 1 - s.pad, left = s.S - 1 - s.pad;
  const Prepared p = prepare<true>(dy, s.N, s.K, s.P, s.Q, s.K * s.P * s.Q, 1, top, left, s.H + s.R - 1,
                                   s.W + s.S - 1, ws.in2);
  const int64_t RS = s.R * s.S, T = p.C * RS;
  filter_offsets(p, s.R, s.S, ws.off);
  make_vectors(s.N, s.H, s.W, p.img, p.Wh, s.C * s.H * s.W, s.W, ws.vecs);
  const int64_t chunk = tap_chunk(s.W, p.Wh, s.R, RS, s.C);
  const int MR = tile_mr(s.C);
  // W(m = c, channel k, rs) = w[k][c][flipped rs]
  pack_pair_panel(w, s.C, s.K, RS, RS, s.C * RS, true, MR, ws.wb, ws.panel);
  PairGemm g{s.C, T, chunk, ws.panel.data(), ws.off.data(), ws.in2.data(), s.N * p.img, ws.vecs.data(),
             (int64_t)ws.vecs.size(), dx, s.H * s.W, nullptr};
  run_pair_gemm(g);
}

void conv2d_backward_weight_bf16(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                 float* dbias) {
  require_bf16("conv2d_backward_weight");
  if (dbias) conv2d_backward_weight<float>(as_fp32(s), x, dy, nullptr, dbias);
  if (!dw || s.N * s.P * s.Q == 0) return;
  Scratch& ws = scratch();
  if (s.K >= kL && s.C * s.R * s.S > kWgtFewTaps) return weight_wide(s, x, dy, dw, ws);
  // Few channels or taps: the float32 kernel on rounded operands.
  rounded_copy_fast(x, s.N, s.C * s.H * s.W, s.x_batch_stride, ws.rx);
  rounded_copy_fast(dy, 1, s.N * s.K * s.P * s.Q, 0, ws.rdy);
  Conv2dShape r = as_fp32(s);
  r.x_batch_stride = s.C * s.H * s.W;
  conv2d_backward_weight<float>(r, ws.rx.data(), ws.rdy.data(), dw, nullptr);
}

#else  // no x86: the bf16 kernels do not exist

void conv2d_forward_bf16(const Conv2dShape&, const float*, const float*, const float*, float*) {
  require_bf16("conv2d");
}
void conv2d_backward_data_bf16(const Conv2dShape&, const float*, const float*, float*) {
  require_bf16("conv2d_backward_data");
}
void conv2d_backward_weight_bf16(const Conv2dShape&, const float*, const float*, float*, float*) {
  require_bf16("conv2d_backward_weight");
}

#endif

}  // namespace sr::cpu
