// The shape and parameters of the fused residual dense block, shared by the CPU kernels
// (kernels/cpu/rdb.h, where the buffer layout and the math are described) and the CUDA ones
// (kernels/cuda/rdb.h).
#pragma once
#include <cstdint>

#include "kernels/common/precision.h"

namespace sr {

struct RdbShape {
  int64_t N, nf, gc, H, W;
  Precision precision = Precision::fp32;  // of the five convs (Conv2dShape::precision)
  int64_t channels() const { return nf + 4 * gc; }  // of the buffer
};

// The ten parameter arrays, weights and biases (engine/ops_rdb.h's RdbParams holds them as
// tensors): w[k] (gc, nf + k gc, 3, 3) for k < 4, w[4] (nf, nf + 4 gc, 3, 3); b[k] of length
// out-channels, or null.
template <typename T>
struct RdbWeights {
  const T* w[5];
  const T* b[5];
};

}  // namespace sr
