// Implicit-GEMM float32 convolution on the CPU (see conv2d_implicit.h).
//
// The idea: copy the input once into a zero-padded buffer `in`, split into stride phases
// when the stride is 2, so that every tap of the filter becomes a constant offset:
//   in[n][c][a][b][i][j] = x[n][c][st*i + a - pad][st*j + b - pad]   (0 outside)
//   tap (c, r, s), r = st*u + a, s = st*v + b:  off = ((c*st + a)*st + b)*Hh*Wh + u*Wh + v
// (the phases of one channel are adjacent, so the taps in OIHW order walk memory forward)
// and the conv input seen by output pixel (p, q) through that tap is in[base(p,q) + off]
// with base(p,q) = p*Wh + q, contiguous in q. A run of kLanes output pixels of one row is
// then one unaligned vector load per tap, with no im2col matrix at all.
//
// forward          y[k][pix] = bias[k] + sum_t w[k][t] * in[base(pix) + off[t]]
//                  micro-tile: MR output channels x V pixel vectors (AVX-512: 8 x 3 =
//                  24 accumulators); per tap, V loads of input and MR broadcasts from the
//                  filter packed as [K/MR][T][MR] (16 x 16 SIMD transposes, transpose.h).
// backward-data    the same kernel on a zero-padded dy with the flipped, transposed
//                  filter. Stride 2 splits dx into its 4 phases (rows and columns of one
//                  parity): each is a stride-1 conv of dy with a 2x2 sub-filter, run into
//                  a phase buffer, and the phases are interleaved into dx at the end.
// backward-weight  dw[k][t] += sum_pix dy[k][pix] * in[base(pix) + off[t]], two forms:
//                  - channels in the lanes (K >= kLanes, many taps): dy transposed to
//                    dy^T[pix][k]; tile KV channel vectors x TT taps, each input value a
//                    broadcast, sums kept in dw^T between pixel blocks, added into dw by
//                    one transpose at the end;
//                  - pixels in the lanes (few channels or few taps, e.g. the 3-channel
//                    first convs): tile MR channels x NT taps of vector partial sums over
//                    pixels, reduced across lanes once per pixel block; dy read in place.
//
// Cache blocking (forward/backward-data): each thread walks its pixel tiles in blocks of
// kGroupBlock tiles and runs the taps in chunks (tap_chunk), so the input rows of a
// chunk stay close (L1/L2) across all channel tiles and each packed weight chunk
// (MR x chunk floats) is reused across the block; partial sums go back to the output
// between chunks.
//
// Threads: forward and backward-data split the output pixels when the input is the
// larger operand, else the output channels (batch-1 layers with 256-512 channels at
// 16-32 px, whose weights are megabytes); backward-weight splits tap tiles (or channel
// tiles in the pixels-in-lanes form). Every output element is summed by one thread in a
// fixed order, so results do not depend on the thread count.
#include "kernels/cpu/conv2d_implicit.h"

#include "kernels/cpu/simd_gcc_warnings.h"

#if SR_CPU_SIMD
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv2d_implicit_schedule.h"
#include "kernels/cpu/transpose.h"

