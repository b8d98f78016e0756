// The arithmetic precision of a convolution, chosen per network by the config's
// `precision` key and carried to the kernels in Conv2dShape / RdbShape (no process-wide
// switch). Tensors stay float32 either way: bf16 rounds the conv operands to bfloat16
// inside the kernel and accumulates in float32 (kernels/cpu/conv2d_bf16.h).
#pragma once
#include <cstdint>

namespace sr {

enum class Precision : uint8_t { fp32, bf16 };

inline const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

}  // namespace sr
