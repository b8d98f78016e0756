// The fused residual dense block (ESRGAN's RDB) on the CPU: forward and backward over one
// preallocated activation buffer instead of four concatenation copies. The CUDA twin is
// kernels/cuda/rdb.h (same names and arguments); engine/ops_rdb.cpp is the autograd node.
//
// The buffer `buf` is (N, nf + 4 gc, H, W):
//   channels [0, nf)                 x
//   channels [nf + k gc, nf + (k+1) gc)  x_{k+1} = leaky_relu(conv_{k+1}(buf[:, :nf + k gc]) + b_{k+1})
// conv_{k+1} reads the channel prefix in place (a channel-range view, Conv2dShape's
// x_batch_stride) and writes its gc channels straight into the next slice (y_batch_stride),
// so no torch.cat ever runs. Then, with z = conv5(buf) + b5 (nf channels),
//   inner = x + residual * z                       (the block's `x + 0.2 * x5`)
//   y     = inner                   without an outer residual,
//   y     = outer + outer_scale * inner  with one   (the RRDB's `x + 0.2 * rdb3(...)`).
// All convs are 3x3, stride 1, padding 1 (BasicSR's RDB).
#pragma once
#include <cstdint>

#include "kernels/common/rdb_shape.h"

namespace sr::cpu {

// Fills buf (N, nf + 4 gc, H, W) and writes y (N, nf, H, W). outer may be null (then
// outer_scale is unused). x, outer and y are contiguous.
template <typename T>
void rdb_forward(const RdbShape& s, const T* x, const RdbWeights<T>& p, const T* outer, T slope,
                 T residual, T outer_scale, T* buf, T* y);

// From the saved buffer and dy = dL/dy: dx = dL/dx (overwritten; may be null), and
// dw[k] += dL/dw_k, db[k] += dL/db_k (each may be null). has_outer says whether the forward
// had an outer residual (its gradient is dy itself: the op returns that). LeakyReLU's
// derivative comes from the saved output's sign (slope > 0, so y > 0 iff its input > 0).
template <typename T>
void rdb_backward(const RdbShape& s, const T* buf, const RdbWeights<T>& p, const T* dy, T slope,
                  T residual, bool has_outer, T outer_scale, T* dx, T* const dw[5], T* const db[5]);

}  // namespace sr::cpu
