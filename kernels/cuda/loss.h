// Sums and pointwise losses on CUDA: the twins of kernels/cpu/loss.h. The reduction is
// deterministic and has the CPU's shape: blocks of cpu::kLossBlock elements summed in
// double, then the block sums added in a fixed order.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr::cuda {

// sum_i point_loss(kind, x[i], t[i], param) (t may be null). Returns to the host, so it
// synchronises the stream (as the CPU twin, the op needs the value).
double loss_sum(math::PointLoss kind, const float* x, const float* t, int64_t n, double param);

// dx[i] = scale * point_loss_grad(kind, x[i], t[i], param); dt[i] = -dx[i] when dt is non-null.
void loss_backward(math::PointLoss kind, const float* x, const float* t, float* dx, float* dt,
                   int64_t n, double param, double scale);

}  // namespace sr::cuda
