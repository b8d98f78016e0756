// int8 convolution for CPU inference (see conv2d_int8.h for the math and the layouts).
#include "kernels/cpu/conv2d_int8.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <cstdlib>
#include <string>

#include "engine/error.h"
#include "kernels/cpu/conv2d_int8_paths.h"

namespace sr::cpu {

namespace {

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// The activation after the integer sum: scale, bias, slope. Every path computes exactly
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
                     .packed = {}, .pairs = {}, .scale = {}, .wsum = {}, .bias = {}, .oihw = {}};
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
  w.pairs = pack_conv_weights_int16_pairs(w.oihw, K, C, R, S, w.Cp, w.Kp);
  return w;
}

std::vector<int16_t> pack_conv_weights_int16_pairs(const std::vector<int8_t>& oihw, int64_t K, int64_t C,
                                                   int64_t R, int64_t S, int64_t Cp, int64_t Kp) {
  SR_CHECK((int64_t)oihw.size() == K * C * R * S && Cp >= C && Cp % 4 == 0 && Kp >= K && Kp % 8 == 0,
           "int8 conv: int16 pair packing of ", K, "x", C, "x", R, "x", S, " weights into Cp ", Cp, ", Kp ", Kp);
  // [r][s][c / 4][k / 8][half = (c % 4) / 2][k % 8][c % 2]; padded channels hold 0.
  std::vector<int16_t> pairs((size_t)(R * S * Cp * Kp), 0);
  const int64_t CG = Cp / 4, KB8 = Kp / 8;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t s = 0; s < S; ++s)
          pairs[(((((r * S + s) * CG + c / 4) * KB8 + k / 8) * 2 + c % 4 / 2) * 8 + k % 8) * 2 + c % 2] =
              oihw[((k * C + c) * R + r) * S + s];
  return pairs;
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

namespace int8_paths {

Epilogue make_epilogue(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out) {
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
  return e;
}

}  // namespace int8_paths

const char* int8_isa_name(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::avx512_vnni: return "avx512_vnni";
    case Int8Isa::avx_vnni: return "avx_vnni";
    case Int8Isa::avx2: return "avx2";
    case Int8Isa::reference: return "reference";
  }
  return "?";
}

bool int8_isa_supported(Int8Isa isa) {
  // __builtin_cpu_supports also checks that the OS saves the wider registers.
  switch (isa) {
    case Int8Isa::avx512_vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
             __builtin_cpu_supports("fma");
    case Int8Isa::avx_vnni:
      return __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Int8Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Int8Isa::reference: return true;
  }
  return false;
}

Int8Isa int8_isa_from_name(const std::string& name, const std::string& what) {
  std::string valid, available;
  for (Int8Isa isa : kInt8Isas) {
    valid += std::string(valid.empty() ? "" : ", ") + int8_isa_name(isa);
    if (int8_isa_supported(isa)) available += std::string(available.empty() ? "" : ", ") + int8_isa_name(isa);
  }
  for (Int8Isa isa : kInt8Isas)
    if (name == int8_isa_name(isa)) {
      SR_CHECK(int8_isa_supported(isa), what, "='", name, "': this CPU cannot run the ", name,
               " int8 path (available here: ", available, ")");
      return isa;
    }
  fail(what, "='", name, "' is not an int8 conv path (valid: ", valid, "; available here: ", available, ")");
}

Int8Isa conv2d_int8_selected_isa() {
  if (const char* env = std::getenv("SRENGINE_INT8_ISA"); env && *env)
    return int8_isa_from_name(env, "SRENGINE_INT8_ISA");
  for (Int8Isa isa : kInt8Isas)
    if (int8_isa_supported(isa)) return isa;
  return Int8Isa::reference;
}

const char* conv2d_int8_isa() { return int8_isa_name(conv2d_int8_selected_isa()); }

void conv2d_int8_forward_isa(Int8Isa isa, const QuantActivation& x, const QuantConvWeights& w,
                             const Int8ConvOutput& out) {
  if (isa == Int8Isa::reference) return conv2d_int8_forward_reference(x, w, out);
  SR_CHECK(int8_isa_supported(isa), "int8 conv: this CPU cannot run the ", int8_isa_name(isa), " path");
  check_shapes(x, w, out);
  const int8_paths::Epilogue e = int8_paths::make_epilogue(x, w, out);
  switch (isa) {
    case Int8Isa::avx512_vnni: return int8_paths::forward_avx512_vnni(x, w, e, out);
    case Int8Isa::avx_vnni: return int8_paths::forward_avx_vnni(x, w, e, out);
    case Int8Isa::avx2: return int8_paths::forward_avx2(x, w, e, out);
    case Int8Isa::reference: break;
  }
}

void conv2d_int8_forward(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out) {
  conv2d_int8_forward_isa(conv2d_int8_selected_isa(), x, w, out);
}

}  // namespace sr::cpu