namespace sr::cpu {

namespace {

using simd::kLanes;
using simd::Vec;
using implicit::grow;
using implicit::PixRun;
using implicit::PixVec;
using implicit::Prepared;

// Register tiles. AVX-512 has 32 vector registers: 8x3 uses 24 accumulators, 3 input
// vectors and one broadcast; 4x6 suits outputs with few channels (conv_last: 3).
// The weight tile 4x6 keeps 24 accumulators, 4 dy vectors and one input vector.
#if defined(__AVX512F__)
constexpr int kFwdMR = 8, kFwdV = 3;
constexpr int kFwdMRSmall = 4, kFwdVSmall = 6;
constexpr int kWgtMR = 4, kWgtNT = 6;
#else  // AVX2: 16 registers
constexpr int kFwdMR = 6, kFwdV = 2;
constexpr int kFwdMRSmall = 3, kFwdVSmall = 3;
constexpr int kWgtMR = 3, kWgtNT = 4;
#endif
// Blocking (forward / backward-data): a thread walks its pixel tiles in blocks of
// kGroupBlock; each block runs the taps in chunks whose input rows take about
// kChunkBytes (tap_chunk). Measured on the RRDBNet/UNet shapes: block sizes 2-8 and
// chunk budgets 24-96 KB are within a few percent of each other; much smaller chunks
// lose to the partial-sum traffic between chunks.
constexpr int64_t kGroupBlock = 4;
constexpr int64_t kChunkBytes = 49152;
constexpr int64_t kWgtPixBlock = 256;  // pixel vectors per block (backward-weight, dot form)
constexpr int64_t kWgtFewTaps = 32;    // at most this many taps: backward-weight in dot form
constexpr int64_t kWgtTBlockBytes = 65536;  // dy^T bytes per pixel block (backward-weight)

// Reused buffers of the calling thread: conv calls come one after another, so keeping
// them avoids page-faulting fresh megabytes on every call.
struct Scratch {
  std::vector<float> in, phase;
  AlignedBuffer panel;
  std::vector<int64_t> off;
  std::vector<PixVec> vecs;
  AlignedBuffer dyT, dwT;
  std::vector<PixRun> runs;
  std::vector<int64_t> block_start;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// ---- input preparation --------------------------------------------------------------------

// src: N images of C planes H x W (planes H*W apart, images src_bs apart). The padded
// image has pad_t rows above and pad_l columns left of the data and Hp x Wp in total.
Prepared prepare_input(const float* src, int64_t N, int64_t C, int64_t H, int64_t W, int64_t src_bs,
                       int st, int64_t pad_t, int64_t pad_l, int64_t Hp, int64_t Wp,
                       std::vector<float>& buf) {
  const Prepared p = implicit::padded_layout(st, C, Hp, Wp);
  // Slack after the last image: a partial pixel vector reads up to kLanes floats past its
  // row; the values there are finite and only reach masked-off lanes.
  const int64_t total = N * p.img + 2 * kLanes;
  grow(buf, total);
  float* out = buf.data();
  std::fill(out + N * p.img, out + total, 0.0f);
  const int64_t jobs = N * st * st * C;
#pragma omp parallel for schedule(static) if (jobs * p.plane > 32768)
  for (int64_t job = 0; job < jobs; ++job) {
    const int64_t c = job % C, ph = (job / C) % (st * st), n = job / (C * st * st);
    const int64_t a = ph / st, b = ph % st;
    const float* xc = src + n * src_bs + c * H * W;
    float* dst = out + n * p.img + (c * st * st + ph) * p.plane;
    int64_t j0, j1;  // columns j with source column st*j + b - pad_l in [0, W)
    implicit::data_columns(p, W, pad_l, b, j0, j1);
    for (int64_t i = 0; i < p.Hh; ++i) {
      float* row = dst + i * p.Wh;
      const int64_t h = st * i + a - pad_t;
      if (h < 0 || h >= H || st * i + a >= Hp) {
        std::fill(row, row + p.Wh, 0.0f);
        continue;
      }
      const float* xr = xc + h * W;
      std::fill(row, row + j0, 0.0f);
      if (st == 1) {
        std::memcpy(row + j0, xr + (j0 - pad_l), (j1 - j0) * sizeof(float));
      } else {
        for (int64_t j = j0; j < j1; ++j) row[j] = xr[st * j + b - pad_l];
      }
      std::fill(row + j1, row + p.Wh, 0.0f);
    }
  }
  return p;
}

void make_vectors(int64_t N, int64_t rows, int64_t cols, int64_t in_img, int64_t in_ld, int64_t in_row0,
                  int64_t in_col0, int64_t out_img, int64_t out_ld, std::vector<PixVec>& v) {
  implicit::make_vectors<kLanes>(N, rows, cols, in_img, in_ld, in_row0, in_col0, out_img, out_ld, v);
}

// ---- forward micro-kernel -----------------------------------------------------------------

// out[m][vec] (+)= sum_{t < nt} A[t][m] * in[vec.in + off[t] + lane] for m < mvalid.
// first: start from bias (or 0) instead of the partial sums in out.
template <int MR, int V>
void tile_forward(const float* __restrict A, const int64_t* __restrict off, int64_t nt,
                  const float* __restrict in, const PixVec* vec, float* __restrict out,
                  int64_t out_ms, int mvalid, const float* bias, bool first) {
  Vec acc[MR][V];
  const float* b[V];
  simd::Mask mk[V];
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    b[v] = in + vec[v].in;
    mk[v] = simd::first_lanes(vec[v].n);
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    const Vec init = first && bias && m < mvalid ? simd::set1(bias[m]) : simd::zero();
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      acc[m][v] = first || m >= mvalid ? init : simd::loadu(out + vec[v].out + m * out_ms, mk[v]);
  }
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t o = off[t];
    Vec xv[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) xv[v] = simd::loadu(b[v] + o);
    const float* a = A + t * MR;
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const Vec am = simd::broadcast(a + m);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[m][v] = simd::fmadd(am, xv[v], acc[m][v]);
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) {
    if (m >= mvalid) break;
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) simd::storeu(out + vec[v].out + m * out_ms, acc[m][v], mk[v]);
  }
}

