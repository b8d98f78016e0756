// Swin's fused window attention on the CPU (see window_attention.h). Two per-(window, head)
// kernels share one driver: WindowReference<T>, the readable scalar loops in double (the double
// instantiation, which gradcheck checks), and WindowFastFloat, the float path (float buffers and
// float sums in fixed orders over contiguous rows that GCC vectorises).
#include "kernels/cpu/window_attention.h"

#include "kernels/cpu/simd_gcc_warnings.h"
#include "kernels/cpu/attention_float.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <type_traits>
#include <vector>

namespace sr::cpu {

namespace {

using swin::kMaskValue;
using swin::region;
using swin::relative_index;
using namespace attention_float;

// dTable's window sums run over chunks of this many windows: a chunk's partial per
// (chunk, head, i, j) is summed by one thread over its windows in order, then the chunks in
// chunk order, so the memory is (B_ / 8) nh N N doubles and the sum does not depend on the
// thread count.
constexpr int64_t kWindowTableChunk = 8;

// One (window, head) pair's operands: row i of q, k, v, dout starts at q + i * row.
template <typename T>
struct Head {
  const T *q, *k, *v;
  int64_t row;  // 3C: the qkv row stride
};

template <typename T>
Head<T> head_of(const T* qkv, int64_t b, int h, const WindowAttentionShape& s) {
  const int64_t C = s.channels(), row = 3 * C;
  const T* base = qkv + b * s.tokens() * row + (int64_t)h * s.head_dim;
  return {base, base + C, base + 2 * C, row};
}

// The region labels of window b's tokens (all 0 without a shift).
void window_labels(int64_t b, const WindowAttentionShape& s, std::vector<int>& label) {
  const int64_t w = b % s.windows_per_image();
  for (int t = 0; t < s.tokens(); ++t) label[t] = s.shift > 0 ? region(w, t, s.H, s.W, s.window, s.shift) : 0;
}

// ---- The reference: scalar loops, sums in double in index order. ----
template <typename T>
struct WindowReference {
  const WindowAttentionShape& s;
  std::vector<double> P, dS, acc, aq, ak, av, qs;
  std::vector<int> label;
  WindowReference(const WindowAttentionShape& shape, const T* /*table, read per pair*/)
      : s(shape), P((size_t)s.tokens() * s.tokens()), acc(s.head_dim), qs(s.head_dim), label(s.tokens()) {}

  // P (N x N, row-major) of window b, head h: S[i, j] = (scale q_i) . k_j + bias + mask, then a
  // softmax per row with the row max subtracted. q is scaled first and rounded to T, as PyTorch's
  // `q = q * self.scale` before `q @ k.transpose(-2, -1)`; the dot products run in double.
  void probabilities(const Head<T>& x, const T* table, int64_t b, int h) {
    const int N = s.tokens(), d = s.head_dim, ws = s.window;
    window_labels(b, s, label);
    for (int i = 0; i < N; ++i) {
      for (int e = 0; e < d; ++e) qs[e] = (double)(T)(x.q[i * x.row + e] * (T)s.scale);
      double* Si = P.data() + (int64_t)i * N;
      double m = -INFINITY;
      for (int j = 0; j < N; ++j) {
        double dot = 0;
        for (int e = 0; e < d; ++e) dot += qs[e] * (double)x.k[j * x.row + e];
        dot += (double)table[relative_index(i, j, ws) * s.heads + h];
        if (label[i] != label[j]) dot += kMaskValue;
        Si[j] = dot;
        m = std::max(m, dot);
      }
      double l = 0;
      for (int j = 0; j < N; ++j) l += (Si[j] = std::exp(Si[j] - m));
      for (int j = 0; j < N; ++j) Si[j] /= l;
    }
  }

  void forward(const T* qkv, const T* table, T* out, int64_t b, int h) {
    const int N = s.tokens(), d = s.head_dim;
    const int64_t C = s.channels();
    const Head<T> x = head_of(qkv, b, h, s);
    probabilities(x, table, b, h);
    // out_i[e] = sum_j P[i, j] v_j[e], j in order (for every e at once).
    for (int i = 0; i < N; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int j = 0; j < N; ++j) {
        const double pij = P[(size_t)i * N + j];
        for (int e = 0; e < d; ++e) acc[e] += pij * (double)x.v[j * x.row + e];
      }
      T* o = out + (b * N + i) * C + (int64_t)h * d;
      for (int e = 0; e < d; ++e) o[e] = (T)acc[e];
    }
  }

