// residual_dense_block: ESRGAN's residual dense block as one autograd node with a fused
// forward and backward (kernels/cpu/rdb.h, kernels/cuda/rdb.h), optionally finishing the
// RRDB around it. It computes exactly what layers/rrdb.cpp's unfused composition does:
//   x_k   = leaky_relu(conv_k(cat(x, x_1, .., x_{k-1})) + b_k, slope)   k = 1..4
//   inner = x + residual * (conv5(cat(x, x_1, .., x_4)) + b5)
//   y     = inner, or outer + outer_scale * inner when `outer` is defined
// (3x3 convs, padding 1), but keeps one (N, nf + 4 gc, H, W) buffer instead of four
// concatenation copies, and saves only that buffer for backward.
#pragma once
#include <array>

#include "engine/tensor.h"
#include "kernels/common/precision.h"
#include "kernels/kernel_choice.h"

namespace sr {

// w[k]: (gc, nf + k gc, 3, 3) for k < 4 and (nf, nf + 4 gc, 3, 3) for k = 4; b[k] the
// matching biases (each may be undefined).
struct RdbParams {
  std::array<Tensor, 5> w, b;
};

// On CUDA the convolutions run `choice`'s conv2d variant, forward and backward.
Tensor residual_dense_block(const Tensor& x, const RdbParams& p, double slope = 0.2,
                            double residual = 0.2, const Tensor& outer = Tensor(),
                            double outer_scale = 0.2, const kernels::KernelChoice& choice = {},
                            Precision precision = Precision::device_default);

}  // namespace sr