// A stride-1 implicit GEMM on float32 operands (implicit::Gemm, implicit::run_gemm).
using ImplicitGemm = implicit::Gemm<float>;

template <int MR, int V>
void run_implicit(const ImplicitGemm& g) {
  implicit::run_gemm<MR, V>(g, kGroupBlock,
                            [&](auto mr, auto nv, const float* A, const int64_t* off, int64_t nt, const PixVec* vec,
                                float* out, int mvalid, const float* bias, bool first) {
                              tile_forward<decltype(mr)::value, decltype(nv)::value>(A, off, nt, g.in, vec, out,
                                                                                     g.out_ms, mvalid, bias, first);
                            });
}

// Taps per chunk so that the input one block of pixel tiles reads through a chunk fits in
// kChunkBytes: a block covers block_px outputs of rows of `cols`, and each group of
// taps_per_plane taps (one input channel's plane, or phase plane) reads rows_per_tap more
// input rows of ld floats. A block shorter than a row spans at most two output rows and
// reads, of each of its rows_per_tap + 1 input rows, block_px columns and the filter's
// halo, not the whole row: counting whole rows left 1920-column images one plane per chunk,
// so a 64-channel 3x3 conv went back to its partial sums 64 times per block instead of 5.
// (The chunking does not change the order of the sums: the results are the same.)
int64_t tap_chunk(int64_t cols, int64_t ld, int64_t rows_per_tap, int64_t taps_per_plane, int64_t M) {
  const int V = M <= kFwdMRSmall ? kFwdVSmall : kFwdV;
  const int64_t block_px = kGroupBlock * V * kLanes;
  const int64_t rows = (block_px + cols - 1) / cols + 1 + rows_per_tap;
  const int64_t plane_bytes = (int64_t)sizeof(float) * (block_px < cols
                                                            ? (rows_per_tap + 1) * std::min(ld, block_px + 2 * kLanes)
                                                            : rows * ld);
  const int64_t planes = std::max<int64_t>(1, kChunkBytes / plane_bytes);
  return planes * taps_per_plane;
}

// Tile height for M output channels.
int tile_mr(int64_t M) { return M <= kFwdMRSmall ? kFwdMRSmall : kFwdMR; }

// panel[mt][t][i] = w[(mt*MR + i)*T + t], 0 past M: w is M x T row-major (the forward's
// OIHW filter). With AVX-512 and MR = 8, one 16 x 16 transpose packs two tiles at once.
void pack_panel_rows(const float* w, int64_t M, int64_t T, int MR, float* panel) {
  const int64_t mtiles = (M + MR - 1) / MR;
#if defined(__AVX512F__)
  if (MR == 8) {
    const int64_t tblocks = (T + 15) / 16;
    const int64_t pairs = (mtiles + 1) / 2;
#pragma omp parallel for schedule(static) if (M * T > 32768)
    for (int64_t job = 0; job < pairs * tblocks; ++job) {
      const int64_t pr = job / tblocks, t0 = (job % tblocks) * 16, m0 = pr * 16;
      const int cols = (int)std::min<int64_t>(16, T - t0);
      __m512 r[16];
      load_rows16(w + m0 * T + t0, T, (int)std::min<int64_t>(16, M - m0), cols, r);
      transpose16(r);  // r[j] = weights of tap t0 + j for channels m0 .. m0 + 15
      float* lo = panel + (2 * pr * T + t0) * 8;
      float* hi = lo + T * 8;
      const bool has_hi = 2 * pr + 1 < mtiles;
      for (int j = 0; j < cols; ++j) {
        _mm256_storeu_ps(lo + j * 8, _mm512_castps512_ps256(r[j]));
        if (has_hi) _mm256_storeu_ps(hi + j * 8, _mm512_extractf32x8_ps(r[j], 1));
      }
    }
    return;
  }
#endif
#pragma omp parallel for schedule(static) if (M * T > 32768)
  for (int64_t mt = 0; mt < mtiles; ++mt) {
    const int mvalid = (int)std::min<int64_t>(MR, M - mt * MR);
    float* dst = panel + mt * T * MR;
    for (int64_t t = 0; t < T; ++t)
      for (int i = 0; i < MR; ++i) dst[t * MR + i] = i < mvalid ? w[(mt * MR + i) * T + t] : 0.0f;
  }
}

