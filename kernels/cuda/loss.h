// Sums and pointwise losses on CUDA: the twins of kernels/cpu/loss.h. The reduction is
// deterministic and has the CPU's shape: blocks of math::kLossBlock elements summed in
// double, then the block sums added in a fixed order.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr::cuda {

// *out = (float)(scale * sum_i point_loss(kind, x[i], t[i], param)) (t may be null), one
// float in device memory: the loss stays on the device (the trainer reads it back only when
// it logs), with the value the CPU op gets from the same double sum.
void loss_sum(math::PointLoss kind, const float* x, const float* t, int64_t n, double param,
              double scale, float* out);

// dx[i] = s * point_loss_grad(kind, x[i], t[i], param) with s = (float)(*g * scale), the
// upstream gradient *g read on the device; dt[i] = -dx[i] when dt is non-null.
void loss_backward(math::PointLoss kind, const float* x, const float* t, float* dx, float* dt,
                   int64_t n, double param, const float* g, double scale);

}  // namespace sr::cuda
