// wgmma's launch plans: the CTA tile (BM pixels x BN output channels) and the pixel rectangle
// of each convolution (its output pixels: any stride), chosen from the problem's shape and the SM count only.
// Host-only and header-only: the unit test reads the same function the launcher calls
// (docs/KERNELS.md, "wgmma: the Hopper conv design", Plans).
#pragma once
#include <cstdint>

namespace sr::cuda::wgmma {

// A tile of bm = tile_h x tile_w output pixels (one rectangle of one image) x bn output
// channels. The kernel is built for exactly the plans of kPlans.
struct ConvPlan {
  int bm = 128, bn = 64;
  int tile_h = 8, tile_w = 16;
};

inline bool operator==(const ConvPlan& a, const ConvPlan& b) {
  return a.bm == b.bm && a.bn == b.bn && a.tile_h == b.tile_h && a.tile_w == b.tile_w;
}

// Every plan, in the order that breaks ties: 128 rows as 8 x 16 (the halo of a 3x3 filter is
// 10 x 18 = 180 pixels for 128) or 16 x 8; 64 rows as 8 x 8 (100 halo pixels for 64) or
// 4 x 16 (108); each with BN = 64 and 32.
inline constexpr ConvPlan kPlans[] = {{128, 64, 8, 16}, {128, 64, 16, 8}, {64, 64, 8, 8}, {64, 64, 4, 16},
                                      {128, 32, 8, 16}, {128, 32, 16, 8}, {64, 32, 8, 8}, {64, 32, 4, 16}};

// The largest convolution stride the forward takes natively: the tensor map's element strides
// go up to 8 (cuTensorMapEncodeTiled), and a rectangle of at most 16 pixels by 8 traverses
// 128 <= 256 pixels of its box.
inline constexpr int kMaxStride = 8;

inline bool is_plan(const ConvPlan& p) {
  for (const ConvPlan& k : kPlans)
    if (k == p) return true;
  return false;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The CTAs of plan p on N images of P x Q output pixels and Nout output channels.
inline int64_t cta_count(const ConvPlan& p, int64_t N, int64_t P, int64_t Q, int64_t Nout) {
  return N * ceil_div(P, p.tile_h) * ceil_div(Q, p.tile_w) * ceil_div(Nout, p.bn);
}

// The MMA work of plan p in pixel x channel products per (tap, channel): every CTA multiplies
// its whole tile, including the rows past the image edge (a 33-wide image in 16-wide
// rectangles computes 48 columns) and the output channels past Nout.
inline int64_t computed_work(const ConvPlan& p, int64_t N, int64_t P, int64_t Q, int64_t Nout) {
  return N * ceil_div(P, p.tile_h) * p.tile_h * ceil_div(Q, p.tile_w) * p.tile_w * ceil_div(Nout, p.bn) * p.bn;
}

// The rule. Candidates: every plan of kPlans with BN = 32 when Nout <= 32 (a 64-wide tile
// would only multiply padding); when Nout > 32, BN = 64 and 32 both (the narrow tile doubles
// the CTAs of a small problem).
//   1. Fill the SMs: a candidate with at least sm_count CTAs (one full wave) beats one
//      with fewer; among those that do not fill, more CTAs win (a batch-1 LR image gets
//      what parallelism there is).
//   2. Least computed work: the fewest pixels past the image edge (and channels past Nout),
//      so a rectangle that divides P x Q beats one that hangs over it.
//   3. The larger tile (bm x bn): twice the MMAs per B tile loaded and per barrier round,
//      half the halo reads per output pixel.
//   4. The order of kPlans (the squarer rectangle: fewer halo pixels).
// At the RRDB shapes on 132 SMs: LR 32 at batch 16 (16,384 pixels) is 128 CTAs of 128 x 64,
// under one wave, so 64 x 64 in 8 x 8 rectangles (256 CTAs); LR 48 and 64 at batch 16 keep
// 128 x 64 (288 and 512 CTAs); batch 1 and 4 at LR 32 fill no wave with any tile and take the
// most CTAs, 64 x 32.
inline ConvPlan plan_conv(int64_t N, int64_t P, int64_t Q, int64_t Nout, int sm_count) {
  const ConvPlan* best = nullptr;
  int64_t best_ctas = 0, best_work = 0;
  for (const ConvPlan& p : kPlans) {
    if (Nout <= 32 && p.bn != 32) continue;
    const int64_t ctas = cta_count(p, N, P, Q, Nout), work = computed_work(p, N, P, Q, Nout);
    if (best) {
      const bool fills = ctas >= sm_count, best_fills = best_ctas >= sm_count;
      if (fills != best_fills) {
        if (!fills) continue;
      } else if (!fills && ctas != best_ctas) {
        if (ctas < best_ctas) continue;
      } else if (work != best_work) {
        if (work > best_work) continue;
      } else if (p.bm * p.bn <= best->bm * best->bn) {
        continue;
      }
    }
    best = &p;
    best_ctas = ctas;
    best_work = work;
  }
  return *best;
}

// ---- The weight gradient ------------------------------------------------------------------------
// A CTA computes, for one filter tap, bm channels of the gathered operand (x of a convolution:
// 64, or 128 as two m64 halves) x bn channels of the pixel-aligned one (dy: 64, or 32 when it
// has at most 32, the 64B-swizzled tile), summed over a run of kWgradPixels-pixel rectangles
// (tile_h x tile_w, 8 x 8 or 4 x 16) of the aligned operand's images: `splits` runs of
// rects_per_split rectangles, each split's partial tile stored for the ordered reduce. The
// kernel is built for bm 64 / 128 x bn 64 / 32 x the two rectangles (is_wgrad_tile).
inline constexpr int kWgradPixels = 64;
inline constexpr int kWgradMinRectsPerSplit = 8;  // 512 pixels per split at least

struct WgradPlan {
  int bm = 64, bn = 64, tile_h = 8, tile_w = 8;
  int splits = 1, rects_per_split = 1;
};

inline bool is_wgrad_tile(int bm, int bn, int tile_h, int tile_w) {
  return (bm == 64 || bm == 128) && (bn == 64 || bn == 32) && tile_h * tile_w == kWgradPixels &&
         (tile_w == 8 || tile_w == 16);
}

// The rule, from the shape and the SM count only (so a shape sums in one order per GPU model):
//   bn  32 when the aligned operand has at most 32 (packed) channels, else 64;
//   bm  the one of 64 and 128 that computes the fewest padded channels of the gathered
//       operand's Cp (ties: 128, which loads each dy tile once for twice the MMAs);
//   the rectangle of 8 x 8 and 4 x 16 with the fewest pixels past P x Q (ties: 8 x 8);
//   splits: enough for 2 waves (2 sm_count CTAs) over taps x channel tiles, at least
//       kWgradMinRectsPerSplit rectangles each, no empty split, at most 65535 (grid z).
// At RRDB's growth convs (Cp 64 .. 160, 32 outputs, 9 taps) on 132 SMs: 9 to 27 tiles, 10 to
// 29 splits; at LR 32 and batch 16 (256 rectangles of 8 x 8) a split sums 9 to 26 of them.
// tile: the tests' forced tile (bm, bn, rectangle; the splits still planned), else null.
inline WgradPlan plan_wgrad(int64_t N, int64_t P, int64_t Q, int64_t taps, int64_t gathered_cp, int64_t aligned_cp,
                            int sm_count, const WgradPlan* tile = nullptr) {
  WgradPlan p;
  p.bn = aligned_cp <= 32 ? 32 : 64;
  p.bm = ceil_div(gathered_cp, 128) * 128 <= ceil_div(gathered_cp, 64) * 64 ? 128 : 64;
  const int64_t square = ceil_div(P, 8) * 8 * ceil_div(Q, 8) * 8, wide = ceil_div(P, 4) * 4 * ceil_div(Q, 16) * 16;
  if (wide < square) {
    p.tile_h = 4;
    p.tile_w = 16;
  }
  if (tile) {
    p.bm = tile->bm;
    p.bn = tile->bn;
    p.tile_h = tile->tile_h;
    p.tile_w = tile->tile_w;
  }
  const int64_t rects = N * ceil_div(P, p.tile_h) * ceil_div(Q, p.tile_w);
  if (rects == 0) return p;  // no pixels: one split of nothing (the launchers return before)
  const int64_t tiles = taps * ceil_div(gathered_cp, p.bm) * ceil_div(aligned_cp, p.bn);
  int64_t splits = ceil_div(2 * (int64_t)sm_count, tiles);
  const int64_t most = rects / kWgradMinRectsPerSplit > 1 ? rects / kWgradMinRectsPerSplit : 1;
  if (splits > most) splits = most;
  if (splits > 65535) splits = 65535;
  if (splits < 1) splits = 1;
  p.rects_per_split = (int)ceil_div(rects, splits);
  p.splits = (int)ceil_div(rects, p.rects_per_split);
  return p;
}

}  // namespace sr::cuda::wgmma