// Runs the GEMM with the tile shape that suits M (see tile_mr).
void implicit_gemm(const ImplicitGemm& g) {
  if (tile_mr(g.M) == kFwdMRSmall)
    run_implicit<kFwdMRSmall, kFwdVSmall>(g);
  else
    run_implicit<kFwdMR, kFwdV>(g);
}

// ---- backward-weight micro-kernel ---------------------------------------------------------

// dw[m][t] += sum over the pixel vectors of dy[m][pix] * in[pix.in + off[t]].
template <int MR, int NT>
void tile_weight(const PixVec* vec, int64_t nv, const float* __restrict dy, int64_t dy_ms, int mvalid,
                 const float* __restrict in, const int64_t* off, int tvalid, float* dw, int64_t dw_ld) {
  Vec acc[MR][NT];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) acc[m][t] = simd::zero();
  int64_t o[NT], rows[MR];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) o[t] = off[t < tvalid ? t : 0];
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m) rows[m] = (m < mvalid ? m : 0) * dy_ms;
  for (int64_t i = 0; i < nv; ++i) {
    const simd::Mask mk = simd::first_lanes(vec[i].n);
    const float* d0 = dy + vec[i].out;
    const float* b = in + vec[i].in;
    Vec d[MR];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) d[m] = simd::loadu(d0 + rows[m], mk);
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const Vec xv = simd::loadu(b + o[t]);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) acc[m][t] = simd::fmadd(d[m], xv, acc[m][t]);
    }
  }
  // Constant indices only: a runtime index into acc would make the compiler keep the
  // accumulators in memory (and store them on every pixel step).
#pragma GCC unroll 16
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t)
      if (m < mvalid && t < tvalid) dw[m * dw_ld + t] += simd::reduce_add(acc[m][t]);
}

// Backward-weight with the output channels in the vector lanes: for KV vectors of
// channels and TT taps, dwT[t][k] += sum_pix in[pix + off[t]] * dyT[pix][k]. Each input
// value is one broadcast (never a split load), each dy^T vector an aligned load, and the
// sums need no lane reduction; the tile lives in dwT between pixel blocks.
template <int KV, int TT>
void tile_weight_t(const PixRun* runs, int64_t nruns, const float* __restrict in,
                   const int64_t* off, int tvalid, const float* __restrict dyT, int64_t ldk,
                   float* __restrict dwT, bool first) {
  Vec acc[TT][KV];
  int64_t o[TT];
#pragma GCC unroll 32
  for (int t = 0; t < TT; ++t) {
    o[t] = off[t < tvalid ? t : 0];
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v)
      acc[t][v] = !first && t < tvalid ? simd::loadu(dwT + t * ldk + v * kLanes) : simd::zero();
  }
  for (int64_t r = 0; r < nruns; ++r) {
    const float* b = in + runs[r].in;
    const float* d = dyT + runs[r].dy;
    for (int64_t q = 0; q < runs[r].n; ++q) {
      Vec dv[KV];
#pragma GCC unroll 4
      for (int v = 0; v < KV; ++v) dv[v] = simd::loadu(d + q * ldk + v * kLanes);
#pragma GCC unroll 32
      for (int t = 0; t < TT; ++t) {
        const Vec a = simd::broadcast(b + q + o[t]);
#pragma GCC unroll 4
        for (int v = 0; v < KV; ++v) acc[t][v] = simd::fmadd(a, dv[v], acc[t][v]);
      }
    }
  }
#pragma GCC unroll 32
  for (int t = 0; t < TT; ++t)
#pragma GCC unroll 4
    for (int v = 0; v < KV; ++v)
      if (t < tvalid) simd::storeu(dwT + t * ldk + v * kLanes, acc[t][v]);
}

// All of backward-weight in the channels-in-lanes form, for KV vectors per channel chunk.
template <int KV, int TT>
void weight_channels_in_lanes(const std::vector<PixRun>& runs, const std::vector<int64_t>& block_start,
                              const float* in, const int64_t* off, int64_t T, const float* dyT,
                              int64_t ldk, float* dwT) {
  implicit::run_weight_channels_in_lanes<TT>(
      runs, block_start, T, ldk / (KV * kLanes),
      [&](const PixRun* r, int64_t nr, int64_t tt, int tvalid, int64_t kc, bool first) {
        tile_weight_t<KV, TT>(r, nr, in, off + tt * TT, tvalid, dyT + kc * KV * kLanes, ldk,
                              dwT + tt * TT * ldk + kc * KV * kLanes, first);
      });
}

