// Scalar float32 -> bfloat16 rounding as the AVX512-BF16 conversions (vcvtne2ps2bf16,
// vcvtneps2bf16) do it: round to nearest, ties to even; denormal inputs and results
// flushed to signed zero; NaN stays a (quiet) NaN. The readable twin of the vector
// conversion in kernels/cpu/conv2d_bf16.cpp, used by its reference and tests.
#pragma once
#include <cstdint>
#include <cstring>

namespace sr {

// The upper 16 bits of the float32 nearest to f with an 8-bit significand.
inline uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x0040u);
  if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);  // zero or denormal
  u += 0x7fffu + ((u >> 16) & 1u);  // ties to even: the kept LSB decides a halfway case
  return (uint16_t)(u >> 16);
}

inline float bf16_to_float(uint16_t b) {
  const uint32_t u = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// f rounded to bfloat16 and widened back: the value a bf16 kernel multiplies.
inline float round_to_bf16(float f) { return bf16_to_float(bf16_bits(f)); }

}  // namespace sr
