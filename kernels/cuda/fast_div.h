// FastDiv: division of non-negative 32-bit integers by a run-time constant with one
// multiply-high, one add and one shift, for the index arithmetic of the CUDA kernels
// (n -> (image, row, column), k -> (channel, tap row, tap column)). Plain C++ with
// host/device functions, so the CPU tests check it exhaustively.
//
// The math (Granlund & Montgomery, "round-up" method): for a divisor d >= 1 let
// l = ceil(log2 d) and mul = floor(2^32 * (2^l - d) / d) + 1 (< 2^32). Then for every
// n < 2^31:  n / d = (umulhi(n, mul) + n) >> l, where umulhi is the high 32 bits of the
// 64-bit product. The sum cannot overflow because umulhi(n, mul) < n < 2^31.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr::cuda {

struct FastDiv {
  uint32_t d = 1, mul = 1, shift = 0;

  FastDiv() = default;
  explicit FastDiv(uint32_t divisor) : d(divisor == 0 ? 1 : divisor) {
    uint32_t l = 0;
    while ((uint64_t{1} << l) < d) ++l;
    shift = l;
    mul = (uint32_t)(((uint64_t{1} << 32) * ((uint64_t{1} << l) - d)) / d + 1);
  }

  SR_HD uint32_t div(uint32_t n) const {
#if defined(SR_DEVICE_CODE)
    return (__umulhi(n, mul) + n) >> shift;
#else
    return ((uint32_t)(((uint64_t)n * mul) >> 32) + n) >> shift;
#endif
  }
  // q = n / d, r = n % d
  SR_HD void divmod(uint32_t n, uint32_t& q, uint32_t& r) const {
    q = div(n);
    r = n - q * d;
  }
};

}  // namespace sr::cuda