  // dqkv's slice of the pair overwritten when dqkv is not null; dS added into table_acc (N x N)
  // when that is not null.
  void backward(const T* qkv, const T* table, const T* dout, T* dqkv, double* table_acc, int64_t b, int h) {
    const int N = s.tokens(), d = s.head_dim;
    const int64_t C = s.channels();
    dS.resize((size_t)N * N), aq.resize(d), ak.resize(d), av.resize(d);
    const Head<T> x = head_of(qkv, b, h, s);
    const T* go = dout + b * N * C + (int64_t)h * d;  // dOut_i at go + i * C
    probabilities(x, table, b, h);
    // dP[i, j] = dOut_i . v_j; dS[i, j] = P[i, j] (dP[i, j] - sum_j' P[i, j'] dP[i, j']).
    for (int i = 0; i < N; ++i) {
      double D = 0;
      for (int j = 0; j < N; ++j) {
        double dp = 0;
        for (int e = 0; e < d; ++e) dp += (double)go[i * C + e] * (double)x.v[j * x.row + e];
        dS[(size_t)i * N + j] = dp;
        D += P[(size_t)i * N + j] * dp;
      }
      for (int j = 0; j < N; ++j) dS[(size_t)i * N + j] = P[(size_t)i * N + j] * (dS[(size_t)i * N + j] - D);
    }
    if (dqkv) {
      T* gq = dqkv + b * N * 3 * C + (int64_t)h * d;
      T* gk = gq + C;
      T* gv = gq + 2 * C;
      // dQ_t = scale sum_j dS[t, j] k_j; dK_t = scale sum_i dS[i, t] q_i; dV_t = sum_i P[i, t] dOut_i;
      // each sum in index order, for every e at once.
      for (int t = 0; t < N; ++t) {
        std::fill(aq.begin(), aq.end(), 0.0);
        std::fill(ak.begin(), ak.end(), 0.0);
        std::fill(av.begin(), av.end(), 0.0);
        for (int j = 0; j < N; ++j) {
          const double c = dS[(size_t)t * N + j];
          for (int e = 0; e < d; ++e) aq[e] += c * (double)x.k[j * x.row + e];
        }
        for (int i = 0; i < N; ++i) {
          const double cs = dS[(size_t)i * N + t], cp = P[(size_t)i * N + t];
          for (int e = 0; e < d; ++e) {
            ak[e] += cs * (double)x.q[i * x.row + e];
            av[e] += cp * (double)go[i * C + e];
          }
        }
        for (int e = 0; e < d; ++e) {
          gq[t * 3 * C + e] = (T)(s.scale * aq[e]);
          gk[t * 3 * C + e] = (T)(s.scale * ak[e]);
          gv[t * 3 * C + e] = (T)av[e];
        }
      }
    }
    if (table_acc)
      for (size_t ij = 0; ij < dS.size(); ++ij) table_acc[ij] += dS[ij];
  }
};

// ---- The float path: the pair's operands copied into small contiguous float buffers, every
// product a GEMM-shaped loop whose innermost index runs over contiguous memory (vectorised),
// each output element summed in float in a fixed order (so the results do not depend on the
// thread count). PyTorch's float32 rounding points: q * scale rounded to float, S = q k^T,
// + bias, + mask, softmax (max subtracted, expf, divided by the row sum), P V. ----
struct WindowFastFloat {
  const WindowAttentionShape& s;
  int N, d;
  std::vector<float> qs, k, kT, vT, go, S, dP, T1, gT;
  std::vector<float> bias, mask;  // bias (nh x N x N): table[index(i, j), h]; mask (N x N) of window mask_of
  std::vector<int> label;
  int64_t mask_of = -1;
  WindowFastFloat(const WindowAttentionShape& shape, const float* table)
      : s(shape), N(s.tokens()), d(s.head_dim), bias((size_t)s.heads * N * N), mask((size_t)N * N), label(N) {
    for (int h = 0; h < s.heads; ++h)
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j)
          bias[((size_t)h * N + i) * N + j] = table[relative_index(i, j, s.window) * s.heads + h];
    qs.resize((size_t)N * d), kT.resize((size_t)d * N), S.resize((size_t)N * N);
  }

