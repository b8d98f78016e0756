// Philox 4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11):
// a counter-based generator, so element i of a tensor gets the same random numbers on
// the CPU and on CUDA whatever the thread or block layout. Host and device code.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SR_PHILOX_HD __host__ __device__ __forceinline__
#else
#define SR_PHILOX_HD inline
#endif

namespace sr::philox {

struct U32x4 {
  uint32_t v[4];
};

SR_PHILOX_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t& hi) {
  const uint64_t p = (uint64_t)a * (uint64_t)b;
  hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

// Ten rounds of the Philox-4x32 bijection of `ctr` under `key` (constants from the paper).
SR_PHILOX_HD U32x4 philox4x32_10(U32x4 ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo(kM0, ctr.v[0], hi0);
    const uint32_t lo1 = mulhilo(kM1, ctr.v[2], hi1);
    U32x4 next;
    next.v[0] = hi1 ^ ctr.v[1] ^ k0;
    next.v[1] = lo1;
    next.v[2] = hi0 ^ ctr.v[3] ^ k1;
    next.v[3] = lo0;
    ctr = next;
    k0 += kW0;
    k1 += kW1;
  }
  return ctr;
}

// The four 32-bit outputs for element `index` of stream `stream` under `seed`.
SR_PHILOX_HD U32x4 draw(uint64_t seed, uint64_t stream, uint64_t index) {
  U32x4 ctr{{(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)}};
  return philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// Uniform in (0, 1]: 24 random bits, never 0 (so log() is safe).
SR_PHILOX_HD double to_unit(uint32_t x) { return ((x >> 8) + 1) * (1.0 / 16777216.0); }

// Element value of the uniform [lo, hi) and normal (mean, std) fills; Box-Muller on the
// first two outputs. Computed in double so CPU and CUDA agree bit for bit after rounding.
SR_PHILOX_HD double uniform_at(uint64_t seed, uint64_t stream, uint64_t index, double lo, double hi) {
  const U32x4 r = draw(seed, stream, index);
  return lo + (hi - lo) * (1.0 - to_unit(r.v[0]));
}
SR_PHILOX_HD double normal_at(uint64_t seed, uint64_t stream, uint64_t index, double mean, double std) {
  const U32x4 r = draw(seed, stream, index);
  const double u1 = to_unit(r.v[0]), u2 = to_unit(r.v[1]);
  return mean + std * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

}  // namespace sr::philox
