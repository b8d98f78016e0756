// int8 convolution for CPU inference (see conv2d_int8.h for the math and the layouts).
#include "kernels/cpu/conv2d_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/error.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define SR_INT8_VNNI 1
#include <immintrin.h>
#else
#define SR_INT8_VNNI 0
#endif

namespace sr::cpu {

namespace {

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// The activation after the integer sum: scale, bias, slope. Both paths compute exactly
// these float operations in this order, so they agree bit for bit.
inline float epilogue_value(int32_t sum, int32_t zx_wsum, float mult, float bias, float slope) {
  const float v = std::fma((float)(sum - zx_wsum), mult, bias);
  return std::fma(slope, std::min(v, 0.0f), std::max(v, 0.0f));
}

// QuantizeLinear: round half to even of v / sy (the default rounding mode), plus zy,
// saturated to [0, 255]. The quotient is clamped first so that the conversion to int is
// defined for any float (the vector path does the same).
inline uint8_t quantize_value(float v, float sy, int zy) {
  const float r = std::nearbyint(std::clamp(v / sy, -512.0f, 512.0f));
  return (uint8_t)std::clamp((int)r + zy, 0, 255);
}

}  // namespace

QuantActivation make_quant_activation(int64_t N, int64_t C, int64_t H, int64_t W, int64_t pad, float scale,
                                      int zero_point) {
  SR_CHECK(N > 0 && C > 0 && H > 0 && W > 0 && pad >= 0, "int8 activation: bad size ", N, "x", C, "x", H, "x",
           W, " with border ", pad);
  SR_CHECK(scale > 0 && std::isfinite(scale), "int8 activation: scale must be positive and finite, got ", scale);
  SR_CHECK(zero_point >= 0 && zero_point <= 255, "int8 activation: zero point ", zero_point,
           " is outside [0, 255]");
  QuantActivation q{.N = N, .H = H, .W = W, .C = C, .Cp = round_up(C, 4), .pad = pad, .scale = scale,
                    .zero_point = zero_point, .data = {}};
  q.data.assign((size_t)(N * q.image_bytes()), (uint8_t)zero_point);
  return q;
}

void fill_border(QuantActivation& q) {
  const uint8_t z = (uint8_t)q.zero_point;
  const int64_t rb = q.row_bytes(), rows = q.H + 2 * q.pad;
  for (int64_t n = 0; n < q.N; ++n) {
    uint8_t* img = q.data.data() + n * q.image_bytes();
    for (int64_t y = 0; y < rows; ++y) {
      uint8_t* row = img + y * rb;
      if (y < q.pad || y >= q.pad + q.H) {
        std::memset(row, z, rb);
        continue;
      }
      std::memset(row, z, q.pad * q.Cp);
      std::memset(row + (q.pad + q.W) * q.Cp, z, q.pad * q.Cp);
    }
  }
}

void quantize_activation(const float* x, QuantActivation& q) {
  const int64_t plane = q.H * q.W;
#pragma omp parallel for collapse(2) schedule(static) if (q.N * q.C * plane > 65536)
  for (int64_t n = 0; n < q.N; ++n)
    for (int64_t y = 0; y < q.H; ++y)
      for (int64_t xx = 0; xx < q.W; ++xx) {
        uint8_t* dst = q.at(n, y, xx);
        for (int64_t c = 0; c < q.C; ++c)
          dst[c] = quantize_value(x[(n * q.C + c) * plane + y * q.W + xx], q.scale, q.zero_point);
      }
}

void dequantize_activation(const QuantActivation& q, float* x) {
  const int64_t plane = q.H * q.W;
  for (int64_t n = 0; n < q.N; ++n)
    for (int64_t y = 0; y < q.H; ++y)
      for (int64_t xx = 0; xx < q.W; ++xx) {
        const uint8_t* src = q.at(n, y, xx);
        for (int64_t c = 0; c < q.C; ++c)
          x[(n * q.C + c) * plane + y * q.W + xx] = q.scale * (float)((int)src[c] - q.zero_point);
      }
}

void quantize_conv_weights(const float* w, int64_t K, int64_t C, int64_t R, int64_t S, bool per_channel,
                           std::vector<int8_t>& qw, std::vector<float>& scale) {
  const int64_t T = C * R * S;
  std::vector<float> amax(K, 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t t = 0; t < T; ++t) {
      SR_CHECK(std::isfinite(w[k * T + t]), "int8 weights: output channel ", k, " has a non-finite weight");
      amax[k] = std::max(amax[k], std::fabs(w[k * T + t]));
    }
  if (!per_channel) std::fill(amax.begin(), amax.end(), *std::max_element(amax.begin(), amax.end()));
  scale.resize(K);
  qw.resize(K * T);
  for (int64_t k = 0; k < K; ++k) {
    // An all-zero channel keeps scale 1 so that dequantisation stays finite.
    scale[k] = amax[k] > 0 ? amax[k] / 127.0f : 1.0f;
    for (int64_t t = 0; t < T; ++t)
      qw[k * T + t] = (int8_t)std::clamp(std::nearbyint(w[k * T + t] / scale[k]), -127.0f, 127.0f);
  }
}

QuantConvWeights pack_conv_weights_int8(const int8_t* qw, const float* scale, const float* bias, int64_t K,
                                        int64_t C, int64_t R, int64_t S) {
  SR_CHECK(K > 0 && C > 0 && R > 0 && S > 0 && R % 2 == 1 && S % 2 == 1, "int8 conv: weights ", K, "x", C, "x",
           R, "x", S, " are not an odd-sized filter");
  // The int32 sum of 255 * 127 per term must not overflow.
  SR_CHECK(C * R * S <= 66000, "int8 conv: ", C * R * S, " terms per output overflow an int32 sum (at most 66000)");
  QuantConvWeights w{.K = K, .C = C, .R = R, .S = S, .Cp = round_up(C, 4), .Kp = round_up(K, 16),
                     .packed = {}, .scale = {}, .wsum = {}, .bias = {}, .oihw = {}};
  w.oihw.assign(qw, qw + K * C * R * S);
  w.scale.assign(w.Kp, 0.0f);
  w.wsum.assign(w.Kp, 0);
  w.bias.assign(w.Kp, 0.0f);
  w.packed.assign((size_t)(R * S * w.Cp * w.Kp), 0);
  const int64_t CG = w.Cp / 4, KB = w.Kp / 16;
  for (int64_t k = 0; k < K; ++k) {
    SR_CHECK(scale[k] > 0 && std::isfinite(scale[k]), "int8 conv: weight scale of output channel ", k,
             " must be positive and finite, got ", scale[k]);
    w.scale[k] = scale[k];
    w.bias[k] = bias ? bias[k] : 0.0f;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t s = 0; s < S; ++s) {
          const int8_t v = qw[((k * C + c) * R + r) * S + s];
          SR_CHECK(v >= -127, "int8 conv: weight ", (int)v, " at (", k, ", ", c, ", ", r, ", ", s,
                   ") is outside [-127, 127]");
          w.wsum[k] += v;
          w.packed[((((r * S + s) * CG + c / 4) * KB + k / 16) * 16 + k % 16) * 4 + c % 4] = v;
        }
  }
  return w;
}

