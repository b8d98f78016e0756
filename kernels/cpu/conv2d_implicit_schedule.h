// The work split shared by the CPU implicit-GEMM convolutions, conv2d_implicit.cpp (float32)
// and conv2d_bf16.cpp (bf16 pairs): padded-input geometry, pixel vectors and runs, tap offsets,
// and the thread / pixel-block / tap-chunk schedules that call each file's register tiles.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/cpu/transpose.h"

namespace sr::cpu::implicit {

// One run of up to L output pixels of one row: where its taps start in the padded input,
// where its outputs go (channel 0; channel m is m*out_ms further), and how many lanes are real.
struct PixVec {
  int64_t in;
  int64_t out;
  int32_t n;
};

// A run of pixels (or pixel pairs) of one output row: `in` is where tap offset 0 of its
// first pixel reads, `dy` where its first pixel's channel vector starts in dy^T, n how many.
struct PixRun {
  int64_t in, dy, n;
};

template <typename V>
V* grow(std::vector<V>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// The padded, phase-split input: per image C channel groups of st*st phase planes of
// Hh x Wh (plane = Hh*Wh elements, img = elements per image).
struct Prepared {
  int st;
  int64_t C, Hh, Wh, plane, img;
};

// The layout of C channel groups of a padded Hp x Wp image at stride st.
inline Prepared padded_layout(int st, int64_t C, int64_t Hp, int64_t Wp) {
  Prepared p{};
  p.st = st;
  p.C = C;
  p.Hh = (Hp + st - 1) / st;
  p.Wh = (Wp + st - 1) / st;
  p.plane = p.Hh * p.Wh;
  p.img = (int64_t)st * st * C * p.plane;
  return p;
}

// Columns [j0, j1) of phase column b whose source column st*j + b - pad_l is in [0, W).
inline void data_columns(const Prepared& p, int64_t W, int64_t pad_l, int64_t b, int64_t& j0, int64_t& j1) {
  const int st = p.st;
  j0 = std::min<int64_t>(p.Wh, std::max<int64_t>(0, (pad_l - b + st - 1) / st));
  j1 = std::max<int64_t>(j0, std::min<int64_t>(p.Wh, (W - 1 + pad_l - b) / st + 1));
}

// Pixel vectors of L lanes over `rows` x `cols` outputs per image: image n, row i, columns
// j0.. start at n*in_img + (i + in_row0)*in_ld + j0 + in_col0 and write n*out_img + i*out_ld + j0.
template <int L>
void make_vectors(int64_t N, int64_t rows, int64_t cols, int64_t in_img, int64_t in_ld, int64_t in_row0,
                  int64_t in_col0, int64_t out_img, int64_t out_ld, std::vector<PixVec>& v) {
  v.clear();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; j += L)
        v.push_back({n * in_img + (i + in_row0) * in_ld + in_col0 + j, n * out_img + i * out_ld + j,
                     (int32_t)std::min<int64_t>(L, cols - j)});
}

// Tap offsets of a filter (c, r, s) over C channel groups in a Prepared buffer, in OIHW order.
inline void filter_offsets(const Prepared& p, int64_t C, int64_t R, int64_t S, std::vector<int64_t>& off) {
  grow(off, C * R * S);
  const int st = p.st;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t a = r % st, u = r / st, b = s % st, v = s / st;
        off[(c * R + r) * S + s] = (((c * st + a) * st + b) * p.plane + u * p.Wh + v);
      }
}

// An implicit GEMM: out[m][pix] = bias[m] + sum_t Wt(m, t) * in[pix.in + off[t]], m < M,
// with the taps run in chunks of `chunk`; E is the operand element (a float, a bf16 pair).
template <typename E>
struct Gemm {
  int64_t M, T, chunk;
  const E* panel;  // packed weights: panel[mt][t][i] = W(mt*MR + i, t)
  const int64_t* off;
  const E* in;
  int64_t in_elems;  // size of `in` (for choosing how threads split the work)
  const PixVec* vecs;
  int64_t nvec;
  float* out;
  int64_t out_ms;
  const float* bias;
};