using implicit::filter_offsets;

// Backward-weight for K >= kLanes output channels, channels in the lanes (see
// tile_weight_t): transposes dy to dy^T[n][pix][ldk], accumulates dw^T, adds it into dw.
void weight_wide(const Conv2dShape& s, const Prepared& p, const float* dy, float* dw, Scratch& ws) {
  const int64_t PQ = s.P * s.Q, T = s.C * s.R * s.S;
  const int64_t kv = (s.K + kLanes - 1) / kLanes;
#if defined(__AVX512F__)
  const int KV = (int)std::min<int64_t>(kv, 4);
#else
  const int KV = (int)std::min<int64_t>(kv, 2);
#endif
  const int64_t ldk = (kv + KV - 1) / KV * KV * kLanes;
  float* dyT = ws.dyT.get(s.N * PQ * ldk);
  // dy^T[n][pix][k] by 16 x 16 transposes, channels K..ldk zero.
  const int64_t pblocks = (PQ + 63) / 64;
#pragma omp parallel for schedule(static) if (s.N * PQ * s.K > 65536)
  for (int64_t job = 0; job < s.N * pblocks; ++job) {
    const int64_t n = job / pblocks, i0 = (job % pblocks) * 64, i1 = std::min(PQ, i0 + 64);
    float* dst = dyT + (n * PQ + i0) * ldk;
    transpose(dy + n * s.K * PQ + i0, PQ, dst, ldk, s.K, i1 - i0, false);
    if (ldk > s.K)
      for (int64_t i = 0; i < i1 - i0; ++i) std::fill(dst + i * ldk + s.K, dst + (i + 1) * ldk, 0.0f);
  }
  // Pixel runs (pieces of output rows), grouped into blocks of about kWgtTBlockBytes of dy^T
  // (of one chunk of KV*kLanes channels) so a block stays in L1 while every tap tile of
  // the thread passes over it.
  const int64_t block_px = std::max<int64_t>(8, kWgtTBlockBytes / (int64_t)(KV * kLanes * sizeof(float)));
  std::vector<PixRun>& runs = ws.runs;
  std::vector<int64_t>& starts = ws.block_start;
  implicit::make_runs(s.N, s.P, s.Q, p.img, p.Wh, 1, block_px, ldk, runs, starts);
  float* dwT = ws.dwT.get(T * ldk);  // written by the first pixel block, no zeroing
  const float* in = ws.in.data();
  const int64_t* off = ws.off.data();
#if defined(__AVX512F__)
  switch (KV) {
    case 1: weight_channels_in_lanes<1, 16>(runs, starts, in, off, T, dyT, ldk, dwT); break;
    case 2: weight_channels_in_lanes<2, 12>(runs, starts, in, off, T, dyT, ldk, dwT); break;
    case 3: weight_channels_in_lanes<3, 8>(runs, starts, in, off, T, dyT, ldk, dwT); break;
    default: weight_channels_in_lanes<4, 6>(runs, starts, in, off, T, dyT, ldk, dwT); break;
  }
#else
  if (KV == 1)
    weight_channels_in_lanes<1, 8>(runs, starts, in, off, T, dyT, ldk, dwT);
  else
    weight_channels_in_lanes<2, 6>(runs, starts, in, off, T, dyT, ldk, dwT);
#endif
  implicit::add_transposed(dwT, ldk, dw, T, s.K);  // dw[k][t] += dw^T[t][k]
}

}  // namespace

// ---- entry points ---------------------------------------------------------------------------

void conv2d_forward_implicit(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                             float* y) {
  Scratch& ws = scratch();
  const Prepared p = prepare_input(x, s.N, s.C, s.H, s.W, s.x_batch_stride, s.stride, s.pad, s.pad,
                                   s.H + 2 * s.pad, s.W + 2 * s.pad, ws.in);
  const int64_t T = s.C * s.R * s.S;
  filter_offsets(p, s.C, s.R, s.S, ws.off);
  make_vectors(s.N, s.P, s.Q, p.img, p.Wh, 0, 0, s.y_batch_stride, s.Q, ws.vecs);
  // Taps (c, r, s) in OIHW order visit the st*st phase planes of channel c, each for
  // (R/st) x (S/st) taps reading R/st extra rows.
  const int64_t per_plane = std::max<int64_t>(1, (s.R / s.stride) * (s.S / s.stride));
  const int64_t chunk = tap_chunk(s.Q, p.Wh, (s.R + s.stride - 1) / s.stride, per_plane, s.K);
  const int MR = tile_mr(s.K);
  float* panel = ws.panel.get((s.K + MR - 1) / MR * MR * T);
  pack_panel_rows(w, s.K, T, MR, panel);
  ImplicitGemm g{s.K, T, chunk, panel, ws.off.data(), ws.in.data(), s.N * p.img, ws.vecs.data(),
                 (int64_t)ws.vecs.size(), y, s.P * s.Q, bias};
  implicit_gemm(g);
}