  // qs (N x d) = q * scale in float and kT (d x N); for the backward also k (N x d) and vT (d x N).
  void load(const Head<float>& x, bool backward) {
    const float sc = (float)s.scale;
    for (int i = 0; i < N; ++i) {
      const float* q = x.q + i * x.row;
      for (int e = 0; e < d; ++e) qs[(size_t)i * d + e] = q[e] * sc;
      if (backward)
        for (int e = 0; e < d; ++e) k[(size_t)i * d + e] = x.k[i * x.row + e];
    }
    for (int e = 0; e < d; ++e) {
      float* __restrict t = kT.data() + (size_t)e * N;
      for (int i = 0; i < N; ++i) t[i] = x.k[i * x.row + e];
    }
    if (backward)
      for (int e = 0; e < d; ++e) {
        float* __restrict t = vT.data() + (size_t)e * N;
        for (int i = 0; i < N; ++i) t[i] = x.v[i * x.row + e];
      }
  }

  // S <- P: S = qs kT (over e in order), + bias, + mask; softmax per row.
  void probabilities(int64_t b, int h) {
    mask_for(b);
    small_gemm(N, N, d, qs.data(), d, kT.data(), N, S.data(), N);
    for (int i = 0; i < N; ++i) {
      float* __restrict Si = S.data() + (size_t)i * N;
      const float* __restrict bi = bias.data() + ((size_t)h * N + i) * N;
      const float* __restrict mi = mask.data() + (size_t)i * N;
      for (int j = 0; j < N; ++j) Si[j] = (Si[j] + bi[j]) + mi[j];  // + 0 leaves a value as it is
      const float m = row_max(Si, N);
      for (int j = 0; j < N; ++j) Si[j] = softmax_exp(Si[j] - m);
      const float l = ordered_sum(Si, N);
      for (int j = 0; j < N; ++j) Si[j] /= l;
    }
  }

  // The forward works on transposes, so that the softmax runs down columns (one vector op per
  // 16 rows, no row reductions) and P V has d rows instead of N: S^T = k qs^T, softmax of each
  // column, out^T = v^T P^T. Every element is rounded as in probabilities() and the row-major P v
  // (the products are exact in an FMA, the sums in the same orders: e, j, and the row sum in
  // ordered_sum's 16 partials), so the results are the same bits.
  std::vector<float> qsT, biasT, outT, col_max, col_sum, partial;