namespace {

void check_shapes(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out) {
  SR_CHECK(x.C == w.C && x.Cp == w.Cp, "int8 conv: input has ", x.C, " channels, the weights ", w.C);
  SR_CHECK(x.pad >= w.R / 2 && x.pad >= w.S / 2, "int8 conv: the input's border ", x.pad, " is too thin for a ",
           w.R, "x", w.S, " filter");
  SR_CHECK((out.q != nullptr) != (out.y != nullptr), "int8 conv: give exactly one output (quantised or float)");
  if (out.q)
    SR_CHECK(out.q->N == x.N && out.q->C == w.K && out.q->H == x.H && out.q->W == x.W, "int8 conv: output ",
             out.q->N, "x", out.q->C, "x", out.q->H, "x", out.q->W, " does not match ", x.N, "x", w.K, "x", x.H,
             "x", x.W);
}

}  // namespace

void conv2d_int8_forward_reference(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out) {
  check_shapes(x, w, out);
  const int64_t R = w.R, S = w.S, H = x.H, W = x.W;
  const int32_t zx = x.zero_point;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < x.N; ++n)
    for (int64_t oy = 0; oy < H; ++oy)
      for (int64_t ox = 0; ox < W; ++ox)
        for (int64_t k = 0; k < w.K; ++k) {
          int32_t sum = 0;
          for (int64_t c = 0; c < w.C; ++c)
            for (int64_t r = 0; r < R; ++r)
              for (int64_t s = 0; s < S; ++s) {
                // Padded coordinates: the border holds zx, a real zero.
                const uint8_t qx = x.at(n, oy + r - R / 2, ox + s - S / 2)[c];
                sum += (int32_t)qx * (int32_t)w.oihw[((k * w.C + c) * R + r) * S + s];
              }
          const float v = epilogue_value(sum, zx * w.wsum[k], x.scale * w.scale[k], w.bias[k],
                                         out.slope ? out.slope[k] : 1.0f);
          if (out.q)
            out.q->at(n, oy, ox)[k] = quantize_value(v, out.q->scale, out.q->zero_point);
          else
            out.y[((n * w.K + k) * H + oy) * W + ox] = v;
        }
}

#if SR_INT8_VNNI

namespace {

// The per-conv constants of the epilogue, per output channel (Kp of each).
struct Epilogue {
  std::vector<int32_t> zx_wsum;
  std::vector<float> mult, bias, slope;
};

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

void conv2d_int8_forward(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out) {
  check_shapes(x, w, out);
  Epilogue e;
  e.zx_wsum.resize(w.Kp);
  e.mult.resize(w.Kp);
  e.bias = w.bias;
  e.slope.assign(w.Kp, 1.0f);
  for (int64_t k = 0; k < w.Kp; ++k) {
    e.zx_wsum[k] = x.zero_point * w.wsum[k];
    e.mult[k] = x.scale * w.scale[k];
    if (out.slope && k < w.K) e.slope[k] = out.slope[k];
  }
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

const char* conv2d_int8_isa() { return "avx512_vnni"; }

#else

void conv2d_int8_forward(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out) {
  conv2d_int8_forward_reference(x, w, out);
}

const char* conv2d_int8_isa() { return "reference"; }

#endif

}  // namespace sr::cpu