void conv2d_backward_data_implicit(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  Scratch& ws = scratch();
  const int st = s.stride;
  // Output phase (ph, pw) of dx: rows h = st*i + ph. Tap r contributes iff
  // (h + pad - r) % st == 0, i.e. r = r0 + st*u, and then reads dy row i + d - u.
  struct Phase {
    int64_t r0, Ru, d, rows;
  };
  auto phase = [&](int64_t ph, int64_t R, int64_t pad, int64_t H) {
    Phase f;
    f.r0 = (ph + pad) % st;
    f.Ru = R > f.r0 ? (R - f.r0 + st - 1) / st : 0;
    f.d = (ph + pad - f.r0) / st;
    f.rows = (H - ph + st - 1) / st;
    return f;
  };
  // Zero rows above/left of dy so that every phase reads at non-negative rows, and below/
  // right so that it never leaves the buffer.
  int64_t top = 0, left = 0, Pp = s.P, Qp = s.Q;
  for (int ph = 0; ph < st; ++ph) {
    const Phase fr = phase(ph, s.R, s.pad, s.H), fc = phase(ph, s.S, s.pad, s.W);
    top = std::max(top, fr.Ru - 1 - fr.d);
    left = std::max(left, fc.Ru - 1 - fc.d);
  }
  Pp += top;
  Qp += left;
  for (int ph = 0; ph < st; ++ph) {
    const Phase fr = phase(ph, s.R, s.pad, s.H), fc = phase(ph, s.S, s.pad, s.W);
    Pp = std::max(Pp, fr.rows + fr.d + top);
    Qp = std::max(Qp, fc.rows + fc.d + left);
  }
  const Prepared p = prepare_input(dy, s.N, s.K, s.P, s.Q, s.K * s.P * s.Q, 1, top, left, Pp, Qp, ws.in);
  const int64_t HW = s.H * s.W, RS = s.R * s.S;
  if (st > 1) grow(ws.phase, s.N * s.C * HW);
  // The flipped, transposed filter packed for every phase at once. Phase (ph, pw) has the
  // taps t = (k*Ru + u)*Su + v, tap t being filter element (r0 + st*(Ru-1-u),
  // s0 + st*(Su-1-v)) of w[k][c]; its panel is panel[mt][t][i] = w[k][mt*MR + i][r][s].
  // Every filter element belongs to exactly one phase (the one with r0 = r % st and
  // s0 = s % st), so one pass over w fills all panels.
  const int MR = tile_mr(s.C);
  const int64_t mtiles = (s.C + MR - 1) / MR;
  Phase frs[2], fcs[2];
  for (int ph = 0; ph < st; ++ph) {
    frs[ph] = phase(ph, s.R, s.pad, s.H);
    fcs[ph] = phase(ph, s.S, s.pad, s.W);
  }
  int64_t panel_base[4] = {0, 0, 0, 0}, panel_total = 0;
  for (int ph = 0; ph < st; ++ph)
    for (int pw = 0; pw < st; ++pw) {
      panel_base[ph * st + pw] = panel_total;
      panel_total += mtiles * MR * s.K * frs[ph].Ru * fcs[pw].Ru;
    }
  float* panels = ws.panel.get(std::max<int64_t>(panel_total, 1));
  // Where filter element (k, r, q) goes: panel offset of its tap for m-tile 0.
  auto tap_slot = [&](int64_t k, int64_t r, int64_t q, int64_t& ph_index, int64_t& T) {
    const int ph = (int)(((r % st) - s.pad % st + st) % st), pw = (int)(((q % st) - s.pad % st + st) % st);
    const Phase &fr = frs[ph], &fc = fcs[pw];
    T = s.K * fr.Ru * fc.Ru;
    ph_index = ph * st + pw;
    return (k * fr.Ru + fr.Ru - 1 - r / st) * fc.Ru + fc.Ru - 1 - q / st;
  };
#if defined(__AVX512F__)
  if (MR == 8) {
    // One 16 x 16 transpose turns 16 channels x 16 filter elements of w[k] into the taps of
    // two m-tiles.
    const int64_t pairs = (mtiles + 1) / 2, rsblocks = (RS + 15) / 16;
#pragma omp parallel for schedule(static) if (s.K * s.C * RS > 32768)
    for (int64_t job = 0; job < s.K * pairs * rsblocks; ++job) {
      const int64_t k = job / (pairs * rsblocks), pr = (job / rsblocks) % pairs, rs0 = (job % rsblocks) * 16;
      const int cols = (int)std::min<int64_t>(16, RS - rs0);
      __m512 r[16];
      load_rows16(w + (k * s.C + pr * 16) * RS + rs0, RS, (int)std::min<int64_t>(16, s.C - pr * 16), cols, r);
      transpose16(r);  // r[j] = w[k][pr*16 .. pr*16 + 15][rs0 + j]
      for (int j = 0; j < cols; ++j) {
        int64_t pi, T;
        const int64_t t = tap_slot(k, (rs0 + j) / s.S, (rs0 + j) % s.S, pi, T);
        float* lo = panels + panel_base[pi] + (2 * pr * T + t) * 8;
        _mm256_storeu_ps(lo, _mm512_castps512_ps256(r[j]));
        if (2 * pr + 1 < mtiles) _mm256_storeu_ps(lo + T * 8, _mm512_extractf32x8_ps(r[j], 1));
      }
    }
  } else
#endif
  {
#pragma omp parallel for schedule(static) if (s.K * s.C * RS > 32768)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t mt = 0; mt < mtiles; ++mt)
        for (int64_t rs = 0; rs < RS; ++rs) {
          int64_t pi, T;
          const int64_t t = tap_slot(k, rs / s.S, rs % s.S, pi, T);
          float* dst = panels + panel_base[pi] + (mt * T + t) * MR;
          for (int i = 0; i < MR; ++i) {
            const int64_t c = mt * MR + i;
            dst[i] = c < s.C ? w[(k * s.C + c) * RS + rs] : 0.0f;
          }
        }
  }
  int64_t phase_base = 0;
  for (int ph = 0; ph < st; ++ph)
    for (int pw = 0; pw < st; ++pw) {
      const Phase fr = phase(ph, s.R, s.pad, s.H), fc = phase(pw, s.S, s.pad, s.W);
      const int64_t rows = fr.rows, cols = fc.rows;
      if (rows <= 0 || cols <= 0) continue;
      // Output of this phase: dx itself for stride 1, else a [N][C][rows][cols] block.
      float* out = st == 1 ? dx : ws.phase.data() + phase_base;
      const int64_t out_img = s.C * rows * cols;
      phase_base += s.N * out_img;
      if (fr.Ru == 0 || fc.Ru == 0) {
        std::fill(out, out + s.N * out_img, 0.0f);
        continue;
      }
      // Tap (k, u, v) reads dy_pad[k][.. + u][.. + v]; its weights are row t of the phase.
      const int64_t T = s.K * fr.Ru * fc.Ru;
      grow(ws.off, T);
      for (int64_t k = 0; k < s.K; ++k)
        for (int64_t u = 0; u < fr.Ru; ++u)
          for (int64_t v = 0; v < fc.Ru; ++v)
            ws.off[(k * fr.Ru + u) * fc.Ru + v] = (k * p.plane + u * p.Wh + v);
      make_vectors(s.N, rows, cols, p.img, p.Wh, fr.d - fr.Ru + 1 + top, fc.d - fc.Ru + 1 + left,
                   out_img, cols, ws.vecs);
      const int64_t chunk = tap_chunk(cols, p.Wh, fr.Ru, fr.Ru * fc.Ru, s.C);
      ImplicitGemm g{s.C, T, chunk, panels + panel_base[ph * st + pw], ws.off.data(), ws.in.data(),
                     s.N * p.img, ws.vecs.data(), (int64_t)ws.vecs.size(), out, rows * cols, nullptr};
      implicit_gemm(g);
    }
  if (st == 1) return;
  // Interleave the phases into dx.
  const float* phases = ws.phase.data();
  const int64_t jobs = s.N * s.C;
#pragma omp parallel for schedule(static) if (jobs * HW > 32768)
  for (int64_t job = 0; job < jobs; ++job) {
    const int64_t n = job / s.C, c = job % s.C;
    float* dxc = dx + job * HW;
    int64_t base = 0;
    for (int ph = 0; ph < st; ++ph)
      for (int pw = 0; pw < st; ++pw) {
        const int64_t rows = (s.H - ph + st - 1) / st, cols = (s.W - pw + st - 1) / st;
        if (rows <= 0 || cols <= 0) continue;
        const float* src = phases + base + (n * s.C + c) * rows * cols;
        base += s.N * s.C * rows * cols;
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) dxc[(st * i + ph) * s.W + st * j + pw] = src[i * cols + j];
      }
  }
}

