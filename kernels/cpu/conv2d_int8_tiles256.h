// The 256-bit paths' shared frame (conv2d_int8_avx_vnni.cpp, conv2d_int8_avx2.cpp): the row
// loop over PX-pixel tiles of one 16-channel block (two 8-lane int32 accumulators per pixel),
// and the epilogue. Each path's file includes it after its `#pragma GCC target` and inside an
// unnamed namespace, so each gets its own copy compiled for its own ISA (no shared symbol
// that the linker could take from the wrong one).
//
// The epilogue is the AVX-512 path's on 8 lanes: the same float operations in the same order
// as the reference (conv2d_int8.cpp's epilogue_value, quantize_value), so all paths agree bit
// for bit. `tile` supplies the integer sums: tile.run<PX>(src, row_bytes, x, w, kb, acc).

template <int PX>
inline void store_tile16(const __m256i (&acc)[PX][2], const Epilogue& e, int64_t kb, const QuantConvWeights& w,
                         const Int8ConvOutput& out, int64_t n, int64_t oy, int64_t ox0, int64_t H, int64_t W) {
  for (int h = 0; h < 2; ++h) {
    const int64_t k0 = kb * 16 + h * 8;
    const __m256i zw = _mm256_loadu_si256((const __m256i*)(e.zx_wsum.data() + k0));
    const __m256 mult = _mm256_loadu_ps(e.mult.data() + k0), bias = _mm256_loadu_ps(e.bias.data() + k0),
                 slope = _mm256_loadu_ps(e.slope.data() + k0);
    for (int p = 0; p < PX; ++p) {
      const __m256 v0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[p][h], zw)), mult, bias);
      const __m256 v = _mm256_fmadd_ps(slope, _mm256_min_ps(v0, _mm256_setzero_ps()),
                                       _mm256_max_ps(v0, _mm256_setzero_ps()));
      if (out.q) {
        const int64_t valid = out.q->Cp - k0 < 8 ? out.q->Cp - k0 : 8;
        if (valid <= 0) continue;
        __m256 t = _mm256_div_ps(v, _mm256_set1_ps(out.q->scale));
        t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(-512.0f)), _mm256_set1_ps(512.0f));
        __m256i qi = _mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(out.q->zero_point));
        qi = _mm256_max_epi32(qi, _mm256_setzero_si256());
        // Now 0 <= qi <= 767: the signed narrowing to int16 is exact, the unsigned one to
        // uint8 saturates at 255 (the AVX-512 path's vpmovusdb).
        const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
        const __m128i q8 = _mm_packus_epi16(q16, q16);
        uint8_t* dst = out.q->at(n, oy, ox0 + p) + k0;
        if (valid == 8) {
          _mm_storel_epi64((__m128i*)dst, q8);
        } else {
          alignas(16) uint8_t bytes[16];
          _mm_store_si128((__m128i*)bytes, q8);
          std::memcpy(dst, bytes, (size_t)valid);
        }
      } else {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, v);
        const int64_t valid = w.K - k0 < 8 ? w.K - k0 : 8;
        for (int64_t i = 0; i < valid; ++i) out.y[((n * w.K + k0 + i) * H + oy) * W + ox0 + p] = lanes[i];
      }
    }
  }
}

// One output row of block kb: tiles of PX pixels, then single pixels.
template <class Tile, int PX>
void row16(const Tile& tile, const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e, const Int8ConvOutput& out,
           int64_t n, int64_t oy, int64_t kb) {
  const int64_t row_bytes = x.row_bytes();
  const uint8_t* row0 = x.data.data() + n * x.image_bytes() + (oy - w.R / 2 + x.pad) * row_bytes;
  int64_t ox = 0;
  for (; ox + PX <= x.W; ox += PX) {
    __m256i acc[PX][2];
    tile.template run<PX>(row0 + (ox - w.S / 2 + x.pad) * x.Cp, row_bytes, x, w, kb, acc);
    store_tile16<PX>(acc, e, kb, w, out, n, oy, ox, x.H, x.W);
  }
  for (; ox < x.W; ++ox) {
    __m256i acc[1][2];
    tile.template run<1>(row0 + (ox - w.S / 2 + x.pad) * x.Cp, row_bytes, x, w, kb, acc);
    store_tile16<1>(acc, e, kb, w, out, n, oy, ox, x.H, x.W);
  }
}

// Rows x 16-channel blocks over the threads.
template <class Tile, int PX>
void forward_tiles256(const Tile& tile, const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e,
                      const Int8ConvOutput& out) {
  const int64_t KB = w.Kp / 16;
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t n = 0; n < x.N; ++n)
    for (int64_t oy = 0; oy < x.H; ++oy)
      for (int64_t kb = 0; kb < KB; ++kb) row16<Tile, PX>(tile, x, w, e, out, n, oy, kb);
}
