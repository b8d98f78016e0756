// tf32 / fp16 CPU convolutions by rounded operand copies (see conv2d_rounded.h).
#include "kernels/cpu/conv2d_rounded.h"

#include <algorithm>
#include <memory>

#include "engine/error.h"
#include "kernels/common/fp16_round.h"
#include "kernels/cpu/conv2d_implicit.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SR_HAVE_F16C_KERNEL 1
#define SR_F16C_TARGET __attribute__((target("avx512f,f16c")))
#else
#define SR_HAVE_F16C_KERNEL 0
#endif

namespace sr::cpu {

bool cpu_has_avx512_f16c() {
#if SR_HAVE_F16C_KERNEL
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("f16c");
  return has;
#else
  return false;
#endif
}

namespace {

void check_rounded(Precision p, const char* op) {
  SR_CHECK(p == Precision::tf32 || p == Precision::fp16, op, ": precision ", precision_name(p),
           " is not a rounded-operand precision (tf32 or fp16)");
}

#if SR_HAVE_F16C_KERNEL
// vcvtps2ph with an explicit round-to-nearest-even immediate (MXCSR's rounding mode is not
// read), then vcvtph2ps back: exact, as every fp16 is a float32.
SR_F16C_TARGET void round_fp16_avx512(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
  }
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    const __m256i h =
        _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(h));
  }
}
#endif

// A rounded, densely packed copy of N blocks of len floats that lie src_bs apart.
std::unique_ptr<float[]> rounded_copy(Precision p, const float* src, int64_t N, int64_t len, int64_t src_bs) {
  std::unique_ptr<float[]> out(new float[std::max<int64_t>(N * len, 1)]);
#pragma omp parallel for schedule(static) if (N * len > 65536)
  for (int64_t n = 0; n < N; ++n) round_to_precision(p, src + n * src_bs, out.get() + n * len, len);
  return out;
}

Conv2dShape as_fp32(Conv2dShape s) {
  s.precision = Precision::fp32;
  return s;
}

void fp32_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
#if SR_CPU_SIMD
  conv2d_forward_implicit(s, x, w, bias, y);
#else
  conv2d_forward_im2col<float>(s, x, w, bias, y);
#endif
}
void fp32_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
#if SR_CPU_SIMD
  conv2d_backward_data_implicit(s, dy, w, dx);
#else
  conv2d_backward_data_im2col<float>(s, dy, w, dx);
#endif
}
void fp32_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* dbias) {
#if SR_CPU_SIMD
  conv2d_backward_weight_implicit(s, x, dy, dw, dbias);
#else
  conv2d_backward_weight_im2col<float>(s, x, dy, dw, dbias);
#endif
}

}  // namespace

void round_to_precision_portable(Precision p, const float* src, float* dst, int64_t n) {
  check_rounded(p, "round_to_precision");
  if (p == Precision::tf32)
    for (int64_t i = 0; i < n; ++i) dst[i] = round_to_tf32(src[i]);
  else
    for (int64_t i = 0; i < n; ++i) dst[i] = round_to_fp16(src[i]);
}

void round_to_precision(Precision p, const float* src, float* dst, int64_t n) {
#if SR_HAVE_F16C_KERNEL
  if (p == Precision::fp16 && cpu_has_avx512_f16c()) return round_fp16_avx512(src, dst, n);
#endif
  round_to_precision_portable(p, src, dst, n);
}

void conv2d_forward_rounded(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y) {
  check_rounded(s.precision, "conv2d_forward");
  Conv2dShape r = as_fp32(s);
  r.x_batch_stride = s.C * s.H * s.W;
  const auto rx = rounded_copy(s.precision, x, s.N, r.x_batch_stride, s.x_batch_stride);
  const auto rw = rounded_copy(s.precision, w, 1, s.K * s.C * s.R * s.S, 0);
  fp32_forward(r, rx.get(), rw.get(), nullptr, y);
  // The bias after the sum, as a tensor-core epilogue does (and as conv + bias_leaky_relu
  // does: the fused residual dense block then matches the unfused composition bit for bit).
  if (!bias) return;
  const int64_t PQ = s.P * s.Q;
#pragma omp parallel for collapse(2) schedule(static) if (s.N * s.K * PQ > 65536)
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k) {
      float* o = y + n * s.y_batch_stride + k * PQ;
      const float b = bias[k];
      for (int64_t i = 0; i < PQ; ++i) o[i] += b;
    }
}

void conv2d_backward_data_rounded(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  check_rounded(s.precision, "conv2d_backward_data");
  const int64_t KPQ = s.K * s.P * s.Q;
  const auto rdy = rounded_copy(s.precision, dy, s.N, KPQ, KPQ);  // dy is contiguous (conv2d.h)
  const auto rw = rounded_copy(s.precision, w, 1, s.K * s.C * s.R * s.S, 0);
  fp32_backward_data(as_fp32(s), rdy.get(), rw.get(), dx);
}

void conv2d_backward_weight_rounded(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                                    float* dbias) {
  check_rounded(s.precision, "conv2d_backward_weight");
  if (dbias) fp32_backward_weight(as_fp32(s), x, dy, nullptr, dbias);  // from the unrounded dy
  if (!dw) return;
  Conv2dShape r = as_fp32(s);
  r.x_batch_stride = s.C * s.H * s.W;
  const int64_t KPQ = s.K * s.P * s.Q;
  const auto rx = rounded_copy(s.precision, x, s.N, r.x_batch_stride, s.x_batch_stride);
  const auto rdy = rounded_copy(s.precision, dy, s.N, KPQ, KPQ);
  fp32_backward_weight(r, rx.get(), rdy.get(), dw, nullptr);
}

}  // namespace sr::cpu