void conv2d_backward_weight_implicit(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                     float* dbias) {
  const int64_t PQ = s.P * s.Q;
  if (dbias) {
    // Per channel and image: kLanes-wide float partial sums in a fixed order, reduced and
    // added in double; deterministic whatever the thread count.
#pragma omp parallel for schedule(static) if (s.K * s.N * PQ > 65536)
    for (int64_t k = 0; k < s.K; ++k) {
      double acc = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const float* d = dy + (n * s.K + k) * PQ;
        Vec a0 = simd::zero(), a1 = simd::zero();
        int64_t i = 0;
        for (; i + 2 * kLanes <= PQ; i += 2 * kLanes) {
          a0 = simd::add(a0, simd::loadu(d + i));
          a1 = simd::add(a1, simd::loadu(d + i + kLanes));
        }
        for (; i < PQ; i += kLanes) a0 = simd::add(a0, simd::loadu(d + i, simd::first_lanes((int)std::min<int64_t>(kLanes, PQ - i))));
        acc += (double)simd::reduce_add(simd::add(a0, a1));
      }
      dbias[k] += (float)acc;
    }
  }
  if (!dw || s.N * PQ == 0) return;  // an empty batch adds nothing
  Scratch& ws = scratch();
  const Prepared p = prepare_input(x, s.N, s.C, s.H, s.W, s.x_batch_stride, s.stride, s.pad, s.pad,
                                   s.H + 2 * s.pad, s.W + 2 * s.pad, ws.in);
  const int64_t T = s.C * s.R * s.S;
  filter_offsets(p, s.C, s.R, s.S, ws.off);
  // Many taps and at least a vector of channels: channels in the lanes. Few channels or
  // few taps (the 3-channel first convs): the dot-product form below, which reads dy
  // once in place instead of transposing it.
  if (s.K >= kLanes && T > kWgtFewTaps) {
    weight_wide(s, p, dy, dw, ws);
    return;
  }
  make_vectors(s.N, s.P, s.Q, p.img, p.Wh, 0, 0, s.K * PQ, s.Q, ws.vecs);
  const int64_t nvec = (int64_t)ws.vecs.size();
  const int64_t ktiles = (s.K + kWgtMR - 1) / kWgtMR, ttiles = (T + kWgtNT - 1) / kWgtNT;
  const float* in = ws.in.data();
  const int64_t* off = ws.off.data();
  const PixVec* vecs = ws.vecs.data();
  // Threads split whichever of channel tiles and tap tiles has more: each dw element is
  // still summed by one thread, in pixel order.
  const bool split_k = ktiles > ttiles;