// Threads split the output pixels when the input is the bigger operand (each thread reads
// all the weights and its share of the input), else the output channels (each thread reads
// its share of the weights and all the input). Each thread walks its tiles of V pixel
// vectors in blocks of group_block, each block the taps in chunks, each chunk the channel
// tiles of MR. tile(mr, nv, A, off, nt, vec, out, mvalid, bias, first), mr and nv as
// std::integral_constant, runs one register tile: nv = V, or fewer for the last tile.
template <int MR, int V, typename E, typename Tile>
void run_gemm(const Gemm<E>& g, int64_t group_block, Tile tile) {
  const int64_t mtiles = (g.M + MR - 1) / MR;
  const int64_t ngroups = (g.nvec + V - 1) / V;
  const bool split_m = mtiles * MR * g.T > g.in_elems && mtiles > 1;
#pragma omp parallel if (split_m || ngroups > 1)
  {
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    int64_t g0 = 0, g1 = ngroups, mt0 = 0, mt1 = mtiles;
    if (split_m) {
      mt0 = mtiles * tid / nth;
      mt1 = mtiles * (tid + 1) / nth;
    } else {
      g0 = ngroups * tid / nth;
      g1 = ngroups * (tid + 1) / nth;
    }
    for (int64_t gb = g0; gb < g1; gb += group_block) {
      const int64_t ge = std::min(g1, gb + group_block);
      for (int64_t t0 = 0; t0 < g.T; t0 += g.chunk) {
        const int64_t nt = std::min(g.chunk, g.T - t0);
        for (int64_t mt = mt0; mt < mt1; ++mt) {
          const E* A = g.panel + (mt * g.T + t0) * MR;
          const int mvalid = (int)std::min<int64_t>(MR, g.M - mt * MR);
          float* out = g.out + mt * MR * g.out_ms;
          const float* bias = g.bias ? g.bias + mt * MR : nullptr;
          const int64_t* off = g.off + t0;
          const bool first = t0 == 0;
          for (int64_t gi = gb; gi < ge; ++gi) {
            const int64_t v0 = gi * V;
            const int nv = (int)std::min<int64_t>(V, g.nvec - v0);
            const PixVec* vec = g.vecs + v0;
            constexpr std::integral_constant<int, MR> mr{};
            if (nv == V) {
              tile(mr, std::integral_constant<int, V>{}, A, off, nt, vec, out, mvalid, bias, first);
              continue;
            }
            switch (nv) {  // the last, partial tile of the thread's range
#define SR_CASE(K)                                                                             \
  case K:                                                                                      \
    if constexpr (K < V) tile(mr, std::integral_constant<int, K>{}, A, off, nt, vec, out, mvalid, bias, first); \
    break;
              SR_CASE(1) SR_CASE(2) SR_CASE(3) SR_CASE(4) SR_CASE(5)
#undef SR_CASE
            }
          }
        }
      }
    }
  }
}

// Runs of pixel units (pixels, or pixel pairs of in_step 2) of every output row, pieces of
// at most `block` units, grouped into blocks of about `block` units: block b is
// runs[starts[b] .. starts[b+1]). A unit's dy^T row is ldk long.
inline void make_runs(int64_t N, int64_t P, int64_t units, int64_t img, int64_t Wh, int64_t in_step,
                      int64_t block, int64_t ldk, std::vector<PixRun>& runs, std::vector<int64_t>& starts) {
  runs.clear();
  starts.assign(1, 0);
  int64_t in_block = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t pr = 0; pr < P; ++pr)
      for (int64_t q0 = 0; q0 < units; q0 += block) {
        const int64_t cnt = std::min(block, units - q0);
        runs.push_back({n * img + pr * Wh + in_step * q0, ((n * P + pr) * units + q0) * ldk, cnt});
        in_block += cnt;
        if (in_block >= block) {
          starts.push_back((int64_t)runs.size());
          in_block = 0;
        }
      }
  if (starts.back() != (int64_t)runs.size()) starts.push_back((int64_t)runs.size());
}

// Backward-weight with the channels in the lanes: threads split the tiles of TT taps; each
// walks the kchunks channel chunks, then the pixel blocks of make_runs, then its tap tiles.
// tile(runs, nruns, tt, tvalid, kc, first) runs one register tile.
template <int TT, typename Tile>
void run_weight_channels_in_lanes(const std::vector<PixRun>& runs, const std::vector<int64_t>& starts,
                                  int64_t T, int64_t kchunks, Tile tile) {
  const int64_t ttiles = (T + TT - 1) / TT;
  const int64_t nblocks = (int64_t)starts.size() - 1;
#pragma omp parallel if (ttiles > 1)
  {
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t tt0 = ttiles * tid / nth, tt1 = ttiles * (tid + 1) / nth;
    for (int64_t kc = 0; kc < kchunks; ++kc)
      for (int64_t bl = 0; bl < nblocks; ++bl) {
        const PixRun* r = runs.data() + starts[bl];
        const int64_t nr = starts[bl + 1] - starts[bl];
        for (int64_t tt = tt0; tt < tt1; ++tt) {
          const int tvalid = (int)std::min<int64_t>(TT, T - tt * TT);
          tile(r, nr, tt, tvalid, kc, bl == 0);
        }
      }
  }
}

// dw[k][t] += dwT[t][k] for K channels and T taps, in 16 x 16 transposes over blocks of taps.
inline void add_transposed(const float* dwT, int64_t ldk, float* dw, int64_t T, int64_t K) {
  const int64_t tblocks = (T + 63) / 64;
#pragma omp parallel for schedule(static) if (K * T > 65536)
  for (int64_t tb = 0; tb < tblocks; ++tb) {
    const int64_t t0 = tb * 64, t1 = std::min(T, t0 + 64);
    transpose(dwT + t0 * ldk, ldk, dw + t0, T, t1 - t0, K, true);
  }
}

}  // namespace sr::cpu::implicit
