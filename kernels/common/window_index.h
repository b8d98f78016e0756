// The token permutation of Swin's shifted windows (engine/ops_transformer.h: window_partition,
// window_merge), one definition for the CPU kernels (kernels/cpu/window_partition.h) and the
// CUDA kernels (kernels/cuda/window_partition.h).
//
// x (B, H*W, C) is viewed as (B, H, W, C). Swin rolls it by (-s, -s) over (H, W) and cuts the
// result into ws x ws windows:
//   torch.roll(x, (-s, -s), (1, 2)): torch.roll by k gives out[i] = in[(i - k) mod n], so with
//     k = -s: rolled[b, y, x] = x[b, (y + s) mod H, (x + s) mod W];
//   window_partition: rolled.view(B, H/ws, ws, W/ws, ws, C).permute(0, 1, 3, 2, 4, 5)
//     .reshape(B * nW, ws*ws, C), nW = (H/ws) (W/ws): window wy, wx of image b is window
//     b nW + wy (W/ws) + wx, and its token ty, tx is rolled[b, wy ws + ty, wx ws + tx].
// So output row (token of a window, each a row of C channels)
//   o = (b nW + wy (W/ws) + wx) ws^2 + ty ws + tx
// holds input token
//   t = b H W + ((wy ws + ty + s) mod H) W + ((wx ws + tx + s) mod W)        (token_of_row)
// (checked against that definition: the two steps above compose to this). The inverse, for
// window_merge (window_reverse then torch.roll by (+s, +s)) and for the backward of
// window_partition: token t = b H W + y W + x sits in row o with
//   wy ws + ty = (y - s) mod H,  wx ws + tx = (x - s) mod W                   (row_of_token)
// Both are bijections of [0, B H W); 0 <= s < ws <= H, W, so (y + s) mod H and (y - s) mod H
// need one conditional subtraction or addition of H, never a division.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr::math {

struct WindowGrid {
  int64_t H = 0, W = 0;  // image height and width in tokens, multiples of ws
  int64_t ws = 1;        // window side
  int64_t shift = 0;     // 0 <= shift < ws

  // The input token that window row o holds (window_partition's gather).
  SR_HD int64_t token_of_row(int64_t o) const {
    const int64_t n = ws * ws, nwx = W / ws, nw = (H / ws) * nwx;
    const int64_t win = o / n, tok = o - win * n;
    const int64_t b = win / nw, w = win - b * nw;
    const int64_t wy = w / nwx, wx = w - wy * nwx, ty = tok / ws, tx = tok - ty * ws;
    int64_t y = wy * ws + ty + shift, x = wx * ws + tx + shift;
    if (y >= H) y -= H;
    if (x >= W) x -= W;
    return (b * H + y) * W + x;
  }

  // The window row that holds input token t (window_merge's gather).
  SR_HD int64_t row_of_token(int64_t t) const {
    const int64_t nwx = W / ws, nw = (H / ws) * nwx;
    const int64_t b = t / (H * W), r = t - b * (H * W);
    const int64_t y0 = r / W, x0 = r - y0 * W;
    int64_t y = y0 - shift, x = x0 - shift;  // the rolled position
    if (y < 0) y += H;
    if (x < 0) x += W;
    const int64_t wy = y / ws, ty = y - wy * ws, wx = x / ws, tx = x - wx * ws;
    return ((b * nw + wy * nwx + wx) * ws + ty) * ws + tx;
  }
};

}  // namespace sr::math
