// Float32 block transposes for the CPU kernels: dst[j][i] (+)= src[i][j] for a block of up
// to 16 x 16, and whole matrices built from such blocks. The conv kernels use them to
// repack weights into micro-kernel panels and to move dy and dw between channel-major and
// pixel-major layouts; with AVX-512 one 16 x 16 block is 16 masked loads, 64 in-register
// shuffles and 16 masked stores, several times faster than element-wise loops with a
// strided side (which touch a new cache line per element).
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/simd.h"

namespace sr::cpu {

#if defined(__AVX512F__)
// In-register 16 x 16 transpose: on return r[j] holds column j of the input rows r[0..15].
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  // Stage 1: interleave row pairs (within 128-bit lanes).
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // Stage 2: r[4g + j] holds rows 4g..4g+3 of column 4L + j in 128-bit lane L.
  for (int g = 0; g < 16; g += 4) {
    r[g + 0] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g + 0], t[g + 2], 0xEE);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
  }
  // Stages 3 and 4: gather lane L of r[j], r[4+j], r[8+j], r[12+j] into column 4L + j.
  for (int j = 0; j < 4; ++j) {
    const __m512 u0 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    const __m512 u1 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    const __m512 u2 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    const __m512 u3 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    t[j] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
    t[4 + j] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
  }
  for (int j = 0; j < 16; ++j) r[j] = t[j];
}

// Rows i < rows of src (cols <= 16 floats each, lds apart) into r, zero elsewhere.
inline void load_rows16(const float* src, int64_t lds, int rows, int cols, __m512 r[16]) {
  const __mmask16 cm = (__mmask16)((1u << cols) - 1u);
  for (int i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * lds) : _mm512_setzero_ps();
}
#endif

// dst[j*ldd + i] = (add ? dst[j*ldd + i] : 0) + src[i*lds + j] for i < rows, j < cols
// (rows, cols <= 16).
inline void transpose_block16(const float* src, int64_t lds, float* dst, int64_t ldd, int rows, int cols,
                              bool add) {
#if defined(__AVX512F__)
  __m512 r[16];
  load_rows16(src, lds, rows, cols, r);
  transpose16(r);
  const __mmask16 rm = (__mmask16)((1u << rows) - 1u);
  for (int j = 0; j < cols; ++j) {
    float* d = dst + j * ldd;
    const __m512 v = add ? _mm512_add_ps(_mm512_maskz_loadu_ps(rm, d), r[j]) : r[j];
    _mm512_mask_storeu_ps(d, rm, v);
  }
#else
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) dst[j * ldd + i] = (add ? dst[j * ldd + i] : 0.0f) + src[i * lds + j];
#endif
}

// dst[j*ldd + i] (+)= src[i*lds + j] for i < rows, j < cols, in 16 x 16 blocks. Not
// parallel: callers split the work.
inline void transpose(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows, int64_t cols,
                      bool add) {
  for (int64_t i = 0; i < rows; i += 16)
    for (int64_t j = 0; j < cols; j += 16)
      transpose_block16(src + i * lds + j, lds, dst + j * ldd + i, ldd, (int)std::min<int64_t>(16, rows - i),
                        (int)std::min<int64_t>(16, cols - j), add);
}

}  // namespace sr::cpu