#pragma omp parallel if (ktiles * ttiles > 1)
  {
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t units = split_k ? ktiles : ttiles;
    const int64_t u0 = units * tid / nth, u1 = units * (tid + 1) / nth;
    const int64_t kt0 = split_k ? u0 : 0, kt1 = split_k ? u1 : ktiles;
    const int64_t tt0 = split_k ? 0 : u0, tt1 = split_k ? ttiles : u1;
    for (int64_t v0 = 0; v0 < nvec; v0 += kWgtPixBlock) {
      const int64_t nv = std::min(kWgtPixBlock, nvec - v0);
      for (int64_t kt = kt0; kt < kt1; ++kt) {
        const int mvalid = (int)std::min<int64_t>(kWgtMR, s.K - kt * kWgtMR);
        for (int64_t tt = tt0; tt < tt1; ++tt) {
          const int tvalid = (int)std::min<int64_t>(kWgtNT, T - tt * kWgtNT);
          tile_weight<kWgtMR, kWgtNT>(vecs + v0, nv, dy + kt * kWgtMR * PQ, PQ, mvalid, in,
                                      off + tt * kWgtNT, tvalid, dw + kt * kWgtMR * T + tt * kWgtNT, T);
        }
      }
    }
  }
}

}  // namespace sr::cpu
#endif  // SR_CPU_SIMD
