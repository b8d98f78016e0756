// The shape of HAT's overlapping cross-attention call and its relative position index, shared
// by the CPU kernels (kernels/cpu/overlap_window_attention.h, where the math is written out) and
// the CUDA ones (kernels/cuda/overlap_window_attention.h): both compute the windows and the
// index from (H, W, ws, wse) on the fly, so no unfolded key/value tensor and no index tensor
// exists anywhere.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr {

struct OverlapWindowAttentionShape {
  int64_t images = 0;    // B; qkv holds B images of H * W tokens
  int heads = 0;         // nh
  int head_dim = 0;      // d; C = nh * d, qkv rows hold 3C values
  int64_t H = 0, W = 0;  // token image, multiples of ws
  int window = 0;        // ws: the query windows' side (stride ws); Nq = ws * ws
  int overlap_window = 0;  // wse >= ws, wse - ws even: the key / value windows' side (HAT's
                           // overlap_win_size); Nkv = wse * wse
  double scale = 1.0;    // q's factor, usually d^-0.5
  SR_HD int q_tokens() const { return window * window; }
  SR_HD int kv_tokens() const { return overlap_window * overlap_window; }
  SR_HD int channels() const { return heads * head_dim; }
  SR_HD int pad() const { return (overlap_window - window) / 2; }  // nn.Unfold's zero padding
  SR_HD int table_side() const { return window + overlap_window - 1; }
  SR_HD int table_rows() const { return table_side() * table_side(); }
  SR_HD int64_t windows_per_image() const { return (H / window) * (W / window); }
};

namespace hat {

// HAT's relative_position_index_OCA[i, j] for query token i = (yi, xi) = (i / ws, i % ws) of a
// ws x ws window and key token j = (yj, xj) = (j / wse, j % wse) of its wse x wse window:
//   t = (yj - yi + ws - wse + 1) (ws + wse - 1) + (xj - xi + ws - wse + 1)
// (calculate_rpi_oca's offsets; ws > 1). Both offsets can go negative (t < 0 exactly when the
// row offset yj - yi + ws - wse + 1 is negative, or zero with a negative column offset), and
// HAT indexes the table with t as it is, so PyTorch wraps t < 0 to t + (ws + wse - 1)^2: the
// value returned. t spans [(2 - wse)(L + 1), ws (L + 1)] with L = ws + wse - 1, so each
// table row is hit by exactly one relative offset.
SR_HD int overlap_relative_index(int i, int j, int ws, int wse) {
  const int L = ws + wse - 1, shift = ws - wse + 1;
  const int t = (j / wse - i / ws + shift) * L + (j % wse - i % ws + shift);
  return t < 0 ? t + L * L : t;
}

}  // namespace hat

}  // namespace sr