  void mask_for(int64_t b) {  // mask[i, j] = -100 where tokens i and j lie in different regions, else 0
    if (b == mask_of) return;
    window_labels(b, s, label);
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) mask[(size_t)i * N + j] = label[i] != label[j] ? (float)kMaskValue : 0.f;
    mask_of = b;
  }

  void forward(const float* qkv, const float* table, float* out, int64_t b, int h) {
    const int64_t C = s.channels();
    const Head<float> x = head_of(qkv, b, h, s);
    if (biasT.empty()) {  // biasT[h, j, i] = bias[h, i, j]
      biasT.resize(bias.size()), qsT.resize((size_t)d * N), outT.resize((size_t)d * N);
      col_max.resize(N), col_sum.resize(N), partial.resize((size_t)kPartials * N);
      for (int hh = 0; hh < s.heads; ++hh)
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j)
            biasT[((size_t)hh * N + j) * N + i] = bias[((size_t)hh * N + i) * N + j];
    }
    const float sc = (float)s.scale;
    for (int e = 0; e < d; ++e) {
      float* __restrict t = qsT.data() + (size_t)e * N;
      for (int i = 0; i < N; ++i) t[i] = x.q[i * x.row + e] * sc;
    }
    mask_for(b);  // symmetric: also its own transpose
    // S^T (row j, column i) = k_j . qs_i, over e in order.
    small_gemm(N, N, d, x.k, x.row, qsT.data(), N, S.data(), N);
    float* __restrict m = col_max.data();
    float* __restrict l = col_sum.data();
    float* __restrict part = partial.data();
    for (int i = 0; i < N; ++i) m[i] = -INFINITY;
    for (int j = 0; j < N; ++j) {
      float* __restrict Sj = S.data() + (size_t)j * N;
      const float* __restrict bj = biasT.data() + ((size_t)h * N + j) * N;
      const float* __restrict mj = mask.data() + (size_t)j * N;
      for (int i = 0; i < N; ++i) {
        Sj[i] = (Sj[i] + bj[i]) + mj[i];
        m[i] = Sj[i] > m[i] ? Sj[i] : m[i];  // row_max's rule: a NaN is never taken
      }
    }
    std::fill(partial.begin(), partial.end(), 0.f);
    for (int j = 0; j < N; ++j) {  // element j into partial j % 16, as ordered_sum
      float* __restrict Sj = S.data() + (size_t)j * N;
      float* __restrict pj = part + (size_t)(j % kPartials) * N;
      for (int i = 0; i < N; ++i) pj[i] += (Sj[i] = softmax_exp(Sj[i] - m[i]));
    }
    for (int i = 0; i < N; ++i) l[i] = 0.f;
    for (int t = 0; t < kPartials; ++t)
      for (int i = 0; i < N; ++i) l[i] += part[(size_t)t * N + i];
    for (int j = 0; j < N; ++j) {
      float* __restrict Sj = S.data() + (size_t)j * N;
      for (int i = 0; i < N; ++i) Sj[i] /= l[i];
    }
    // out^T (row e, column i) = sum_j v_j[e] P^T[j, i], over j in order; its columns are the rows
    // of the head's slice of out.
    small_gemm(d, N, N, x.v, 1, S.data(), N, outT.data(), N, x.row);
    float* o = out + b * N * C + (int64_t)h * d;
    for (int i = 0; i < N; ++i)
      for (int e = 0; e < d; ++e) o[i * C + e] = outT[(size_t)e * N + i];
  }

  bool grads_transposed() const {  // d fills under 3/4 of the vectors it takes
#if SR_CPU_SIMD
    return 4 * d < 3 * simd::kLanes * ((d + simd::kLanes - 1) / simd::kLanes);
#else
    return false;
#endif
  }

  void backward(const float* qkv, const float* table, const float* dout, float* dqkv, double* table_acc, int64_t b,
                int h) {
    const int64_t C = s.channels();
    k.resize((size_t)N * d), vT.resize((size_t)d * N), go.resize((size_t)N * d), dP.resize((size_t)N * N);
    load(head_of(qkv, b, h, s), true);
    for (int i = 0; i < N; ++i)
      for (int e = 0; e < d; ++e) go[(size_t)i * d + e] = dout[(b * N + i) * C + (int64_t)h * d + e];
    probabilities(b, h);
    // dP = dOut vT (over e in order); D_i = sum_j P dP (ordered_dot); dS = P (dP - D), kept in dP.
    small_gemm(N, N, d, go.data(), d, vT.data(), N, dP.data(), N);
    for (int i = 0; i < N; ++i) {
      float* __restrict dPi = dP.data() + (size_t)i * N;
      const float* __restrict Pi = S.data() + (size_t)i * N;
      const float D = ordered_dot(Pi, dPi, N);
      for (int j = 0; j < N; ++j) dPi[j] = Pi[j] * (dPi[j] - D);
    }
    // dQ = scale (dS k) (over j in order); dK = dS^T qs and dV = P^T dOut (over i in order), as
    // PyTorch's (dS @ k) * scale, dS^T @ (q * scale) and P^T @ dOut; written into the head's
    // columns of dqkv.
    if (dqkv && !grads_transposed()) {
      T1.resize((size_t)N * N);
      const int64_t ld = 3 * C;
      float* gq = dqkv + b * N * ld + (int64_t)h * d;
      small_gemm(N, d, N, dP.data(), N, k.data(), d, gq, ld);
      const float sc = (float)s.scale;
      for (int t = 0; t < N; ++t) {
        float* __restrict r = gq + t * ld;
        for (int e = 0; e < d; ++e) r[e] *= sc;
      }
      transpose_square(dP.data(), T1.data(), N);
      small_gemm(N, d, N, T1.data(), N, qs.data(), d, gq + C, ld);
      transpose_square(S.data(), T1.data(), N);
      small_gemm(N, d, N, T1.data(), N, go.data(), d, gq + 2 * C, ld);
    } else if (dqkv) {
      T1.resize((size_t)N * N), gT.resize((size_t)3 * d * N);
      // Computed transposed when d fills its vectors poorly, d rows by N columns
      // (dQ^T = k^T dS^T, dK^T = qs^T dS, dV^T = dOut^T P: the same products summed in the same
      // orders, so the same bits as the branch above), which keeps the register blocks full
      // (SwinIR-light's d = 10 filled 10 of 16 lanes) and needs dS transposed only once; with
      // full vectors (d = 30: 30 of 32) the strided copy out cost more than it saved.
      const int64_t ld = 3 * C;
      float* gq = dqkv + b * N * ld + (int64_t)h * d;
      float *dqT = gT.data(), *dkT = dqT + (size_t)d * N, *dvT = dkT + (size_t)d * N;
      transpose_square(dP.data(), T1.data(), N);
      small_gemm(d, N, N, k.data(), 1, T1.data(), N, dqT, N, d);
      small_gemm(d, N, N, qs.data(), 1, dP.data(), N, dkT, N, d);
      small_gemm(d, N, N, go.data(), 1, S.data(), N, dvT, N, d);
      const float sc = (float)s.scale;
      for (int t = 0; t < N; ++t) {
        float* __restrict r = gq + t * ld;
        for (int e = 0; e < d; ++e) {
          r[e] = dqT[(size_t)e * N + t] * sc;
          r[C + e] = dkT[(size_t)e * N + t];
          r[2 * C + e] = dvT[(size_t)e * N + t];
        }
      }
    }
    if (table_acc)
      for (size_t ij = 0; ij < (size_t)N * N; ++ij) table_acc[ij] += (double)dP[ij];
  }
};

