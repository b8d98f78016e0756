// ECBSR's edge-oriented convolution block (ECB) folded into one 3x3 convolution: the ops
// ecb_weight and ecb_bias. The math, and the paper, are in kernels/common/ecb_reparameterize.h.
// A training ECB runs conv2d(x, ecb_weight(b, with_idt), ecb_bias(b), stride 1, padding 1):
// the same function of x and of the branch parameters as BasicSR's five branches (their sum
// with the border padded by each 1x1 convolution's bias), one convolution instead of five, and
// the gradients reach every branch parameter through these two ops.
#pragma once
#include "engine/tensor.h"
#include "kernels/common/ecb_reparameterize.h"

namespace sr {

// The tensors of an ECB with BasicSR's shapes (O out, I in, M = conv1x1-conv3x3's width).
struct EcbEdgeTensors {
  Tensor k0;     // (O, I, 1, 1)
  Tensor b0;     // (O)
  Tensor scale;  // (O, 1, 1, 1)
  Tensor bias;   // (O)
  Tensor mask;   // (O, 1, 3, 3): the fixed Sobel / Laplacian taps (a constant: never differentiated)
};
struct EcbTensors {
  Tensor conv3x3_weight;  // (O, I, 3, 3)
  Tensor conv3x3_bias;    // (O)
  Tensor k0;              // (M, I, 1, 1)  conv1x1-conv3x3's 1x1
  Tensor b0;              // (M)
  Tensor k1;              // (O, M, 3, 3)  and its 3x3
  Tensor b1;              // (O)
  EcbEdgeTensors edges[kEcbEdges];  // conv1x1-sobelx, conv1x1-sobely, conv1x1-laplacian
};

// K (O, I, 3, 3); `identity` (with_idt, needs O == I) adds x itself as a centre tap of 1.
Tensor ecb_weight(const EcbTensors& b, bool identity);
// B (O).
Tensor ecb_bias(const EcbTensors& b);

}  // namespace sr
