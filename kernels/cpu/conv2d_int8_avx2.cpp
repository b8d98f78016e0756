// conv2d_int8's AVX2 path (see conv2d_int8.h), for CPUs without VNNI: vpmaddwd on int16 pairs.
// Compiled for AVX2 + FMA by the pragma below and nothing newer (CMakeLists.txt builds this file
// for the x86-64 baseline whatever -march says), so it is the code an AVX2-only CPU runs: 16 ymm
// registers, no vpdpwssd fused from vpmaddwd + vpaddd. conv2d_int8.cpp calls it only where the
// CPU has AVX2.
//
// Why not vpmaddubsw (u8 x s8 pairs summed into int16)? Its pair sum saturates: 255 * 127 * 2 =
// 64770 > 32767, so a plain maddubs would not be exact, and splitting the weights so that it
// cannot saturate costs two maddubs plus two widening vpmaddwd per step. Instead both operands
// are int16: the weights kept widened (QuantConvWeights::pairs) and the input rows widened into
// a per-thread uint16 copy of the same layout (values 0..255, so as int16 they are unchanged), so
// that vpmaddwd computes a0 * w0 + a1 * w1 per int32 lane with both products exact
// (|a * w| <= 255 * 127 = 32385, their sum <= 64770 < 2^31), and the int32 accumulation is the
// same exact sum as every other path (bounded by pack's C*R*S check). One step (4 input
// channels x 8 output channels) is two vpmaddwd and two vpaddd, against two broadcast pairs
// loaded straight from the widened copy.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv2d_int8_paths.h"

#pragma GCC target("avx2,fma")

namespace sr::cpu::int8_paths {

namespace {

#include "kernels/cpu/conv2d_int8_tiles256.h"

// PX pixels x 16 output channels. Per group of 4 input channels: the pixel's (a0, a1) and
// (a2, a3) int16 pairs broadcast to every lane, multiplied with the pair rows (w[k][c0], w[k][c1])
// and (w[k][c2], w[k][c3]) of each 8-channel half. 8 accumulators + 4 weight rows + 2
// broadcasts of the 16 registers at PX = 4.
struct TileMaddwd {
  const uint8_t* base;    // the first input row the tile's output row reads
  const uint16_t* wide;   // its R rows widened, element for element

  template <int PX>
  inline void run(const uint8_t* src, int64_t row_bytes, const QuantActivation& x, const QuantConvWeights& w,
                  int64_t kb, __m256i (&acc)[PX][2]) const {
    const int64_t Cp = x.Cp, CG = Cp / 4, KB8 = w.Kp / 8;
    const uint16_t* src16 = wide + (src - base);
    // pairs: [r][s][cg][k / 8][2][8][2] int16, so block kb's two halves are 4 rows of 16.
    const int16_t* wt = w.pairs.data() + kb * 2 * 32;
    for (int p = 0; p < PX; ++p) acc[p][0] = acc[p][1] = _mm256_setzero_si256();
    for (int64_t r = 0; r < w.R; ++r)
      for (int64_t s = 0; s < w.S; ++s) {
        const uint16_t* in = src16 + r * row_bytes + s * Cp;
        const int16_t* wrs = wt + (r * w.S + s) * CG * KB8 * 32;
        for (int64_t cg = 0; cg < CG; ++cg) {
          const int16_t* wc = wrs + cg * KB8 * 32;
          const __m256i w01a = _mm256_loadu_si256((const __m256i*)wc);
          const __m256i w23a = _mm256_loadu_si256((const __m256i*)(wc + 16));
          const __m256i w01b = _mm256_loadu_si256((const __m256i*)(wc + 32));
          const __m256i w23b = _mm256_loadu_si256((const __m256i*)(wc + 48));
          for (int p = 0; p < PX; ++p) {
            int32_t p01, p23;
            std::memcpy(&p01, in + p * Cp + cg * 4, 4);
            std::memcpy(&p23, in + p * Cp + cg * 4 + 2, 4);
            const __m256i a01 = _mm256_set1_epi32(p01), a23 = _mm256_set1_epi32(p23);
            acc[p][0] = _mm256_add_epi32(acc[p][0], _mm256_add_epi32(_mm256_madd_epi16(a01, w01a),
                                                                     _mm256_madd_epi16(a23, w23a)));
            acc[p][1] = _mm256_add_epi32(acc[p][1], _mm256_add_epi32(_mm256_madd_epi16(a01, w01b),
                                                                     _mm256_madd_epi16(a23, w23b)));
          }
        }
      }
  }
};

}  // namespace

void forward_avx2(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e, const Int8ConvOutput& out) {
  // Each thread widens the R input rows of its output row into its own buffer (R rows of
  // (W + 2 pad) * Cp values: a few hundred KB, which stay in L2 while the row's 16-channel
  // blocks read them), so no image-sized copy is made. An input row is widened once per
  // output row that reads it (R times), against R*S*Kp multiply-adds per value: noise.
  const int64_t KB = w.Kp / 16, row_bytes = x.row_bytes();
#pragma omp parallel
  {
    std::vector<uint16_t> wide((size_t)(w.R * row_bytes));
#pragma omp for collapse(2) schedule(static)
    for (int64_t n = 0; n < x.N; ++n)
      for (int64_t oy = 0; oy < x.H; ++oy) {
        const uint8_t* row0 = x.data.data() + n * x.image_bytes() + (oy - w.R / 2 + x.pad) * row_bytes;
        for (size_t i = 0; i < wide.size(); ++i) wide[i] = row0[i];
        const TileMaddwd tile{row0, wide.data()};
        for (int64_t kb = 0; kb < KB; ++kb) row16<TileMaddwd, 4>(tile, x, w, e, out, n, oy, kb);
      }
  }
}

}  // namespace sr::cpu::int8_paths