template <typename T>
using WindowKernel = std::conditional_t<std::is_same_v<T, float>, WindowFastFloat, WindowReference<T>>;

bool window_parallel(const WindowAttentionShape& s) {  // small calls (gradcheck's) stay serial
  return s.windows * s.heads * s.tokens() * s.tokens() * s.head_dim > 65536;
}

}  // namespace

template <typename T>
void window_attention_forward(const T* qkv, const T* table, T* out, const WindowAttentionShape& s) {
  const int nh = s.heads;
  const int64_t pairs = s.windows * nh;
#pragma omp parallel if (window_parallel(s))
  {
    WindowKernel<T> kernel(s, table);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < pairs; ++p) kernel.forward(qkv, table, out, p / nh, (int)(p % nh));
  }
}

template <typename T>
void window_attention_backward(const T* qkv, const T* table, const T* dout, T* dqkv, T* dtable,
                               const WindowAttentionShape& s) {
  const int N = s.tokens(), nh = s.heads, ws = s.window;
  const int64_t NN = (int64_t)N * N;
  if (dtable) std::fill(dtable, dtable + s.table_rows() * nh, T(0));
  if (s.windows == 0) return;
  // Work units (chunk c of kWindowTableChunk windows, head h): one thread runs the unit's windows in
  // order, adding their dS into the unit's partial; only while this runs.
  const int64_t chunks = (s.windows + kWindowTableChunk - 1) / kWindowTableChunk, units = chunks * nh;
  std::vector<double> partial(dtable ? (size_t)(units * NN) : 0);
#pragma omp parallel if (window_parallel(s))
  {
    WindowKernel<T> kernel(s, table);
#pragma omp for schedule(static)
    for (int64_t u = 0; u < units; ++u) {
      const int64_t c = u / nh;
      const int h = (int)(u % nh);
      double* acc = dtable ? partial.data() + u * NN : nullptr;
      for (int64_t b = c * kWindowTableChunk; b < std::min(s.windows, (c + 1) * kWindowTableChunk); ++b)
        kernel.backward(qkv, table, dout, dqkv, acc, b, h);
    }
  }
  if (!dtable) return;
  // The chunk sum per (h, i, j), c = 0, 1, ... in order (into chunk 0's slot of each head),
  // then per table entry t = (dy + ws - 1)(2 ws - 1) + (dx + ws - 1) its pairs
  // i = (yi, xi), j = (yi - dy, xi - dx) in row-major order of i.
#pragma omp parallel for schedule(static) if (chunks * nh * NN > 65536)
  for (int64_t hij = 0; hij < nh * NN; ++hij) {
    const int64_t h = hij / NN, ij = hij % NN;
    double acc = 0;
    for (int64_t c = 0; c < chunks; ++c) acc += partial[(size_t)((c * nh + h) * NN + ij)];
    partial[(size_t)(h * NN + ij)] = acc;
  }
  const int R = 2 * ws - 1;
  for (int t = 0; t < R * R; ++t) {
    const int dy = t / R - (ws - 1), dx = t % R - (ws - 1);
    for (int h = 0; h < nh; ++h) {
      double acc = 0;
      for (int yi = std::max(0, dy); yi < std::min(ws, ws + dy); ++yi)
        for (int xi = std::max(0, dx); xi < std::min(ws, ws + dx); ++xi) {
          const int i = yi * ws + xi, j = (yi - dy) * ws + (xi - dx);
          acc += partial[(size_t)(h * NN + (int64_t)i * N + j)];
        }
      dtable[t * nh + h] = (T)acc;
    }
  }
}

#define SR_INSTANTIATE(T)                                                                                  \
  template void window_attention_forward<T>(const T*, const T*, T*, const WindowAttentionShape&);          \
  template void window_attention_backward<T>(const T*, const T*, const T*, T*, T*, const WindowAttentionShape&);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
