// igemm_v2's launch plans: the CTA tile and the split-K factor of each GEMM, chosen from the
// problem's shape and the SM count only (so a shape on a given GPU model always sums in the
// same order). Host-only and header-only: the unit test reads the same function the
// launchers call (docs/KERNELS.md, "igemm_v2: the conv design", Tiles).
#pragma once
#include <cstdint>

#include "kernels/cuda/conv2d_problems.h"

namespace sr::cuda::igemm_v2 {

// The GEMM k per tile: 32 bf16 (one filter tap, 32 channels; 32 pixels in the weight gradient).
constexpr int kBK = 32;
// One wave is one CTA per SM; a plan aims at two (kWaves), so the last partial wave and the
// tail effects of a single one do not halve the machine.
constexpr int kWaves = 2;
// A split of the forward-shaped GEMM covers at least this many 32-wide k tiles: the 3-stage
// pipeline's prologue and the partial-tile store are then under a third of its work.
constexpr int kMinKTilesPerSplit = 8;

// Forward and backward-data (the forward-shaped kernel): a BM x BN tile of the M x Nout
// output (BN = 32 when Nout <= 32, else 64; BM = 128 or 64), the k tiles split `splits` ways
// (ktiles_per_split each, the last one shorter, none empty).
struct ConvPlan {
  int bm = 128, bn = 64;
  int splits = 1;
  int ktiles_per_split = 0;
};

inline int64_t tile_count(int64_t M, int64_t N, int bm, int bn) { return ((M + bm - 1) / bm) * ((N + bn - 1) / bn); }

// The split count rounded to whole k-tile ranges with no empty split.
inline void finish_splits(ConvPlan& p, int ktiles) {
  int splits = p.splits < 1 ? 1 : p.splits;
  if (ktiles < 1) {
    p.splits = 1;
    p.ktiles_per_split = 0;
    return;
  }
  if (splits > ktiles) splits = ktiles;
  p.ktiles_per_split = (ktiles + splits - 1) / splits;
  p.splits = (ktiles + p.ktiles_per_split - 1) / p.ktiles_per_split;
}

// The rule:
//   BN = 32 if Nout <= 32 else 64 (a wider tile would only compute padding);
//   BM = 128 if the 128-row tiles give at least kWaves waves, else 64 (twice the CTAs for
//        small images: LR 32 at batch 16 is M = 16,384 pixels, 128 CTAs of 128 rows on 132
//        SMs, under one wave; 256 CTAs of 64 rows, 1.9 waves);
//   split-K only when even the 64-row tiles leave SMs idle (fewer CTAs than SMs): enough
//        splits for kWaves waves, each at least kMinKTilesPerSplit k tiles.
inline ConvPlan plan_conv(int64_t M, int64_t Nout, int ktiles, int sm_count) {
  ConvPlan p;
  const int64_t target = (int64_t)kWaves * sm_count;
  p.bn = Nout <= 32 ? 32 : 64;
  p.bm = tile_count(M, Nout, 128, p.bn) >= target ? 128 : 64;
  const int64_t tiles = tile_count(M, Nout, p.bm, p.bn);
  if (tiles < sm_count) {
    const int64_t want = (target + tiles - 1) / tiles, most = ktiles / kMinKTilesPerSplit;
    p.splits = (int)(want < most ? want : most);
  }
  finish_splits(p, ktiles);
  return p;
}

// Weight gradient: BM = 32 when K <= 32 else 64, BN = 64 (tap, channel) columns; the
// reduction over pixels split by plan_split_k with a target of kWaves waves.
struct WgradPlan {
  int bm = 64, bn = 64;
  igemm::SplitPlan split;
};

inline WgradPlan plan_wgrad(int K, int ncols, int pixels, int sm_count) {
  WgradPlan p;
  p.bm = K <= 32 ? 32 : 64;
  p.split = igemm::plan_split_k(K, ncols, pixels, p.bm, p.bn, kBK, kWaves * sm_count);
  return p;
}

}  // namespace sr::cuda::igemm_v2
