// The edge-oriented convolution block's branches folded into one 3x3 convolution, on CUDA: the
// twin of kernels/cpu/ecb_reparameterize.h (the same per-element double sums, from
// kernels/common/ecb_reparameterize.h). The branch pointers are device pointers.
#pragma once
#include <cstdint>

#include "kernels/common/ecb_reparameterize.h"

namespace sr::cuda {

void ecb_weight_forward(const EcbBranches<float>& p, const EcbShape& s, float* K);
void ecb_bias_forward(const EcbBranches<float>& p, const EcbShape& s, float* B);
// Null gradients are skipped; the others are overwritten.
void ecb_weight_backward(const EcbBranches<float>& p, const EcbShape& s, const float* gK,
                         const EcbGrads<float>& g);
void ecb_bias_backward(const EcbBranches<float>& p, const EcbShape& s, const float* gB,
                       const EcbGrads<float>& g);

}  // namespace sr::cuda
