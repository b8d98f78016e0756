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

}  // namespace sr::cuda::wgmma
