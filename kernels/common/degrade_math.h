// Per-element math of the Real-ESRGAN degradation, shared by the CPU reference
// (data/degrade/) and the CUDA kernels (kernels/cuda/degrade_*.cu): one definition of each
// random draw, index rule and weight, compiled for both, so the two cannot drift apart.
#pragma once
#include <cstdint>

#include "engine/philox.h"
#include "kernels/common/math.h"

namespace sr::degrade_math {

// JPEG's quantisation tables at quality 50, ITU-T T.81 Annex K, as printed (rows = vertical
// frequency); the chroma table is 99 outside its top-left 4 x 4. Host-side constants: both
// devices scale them per quality on the host.
constexpr double kJpegLuma[8][8] = {
    {16, 11, 10, 16, 24, 40, 51, 61},     {12, 12, 14, 19, 26, 58, 60, 55},
    {14, 13, 16, 24, 40, 57, 69, 56},     {14, 17, 22, 29, 51, 87, 80, 62},
    {18, 22, 37, 56, 68, 109, 103, 77},   {24, 35, 55, 64, 81, 104, 113, 92},
    {49, 64, 78, 87, 103, 121, 120, 101}, {72, 92, 95, 98, 112, 100, 103, 99}};
constexpr double kJpegChromaTopLeft[4][4] = {{17, 18, 24, 47}, {18, 21, 26, 66}, {24, 26, 56, 99}, {47, 66, 99, 99}};
inline double jpeg_chroma_table(int r, int c) { return r < 4 && c < 4 ? kJpegChromaTopLeft[r][c] : 99.0; }

// reflect-101 index of i into [0, n) (mirror without repeating the edge), for |overhang| < n.
SR_HD int reflect101(int i, int n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

// The pipeline's clamps: v into [0, 1]; and the last step, clamp(round(255 v), 0, 255) / 255
// with round half to even (PyTorch's round). One multiply and one division, nothing to
// fuse, so host and device give the same float.
SR_HD float clamp01_value(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }
SR_HD float quantize_u8_value(float v) {
  const float s = rintf(v * 255.0f);
  return (s < 0.0f ? 0.0f : (s > 255.0f ? 255.0f : s)) / 255.0f;
}

// Uniform double in [0, 1) with 53 random bits: 27 from the first Philox output, 26 from
// the second. Draw `index` of the stream (seed, stream) of data/degrade/random_stream.h.
SR_HD double unit53_at(uint64_t seed, uint64_t stream, uint64_t index) {
  const philox::U32x4 r = philox::draw(seed, stream, index);
  const uint64_t bits = ((uint64_t)(r.v[0] >> 5) << 26) | (uint64_t)(r.v[1] >> 6);
  return (double)bits * (1.0 / 9007199254740992.0);  // / 2^53
}

// The Poisson noise's 8-bit level of a value: clamp(round(255 v), 0, 255), round half to
// even (PyTorch's round). The product is not fused with anything, on either device.
SR_HD int poisson_level(float v) {
  const float s = rintf(v * 255.0f);
  return (int)(s < 0.0f ? 0.0f : (s > 255.0f ? 255.0f : s));
}

// Gray value of the Poisson gray branch: 0.2989 R + 0.587 G + 0.114 B in float, each
// product rounded before the sums (nvcc would otherwise fuse them into FMAs, and so would
// GCC under -march=native, whose default -ffp-contract=fast fuses a * b + c; one ulp can
// move a value across a level boundary). The host branch stores the products through
// volatile floats, which no contraction can see through.
SR_HD float poisson_gray(float r, float g, float b) {
#if defined(SR_DEVICE_CODE)
  return __fadd_rn(__fadd_rn(__fmul_rn(0.2989f, r), __fmul_rn(0.587f, g)), __fmul_rn(0.114f, b));
#else
  volatile float pr = 0.2989f * r, pg = 0.587f * g, pb = 0.114f * b;
  return (pr + pg) + pb;
#endif
}

// Poisson(lambda) by inversion of the CDF: P = the smallest k whose CDF exceeds a uniform
// u in [0, 1). poisson_cdf writes the CDF as the sums pmf(0) = exp(-lambda),
// pmf(k) = pmf(k-1) lambda / k, accumulated in order, and stops (k is then the last entry)
// once k > lambda and the pmf is negligible or the sum reached 1. For the noise's
// lambda = V level / 255 <= 256 that is at most 408 entries (k = 407 at lambda 256), so
// kPoissonCdfCapacity bounds every table; the walk never reaches it.
constexpr int kPoissonCdfCapacity = 416;

SR_HD int poisson_cdf(double lambda, double* cdf) {
  double pmf = exp(-lambda), acc = 0;
  for (int k = 0; k < kPoissonCdfCapacity; ++k) {
    if (k > 0) pmf *= lambda / k;
    acc += pmf;
    cdf[k] = acc;
    if (k > lambda && (pmf < 1e-18 || acc >= 1.0)) return k + 1;
  }
  return kPoissonCdfCapacity;  // lambda > 256: not a value the noise asks for
}

// The draw for u from a table of n entries: the first k with cdf[k] > u, or the last entry
// (u beyond the summed CDF, which rounding can leave just below 1).
SR_HD int poisson_search(const double* cdf, int n, double u) {
  int lo = 0, hi = n;  // upper bound in [lo, hi)
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (cdf[mid] > u)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo < n ? lo : n - 1;
}

// Keys' cubic convolution weight with A = -0.75 (PyTorch's bicubic).
SR_HD double cubic_weight_a075(double z) {
  constexpr double A = -0.75;
  z = z < 0 ? -z : z;
  if (z <= 1) return ((A + 2) * z - (A + 3)) * z * z + 1;
  if (z < 2) return ((A * z - 5 * A) * z + 8 * A) * z - 4 * A;
  return 0;
}

}  // namespace sr::degrade_math
