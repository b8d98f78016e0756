// conv2d_int8's AVX-VNNI path (see conv2d_int8.h): vpdpbusd on 256-bit registers (8 int32
// lanes), for CPUs with AVX-VNNI but no AVX512-VNNI. It reads the 16-wide packed weights as two
// 8-channel halves. Compiled for AVX-VNNI by the pragma below and nothing newer (CMakeLists.txt
// builds this file for the x86-64 baseline whatever -march says: 16 ymm registers, as on the
// CPUs it is for); conv2d_int8.cpp calls it only where the CPU has AVX-VNNI.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/conv2d_int8_paths.h"

#pragma GCC target("avxvnni,avx2,fma")

namespace sr::cpu::int8_paths {

namespace {

#include "kernels/cpu/conv2d_int8_tiles256.h"

// PX pixels x 16 output channels: acc[p][h] += for every tap and group of 4 input channels,
// the 4 input bytes of pixel p (broadcast) dotted with the 4 weight bytes of each of the 8
// channels of half h. 12 accumulators + 2 weight rows + 1 broadcast of the 16 registers at PX = 6.
struct TileVnni {
  template <int PX>
  inline void run(const uint8_t* src, int64_t row_bytes, const QuantActivation& x, const QuantConvWeights& w,
                  int64_t kb, __m256i (&acc)[PX][2]) const {
    const int64_t Cp = x.Cp, CG = Cp / 4, KBtot = w.Kp / 16;
    const int8_t* wt = w.packed.data() + kb * 64;
    for (int p = 0; p < PX; ++p) acc[p][0] = acc[p][1] = _mm256_setzero_si256();
    for (int64_t r = 0; r < w.R; ++r)
      for (int64_t s = 0; s < w.S; ++s) {
        const uint8_t* in = src + r * row_bytes + s * Cp;
        const int8_t* wrs = wt + (r * w.S + s) * CG * KBtot * 64;
        for (int64_t cg = 0; cg < CG; ++cg) {
          const __m256i w0 = _mm256_loadu_si256((const __m256i*)(wrs + cg * KBtot * 64));
          const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wrs + cg * KBtot * 64 + 32));
          for (int p = 0; p < PX; ++p) {
            int32_t four;
            std::memcpy(&four, in + p * Cp + cg * 4, 4);
            const __m256i a = _mm256_set1_epi32(four);
            acc[p][0] = _mm256_dpbusd_avx_epi32(acc[p][0], a, w0);
            acc[p][1] = _mm256_dpbusd_avx_epi32(acc[p][1], a, w1);
          }
        }
      }
  }
};

}  // namespace

void forward_avx_vnni(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e,
                      const Int8ConvOutput& out) {
  forward_tiles256<TileVnni, 6>(TileVnni{}, x, w, e, out);
}

}  // namespace sr::cpu::int8_paths
