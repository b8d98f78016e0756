// prelu: the parametric ReLU of nn.PReLU (Real-ESRGAN's SRVGGNetCompact activation),
// differentiable in the input and the slopes.
#pragma once
#include "engine/tensor.h"

namespace sr {

// y = x where x > 0, else weight[c] * x, for NCHW x and weight of length C or 1.
Tensor prelu(const Tensor& x, const Tensor& weight);

}  // namespace sr
