// The ops of Swin-style transformer blocks (SwinIR's residual Swin transformer blocks): token
// layout, layer norm, GELU, shifted windows and window attention, and the reflect padding that
// brings an image to a multiple of the window. Token tensors are (B, L, C): L = H * W tokens of
// an image, row-major, channels last. Each op checks its arguments (sr::Error naming the op and
// the bad shape or value) and records its backward as the ops of engine/ops.h do.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace sr {

// torch.transpose(x, 1, 2) of a 3-d x (B, M, N) -> (B, N, M), a copy: with reshape it turns an
// image (B, C, H, W) into tokens (B, H*W, C) (SwinIR's PatchEmbed, x.flatten(2).transpose(1, 2))
// and back (PatchUnEmbed). dim0, dim1 must be 1 and 2 (in either order).
Tensor transpose(const Tensor& x, int dim0, int dim1);

// F.layer_norm over the last dim of size C: y = (x - mean) / sqrt(var + eps) * weight + bias,
// mean and biased var over the row. weight and bias of shape (C), each may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

// F.gelu, the exact form: x * (1 + erf(x / sqrt(2))) / 2.
Tensor gelu(const Tensor& x);

// Swin's shifted windows: x (B, H*W, C), viewed as (B, H, W, C), torch.roll by (-shift, -shift)
// over (H, W), then cut into ws x ws windows -> (B * (H/ws) * (W/ws), ws*ws, C); the windows of
// an image row-major, the tokens of a window row-major (Swin's window_partition). H and W
// multiples of ws, 0 <= shift < ws. Output row (b nW + wy (W/ws) + wx) ws^2 + ty ws + tx holds
// input token b H W + ((wy ws + ty + shift) mod H) W + ((wx ws + tx + shift) mod W)
// (kernels/common/window_index.h); sr::Error names the op and the bad value otherwise.
Tensor window_partition(const Tensor& x, int64_t H, int64_t W, int window_size, int shift);
// The inverse: windows (B * nW, ws*ws, C) back to (B, H*W, C), rolled by (+shift, +shift)
// (Swin's window_reverse and the roll back).
Tensor window_merge(const Tensor& windows, int64_t H, int64_t W, int window_size, int shift);

// Swin's window multi-head self-attention, from qkv to the heads' concatenated outputs:
//   qkv (B_, N, 3C) = [q | k | v], each C = num_heads * d columns, head h at columns h*d..h*d+d-1
//   (nn.Linear's output reshaped (B_, N, 3, nh, d)); N = ws*ws; window b of B_ = B * nW is window
//   b % nW of its image, nW = (H/ws) (W/ws).
//   S[b,h,i,j] = (scale q_bhi) . k_bhj + table[index(i, j), h] + mask(b % nW, i, j)
//   out[b, i, h*d + e] = sum_j softmax_j(S[b,h,i,:])[j] v[b, j, h*d + e]       -> (B_, N, C)
// index(i, j) = (yi - yj + ws - 1) (2 ws - 1) + (xi - xj + ws - 1) for tokens (yi, xi), (yj, xj)
// of the window (Swin's relative_position_index); table ((2ws-1)^2, nh) is the learnt
// relative_position_bias_table. mask: 0 without a shift; with one, -100 where tokens i and j
// came from different regions of the rolled image (Swin's calculate_mask: rows split at H - ws
// and H - shift, columns at W - ws and W - shift), else 0. Differentiable in qkv and table.
Tensor window_attention(const Tensor& qkv, const Tensor& relative_position_bias_table, int num_heads, int64_t H,
                        int64_t W, int window_size, int shift, double scale);

// HAT's overlapping cross-attention (OCAB's attention, after its qkv linear), from qkv to the
// heads' concatenated outputs, in image token order:
//   qkv (B, H*W, 3C) of an H x W token image, row-major tokens, [q | k | v] with head h at
//   columns h*d..h*d+d-1 of each; H, W multiples of ws.
//   Queries: the ws x ws windows (stride ws). Keys / values: the wse x wse window around each
//   (nn.Unfold(kernel wse, stride ws, padding (wse - ws) / 2) of k and v; zero vectors outside
//   the image, which still take part in the softmax through their bias). wse - ws even, >= 0;
//   HAT's wse = ws + int(ws * overlap_ratio).
//   S[i, j] = (scale q_i) . k_j + table[overlap_relative_index(i, j), h], P = softmax_j(S),
//   out[token of q_i, h*d + e] = sum_j P[i, j] v_j[e]                         -> (B, H*W, C)
// table ((ws + wse - 1)^2, nh) is the learnt relative_position_bias_table; the index is HAT's
// calculate_rpi_oca with its negative values wrapped as PyTorch's indexing wraps them
// (kernels/common/overlap_window_attention.h). Differentiable in qkv and table.
Tensor overlap_window_attention(const Tensor& qkv, const Tensor& relative_position_bias_table, int num_heads,
                                int64_t H, int64_t W, int window_size, int overlap_window_size, double scale);

// F.pad(x, (0, right, 0, bottom), mode='reflect') for x (N, C, H, W): mirrors the last rows and
// columns without repeating the edge; 0 <= bottom < H, 0 <= right < W.
Tensor pad_reflect(const Tensor& x, int bottom, int right);
// x[:, :, :height, :width] for x (N, C, H, W), a copy.
Tensor crop(const Tensor& x, int64_t height, int64_t width);

}  // namespace sr
