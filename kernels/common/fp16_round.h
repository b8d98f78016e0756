// Scalar float32 -> IEEE binary16 (fp16) and -> TF32 rounding: the portable, readable twins of
// the F16C conversion (vcvtps2ph, kernels/cpu/conv2d_rounded.cpp) and of PTX cvt.rn.f16x2.f32 /
// cvt.rna.tf32.f32 (kernels/cuda/ptx.h). Used by the CPU fp16/tf32 convolutions where F16C is
// missing, by their references and by the tests.
//
// fp16: 1 sign, 5 exponent (bias 15), 10 fraction bits. Round to nearest, ties to even; a
// magnitude that rounds to 2^16 or more (>= 65520) becomes infinity; below 2^-14 the
// result is subnormal (steps of 2^-24), and below 2^-25 (half the smallest subnormal) it
// rounds to signed zero (exactly 2^-25 is a tie and goes to the even zero). NaN stays a
// quiet NaN.
// tf32: float32 with the low 13 fraction bits cleared after adding half an ulp (ties away
// from zero); infinities and NaN unchanged; float32 subnormals are rounded like normals.
#pragma once
#include <cstdint>
#include <cstring>

namespace sr {

inline uint16_t fp16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));  // NaN, quieted
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);  // >= 65520 (or inf): infinity
  if (a < 0x38800000u) {  // below 2^-14: subnormal fp16 (or zero)
    if (a < 0x33000000u) return sign;  // < 2^-25 rounds to zero; 2^-25 itself is handled below
    // value = m * 2^(e-150) with m the 24-bit significand; the result counts units of 2^-24:
    // q = m * 2^(e-126), shift = 126 - e in [14, 24] for e in [102, 112].
    const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;
    const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    const uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
    return (uint16_t)(sign | r);  // r == 0x400 carries into the smallest normal: still right
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even;
  // a carry out of the fraction bumps the exponent, which is the right result.
  const uint32_t r = a - 0x38000000u;  // exponent - 112
  const uint32_t q = r >> 13, rem = r & 0x1fffu;
  const uint32_t out = q + ((rem > 0x1000u || (rem == 0x1000u && (q & 1u))) ? 1u : 0u);
  return (uint16_t)(sign | out);
}

inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t u;
  if (e == 0x1f) {
    u = sign | 0x7f800000u | (m << 13);
  } else if (e == 0) {
    // Subnormal or zero: m * 2^-24, exact in float32.
    float f = (float)m * 5.9604644775390625e-08f;
    std::memcpy(&u, &f, 4);
    u |= sign;
  } else {
    u = sign | ((e + 112) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// f rounded to fp16 and widened back: the value an fp16 kernel multiplies.
inline float round_to_fp16(float f) { return fp16_to_float(fp16_bits(f)); }

// f rounded to TF32 as cvt.rna.tf32.f32 (the same rule as kernels/cuda/igemm.h's round_tf32).
inline float round_to_tf32(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace sr
