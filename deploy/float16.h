// float -> IEEE half with round-to-nearest-even, the rounding PyTorch's .half() and ONNX's
// float16 converters use; the inverse is engine/half_float.h. Used for fp16 ONNX exports
// (deploy/onnx_graph.cpp). Dependency-free so a test can check it against every half.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace sr::deploy {

inline uint16_t float_to_half(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0u);  // inf, quiet nan
  if (mag >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past 65504: inf
  if (mag < 0x38800000u) {
    // Below 2^-14 the half is subnormal: its integer mantissa is |f| * 2^24, rounded. The
    // scaling is exact (a power of two) and nearbyint rounds half to even by default.
    const float scaled = std::bit_cast<float>(mag) * 16777216.0f;
    return sign | uint16_t(std::nearbyint(scaled));  // 1024 carries into the exponent: still right
  }
  // Normal: rebias the exponent (127 -> 15) and drop 13 mantissa bits, rounding half to even;
  // a carry out of the mantissa correctly bumps the exponent.
  uint32_t h = (mag - 0x38000000u) >> 13;
  const uint32_t rest = mag & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return sign | uint16_t(h);
}

}  // namespace sr::deploy
