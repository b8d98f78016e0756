// conv2d_int8's AVX512-VNNI path (see conv2d_int8.h for the math and the layouts): 16 int32
// lanes of vpdpbusd, register tiles of up to 4 blocks of 16 output channels x 6-24 pixels.
// Compiled for AVX512-VNNI by the pragma below (CMakeLists.txt builds this file for the x86-64
// baseline otherwise, whatever -march says); conv2d_int8.cpp calls it only where the CPU has it.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/conv2d_int8_paths.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,fma")

namespace sr::cpu::int8_paths {

namespace {

// PX output pixels of one row x KB blocks of 16 output channels: acc[p][b] += for every
// tap (r, s) and group of 4 input channels, the 4 input bytes of pixel p (broadcast to
// all lanes) dotted with the 4 weight bytes of each of the block's 16 channels.
// `src` is the padded input at tap (0, 0) of pixel 0; `wt` the packed weights at block kb0.
template <int KB, int PX>
inline void tile_int8(const uint8_t* src, int64_t row_bytes, int64_t Cp, const int8_t* wt, int64_t R, int64_t S,
                      int64_t KBtot, __m512i (&acc)[PX][KB]) {
  const int64_t CG = Cp / 4;
  for (int p = 0; p < PX; ++p)
    for (int b = 0; b < KB; ++b) acc[p][b] = _mm512_setzero_si512();
  for (int64_t r = 0; r < R; ++r)
    for (int64_t s = 0; s < S; ++s) {
      const uint8_t* in = src + r * row_bytes + s * Cp;
      const int8_t* wrs = wt + (r * S + s) * CG * KBtot * 64;
      for (int64_t cg = 0; cg < CG; ++cg) {
        __m512i wv[KB];
        for (int b = 0; b < KB; ++b) wv[b] = _mm512_loadu_si512(wrs + (cg * KBtot + b) * 64);
        for (int p = 0; p < PX; ++p) {
          int32_t four;
          std::memcpy(&four, in + p * Cp + cg * 4, 4);
          const __m512i a = _mm512_set1_epi32(four);
          for (int b = 0; b < KB; ++b) acc[p][b] = _mm512_dpbusd_epi32(acc[p][b], a, wv[b]);
        }
      }
    }
}

template <int KB, int PX>
inline void store_tile(const __m512i (&acc)[PX][KB], const Epilogue& e, int64_t kb0, const QuantConvWeights& w,
                       const Int8ConvOutput& out, int64_t n, int64_t oy, int64_t ox0, int64_t H, int64_t W) {
  for (int b = 0; b < KB; ++b) {
    const int64_t k0 = (kb0 + b) * 16;
    const __m512i zw = _mm512_loadu_si512(e.zx_wsum.data() + k0);
    const __m512 mult = _mm512_loadu_ps(e.mult.data() + k0), bias = _mm512_loadu_ps(e.bias.data() + k0),
                 slope = _mm512_loadu_ps(e.slope.data() + k0);
    for (int p = 0; p < PX; ++p) {
      const __m512 v0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[p][b], zw)), mult, bias);
      const __m512 v = _mm512_fmadd_ps(slope, _mm512_min_ps(v0, _mm512_setzero_ps()),
                                       _mm512_max_ps(v0, _mm512_setzero_ps()));
      if (out.q) {
        const int64_t valid = std::min<int64_t>(16, out.q->Cp - k0);
        if (valid <= 0) continue;
        __m512 t = _mm512_div_ps(v, _mm512_set1_ps(out.q->scale));
        t = _mm512_min_ps(_mm512_max_ps(t, _mm512_set1_ps(-512.0f)), _mm512_set1_ps(512.0f));
        __m512i qi = _mm512_add_epi32(_mm512_cvtps_epi32(t), _mm512_set1_epi32(out.q->zero_point));
        qi = _mm512_max_epi32(qi, _mm512_setzero_si512());  // then saturate to 255 when narrowing
        _mm_mask_storeu_epi8(out.q->at(n, oy, ox0 + p) + k0, (__mmask16)((1u << valid) - 1),
                             _mm512_cvtusepi32_epi8(qi));
      } else {
        alignas(64) float lanes[16];
        _mm512_store_ps(lanes, v);
        const int64_t valid = std::min<int64_t>(16, w.K - k0);
        for (int64_t i = 0; i < valid; ++i) out.y[((n * w.K + k0 + i) * H + oy) * W + ox0 + p] = lanes[i];
      }
    }
  }
}

// One output row, blocks kb0 .. kb0 + KB: tiles of PX pixels, then single pixels.
template <int KB, int PX>
void row_int8(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e, const Int8ConvOutput& out,
              int64_t n, int64_t oy, int64_t kb0) {
  const int64_t KBtot = w.Kp / 16, row_bytes = x.row_bytes();
  const int8_t* wt = w.packed.data() + kb0 * 64;
  const uint8_t* row0 = x.data.data() + n * x.image_bytes() + (oy - w.R / 2 + x.pad) * row_bytes;
  int64_t ox = 0;
  for (; ox + PX <= x.W; ox += PX) {
    __m512i acc[PX][KB];
    tile_int8<KB, PX>(row0 + (ox - w.S / 2 + x.pad) * x.Cp, row_bytes, x.Cp, wt, w.R, w.S, KBtot, acc);
    store_tile<KB, PX>(acc, e, kb0, w, out, n, oy, ox, x.H, x.W);
  }
  for (; ox < x.W; ++ox) {
    __m512i acc[1][KB];
    tile_int8<KB, 1>(row0 + (ox - w.S / 2 + x.pad) * x.Cp, row_bytes, x.Cp, wt, w.R, w.S, KBtot, acc);
    store_tile<KB, 1>(acc, e, kb0, w, out, n, oy, ox, x.H, x.W);
  }
}

}  // namespace

void forward_avx512_vnni(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e,
                         const Int8ConvOutput& out) {
  // Register tiles: PX pixels x KB blocks of 16 channels = 24 accumulators, KB weight
  // vectors and one broadcast within AVX-512's 32 registers.
  const int64_t KBtot = w.Kp / 16;
  const int64_t groups = (KBtot + 3) / 4;
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t n = 0; n < x.N; ++n)
    for (int64_t oy = 0; oy < x.H; ++oy)
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t kb0 = g * 4, nb = std::min<int64_t>(4, KBtot - kb0);
        switch (nb) {
          case 4: row_int8<4, 6>(x, w, e, out, n, oy, kb0); break;
          case 3: row_int8<3, 8>(x, w, e, out, n, oy, kb0); break;
          case 2: row_int8<2, 12>(x, w, e, out, n, oy, kb0); break;
          default: row_int8<1, 24>(x, w, e, out, n, oy, kb0); break;
        }
      }
}

}  // namespace sr::cpu::int8_paths
