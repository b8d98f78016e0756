// The shape of a fused window attention call and the two per-pair terms of its scores, the
// relative position index and the shifted-window mask, shared by the CPU kernels
// (kernels/cpu/window_attention.h, where the math is written out) and the CUDA ones
// (kernels/cuda/window_attention.h): both compute them from (H, W, ws, shift) on the fly,
// so no (N, N) index or (nW, N, N) mask tensor exists anywhere.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr {

struct WindowAttentionShape {
  int64_t windows = 0;   // B_ = B * nW, window b is window b % nW of its image
  int heads = 0;         // nh
  int head_dim = 0;      // d; C = nh * d, qkv rows hold 3C values
  int64_t H = 0, W = 0;  // the image the windows were cut from (multiples of ws)
  int window = 0;        // ws; N = ws * ws tokens a window
  int shift = 0;         // 0 <= shift < ws (0: no mask)
  double scale = 1.0;    // q's factor, usually d^-0.5
  SR_HD int tokens() const { return window * window; }
  SR_HD int channels() const { return heads * head_dim; }
  SR_HD int table_rows() const { return (2 * window - 1) * (2 * window - 1); }
  SR_HD int64_t windows_per_image() const { return (H / window) * (W / window); }
};

namespace swin {

// Swin's value of the -inf-like mask: added as a number (exp(-100) is no 0 in float64).
constexpr double kMaskValue = -100.0;

// relative_position_index[i, j] of Swin: tokens (yi, xi) = (i / ws, i % ws), (yj, xj) alike;
// (yi - yj + ws - 1) (2 ws - 1) + (xi - xj + ws - 1), in [0, (2 ws - 1)^2).
SR_HD int relative_index(int i, int j, int ws) {
  return (i / ws - j / ws + ws - 1) * (2 * ws - 1) + (i % ws - j % ws + ws - 1);
}

// Swin's calculate_mask region of a coordinate of the rolled image: its slices
// (0, -ws), (-ws, -shift), (-shift, None) along an axis of size n are regions 0, 1, 2.
SR_HD int region_1d(int64_t c, int64_t n, int ws, int shift) {
  return c < n - ws ? 0 : (c < n - shift ? 1 : 2);
}

// The region label of token t of window w (of its image; windows row-major, (W / ws) a row).
SR_HD int region(int64_t w, int t, int64_t H, int64_t W, int ws, int shift) {
  const int64_t wpr = W / ws;
  const int64_t y = (w / wpr) * ws + t / ws, x = (w % wpr) * ws + t % ws;
  return 3 * region_1d(y, H, ws, shift) + region_1d(x, W, ws, shift);
}

}  // namespace swin

}  // namespace sr
