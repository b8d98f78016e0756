// The edge-oriented convolution block's branches folded into one 3x3 convolution, on the CPU:
// the ops ecb_weight and ecb_bias (engine/ops_ecb.h), forward and backward. The formulas, and
// the order of every sum, are kernels/common/ecb_reparameterize.h's, shared with the CUDA
// kernels (kernels/cuda/ecb_reparameterize.h): each output element is one double sum, so the
// float32 results of the two devices agree to one rounding and do not depend on the threads.
#pragma once
#include <cstdint>

#include "kernels/common/ecb_reparameterize.h"

namespace sr::cpu {

// K (O, I, 3, 3) and B (O) of the branches p.
template <typename T>
void ecb_weight_forward(const EcbBranches<T>& p, const EcbShape& s, T* K);
template <typename T>
void ecb_bias_forward(const EcbBranches<T>& p, const EcbShape& s, T* B);

// The gradients of the branch tensors the weight (bias) side reads, from gK (gB). Null
// gradients are skipped; the others are overwritten.
template <typename T>
void ecb_weight_backward(const EcbBranches<T>& p, const EcbShape& s, const T* gK, const EcbGrads<T>& g);
template <typename T>
void ecb_bias_backward(const EcbBranches<T>& p, const EcbShape& s, const T* gB, const EcbGrads<T>& g);

}  // namespace sr::cpu
