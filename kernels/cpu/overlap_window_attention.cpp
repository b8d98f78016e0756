// HAT's overlapping cross-attention on the CPU (see overlap_window_attention.h). Two per-window
// workers share one driver: OverlapReference<T>, readable loops over contiguous copies with every
// element summed in index order in T (the double instantiation, which gradcheck checks), and
// OverlapFastFloat, the float path: the same copies, the products as attention_float's register
// blocked small GEMMs and the softmax rows vectorised, float sums in fixed orders.
#include "kernels/cpu/overlap_window_attention.h"

#include "kernels/cpu/simd_gcc_warnings.h"
#include "kernels/cpu/attention_float.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

namespace sr::cpu {

namespace {

using hat::overlap_relative_index;

// The tokens of query window w (row-major among the image's (H/ws)(W/ws) windows) of image b
// and of its key / value window: qtok[i] / kvtok[j] the image token (row of qkv) of query i /
// key j, -1 outside the image.
void locate_window(const OverlapWindowAttentionShape& s, int64_t b, int64_t w, std::vector<int64_t>& qtok,
                   std::vector<int64_t>& kvtok) {
  const int ws = s.window, wse = s.overlap_window, p = s.pad();
  const int64_t per_row = s.W / ws, y0 = (w / per_row) * ws, x0 = (w % per_row) * ws, base = b * s.H * s.W;
  for (int i = 0; i < ws * ws; ++i) qtok[i] = base + (y0 + i / ws) * s.W + x0 + i % ws;
  for (int j = 0; j < wse * wse; ++j) {
    const int64_t y = y0 - p + j / wse, x = x0 - p + j % wse;
    kvtok[j] = (y >= 0 && y < s.H && x >= 0 && x < s.W) ? base + y * s.W + x : -1;
  }
}

// ---- The reference: loops over contiguous copies, every element summed in index order in T. ----
template <typename T>
struct OverlapReference {
  const OverlapWindowAttentionShape& s;
  const int Nq, Nkv, d;
  const int64_t C;
  // qtok[i] / kvtok[j]: the image token (row of qkv) of query i / key j, -1 outside the image.
  std::vector<int64_t> qtok, kvtok;
  // q (Nq x d), scale q rounded to T (Nq x d), k (Nkv x d) and k^T (d x Nkv), v (Nkv x d) and
  // v^T (d x Nkv), dOut (Nq x d); P and dS (Nq x Nkv); per-row accumulators and the window's
  // key / value gradients (Nkv x d).
  std::vector<T> q, qs, k, kT, v, vT, go, P, dS, acc, dk, dv;

  OverlapReference(const OverlapWindowAttentionShape& shape, const T* /*table, read per pair*/,
                   const std::vector<float>& /*the float path's bias*/)
      : s(shape), Nq(s.q_tokens()), Nkv(s.kv_tokens()), d(s.head_dim), C(s.channels()), qtok(Nq), kvtok(Nkv),
        q((size_t)Nq * d), qs((size_t)Nq * d), k((size_t)Nkv * d), kT((size_t)Nkv * d), v((size_t)Nkv * d),
        P((size_t)Nq * Nkv), acc(d) {}

  void locate(int64_t b, int64_t w) { locate_window(s, b, w, qtok, kvtok); }

  // Head h's operands of the located window. q is scaled first and rounded to T, as PyTorch's
  // `q = q * self.scale` before `q @ k.transpose(-2, -1)`.
  void load(const T* qkv, int h) {
    const int64_t row = 3 * C, off = (int64_t)h * d;
    for (int i = 0; i < Nq; ++i)
      for (int e = 0; e < d; ++e) {
        q[(size_t)i * d + e] = qkv[qtok[i] * row + off + e];
        qs[(size_t)i * d + e] = (T)(q[(size_t)i * d + e] * (T)s.scale);
      }
    for (int j = 0; j < Nkv; ++j)
      for (int e = 0; e < d; ++e) {
        const bool in = kvtok[j] >= 0;
        k[(size_t)j * d + e] = in ? qkv[kvtok[j] * row + C + off + e] : T(0);
        v[(size_t)j * d + e] = in ? qkv[kvtok[j] * row + 2 * C + off + e] : T(0);
        kT[(size_t)e * Nkv + j] = k[(size_t)j * d + e];
      }
  }

  // P = softmax over rows of S = qs k^T + bias: S[i, j] summed over e in order (the j loop
  // innermost, over k^T's contiguous rows), then the bias, the row max subtracted, the row sum
  // in j order.
  void probabilities(const T* table, int h) {
    for (int i = 0; i < Nq; ++i) {
      T* Si = P.data() + (size_t)i * Nkv;
      std::fill(Si, Si + Nkv, T(0));
      for (int e = 0; e < d; ++e) {
        const T a = qs[(size_t)i * d + e];
        const T* kTe = kT.data() + (size_t)e * Nkv;
        for (int j = 0; j < Nkv; ++j) Si[j] += a * kTe[j];
      }
      T m = -INFINITY;
      for (int j = 0; j < Nkv; ++j) {
        Si[j] += table[(int64_t)overlap_relative_index(i, j, s.window, s.overlap_window) * s.heads + h];
        m = std::max(m, Si[j]);
      }
      T l = 0;
      for (int j = 0; j < Nkv; ++j) l += (Si[j] = std::exp(Si[j] - m));
      for (int j = 0; j < Nkv; ++j) Si[j] /= l;
    }
  }

  // out_I(i)[h*d + e] = sum_j P[i, j] v_j[e], j in order (for every e at once).
  void forward(const T* qkv, const T* table, T* out, int64_t b, int64_t w, int h) {
    locate(b, w);
    load(qkv, h);
    probabilities(table, h);
    for (int i = 0; i < Nq; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      const T* Pi = P.data() + (size_t)i * Nkv;
      for (int j = 0; j < Nkv; ++j)
        for (int e = 0; e < d; ++e) acc[e] += Pi[j] * v[(size_t)j * d + e];
      std::copy(acc.begin(), acc.end(), out + qtok[i] * C + (int64_t)h * d);
    }
  }

  // Window w of image b, head h: dq of its queries written, its keys' and values' gradients added
  // into dqkv (when not null), dS added into table_acc (Nq x Nkv, when not null).
  void backward(const T* qkv, const T* table, const T* dout, T* dqkv, double* table_acc, int64_t b, int64_t w,
                int h) {
    locate(b, w);
    load(qkv, h);
    probabilities(table, h);
    go.resize((size_t)Nq * d), vT.resize((size_t)Nkv * d), dS.resize((size_t)Nq * Nkv);
    for (int i = 0; i < Nq; ++i) std::copy_n(dout + qtok[i] * C + (int64_t)h * d, d, go.begin() + (size_t)i * d);
    for (int j = 0; j < Nkv; ++j)
      for (int e = 0; e < d; ++e) vT[(size_t)e * Nkv + j] = v[(size_t)j * d + e];
    // dP[i, j] = dOut_i . v_j (over e in order), D_i = sum_j P dP (j in order), dS = P (dP - D).
    for (int i = 0; i < Nq; ++i) {
      T* dSi = dS.data() + (size_t)i * Nkv;
      const T* Pi = P.data() + (size_t)i * Nkv;
      std::fill(dSi, dSi + Nkv, T(0));
      for (int e = 0; e < d; ++e) {
        const T g = go[(size_t)i * d + e];
        const T* vTe = vT.data() + (size_t)e * Nkv;
        for (int j = 0; j < Nkv; ++j) dSi[j] += g * vTe[j];
      }
      T D = 0;
      for (int j = 0; j < Nkv; ++j) D += Pi[j] * dSi[j];
      for (int j = 0; j < Nkv; ++j) dSi[j] = Pi[j] * (dSi[j] - D);
    }
    if (table_acc)
      for (size_t ij = 0; ij < dS.size(); ++ij) table_acc[ij] += (double)dS[ij];
    if (!dqkv) return;
    const int64_t row = 3 * C, off = (int64_t)h * d;
    // dq_i = scale sum_j dS[i, j] k_j (j in order).
    for (int i = 0; i < Nq; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      const T* dSi = dS.data() + (size_t)i * Nkv;
      for (int j = 0; j < Nkv; ++j)
        for (int e = 0; e < d; ++e) acc[e] += dSi[j] * k[(size_t)j * d + e];
      T* gq = dqkv + qtok[i] * row + off;
      for (int e = 0; e < d; ++e) gq[e] = (T)(s.scale * acc[e]);
    }
    // dk_j = scale sum_i dS[i, j] q_i, dv_j = sum_i P[i, j] dOut_i (i in order), then added to
    // the keys' and values' rows of dqkv (keys outside the image dropped).
    dk.assign((size_t)Nkv * d, T(0));
    dv.assign((size_t)Nkv * d, T(0));
    for (int i = 0; i < Nq; ++i) {
      const T* dSi = dS.data() + (size_t)i * Nkv;
      const T* Pi = P.data() + (size_t)i * Nkv;
      const T* qi = q.data() + (size_t)i * d;
      const T* gi = go.data() + (size_t)i * d;
      for (int j = 0; j < Nkv; ++j) {
        T* dkj = dk.data() + (size_t)j * d;
        T* dvj = dv.data() + (size_t)j * d;
        for (int e = 0; e < d; ++e) {
          dkj[e] += dSi[j] * qi[e];
          dvj[e] += Pi[j] * gi[e];
        }
      }
    }
    for (int j = 0; j < Nkv; ++j) {
      if (kvtok[j] < 0) continue;
      T* gk = dqkv + kvtok[j] * row + C + off;
      T* gv = gk + C;
      for (int e = 0; e < d; ++e) {
        gk[e] += (T)(s.scale * dk[(size_t)j * d + e]);
        gv[e] += dv[(size_t)j * d + e];
      }
    }
  }
};

// ---- The float path: the reference's copies in float, S = qs k^T, P v, dP = dOut v^T,
// dq = dS k, dk = dS^T qs and dv = P^T dOut as attention_float's small GEMMs (each element
// summed in float over its inner index in order, one FMA a step), the softmax rows vectorised
// (row_max, softmax_exp, the row sum and D = sum_j P dP in ordered_sum's 16 partials). PyTorch's
// float32 rounding points: q * scale rounded to float, S = qs k^T, + bias, softmax, P v; its
// key gradient dS^T (q * scale). ----
struct OverlapFastFloat {
  const OverlapWindowAttentionShape& s;
  const int Nq, Nkv, d;
  const int64_t C;
  std::vector<int64_t> qtok, kvtok;
  // qs (Nq x d), k^T (d x Nkv), v (Nkv x d), P (Nq x Nkv), the window's rows of out (Nq x d); for
  // the backward k (Nkv x d), v^T (d x Nkv), dOut (Nq x d), dS (Nq x Nkv) and the gradients.
  std::vector<float> qs, kT, v, S, o, k, vT, go, dS, gq, gk, gv;
  const std::vector<float>& bias;  // bias_table(): (nh, Nq, Nkv), shared by the threads

  OverlapFastFloat(const OverlapWindowAttentionShape& shape, const float* /*table: read through bias_all*/,
                   const std::vector<float>& bias_all)
      : s(shape), Nq(s.q_tokens()), Nkv(s.kv_tokens()), d(s.head_dim), C(s.channels()), qtok(Nq),
        kvtok(Nkv), qs((size_t)Nq * d), kT((size_t)d * Nkv), v((size_t)Nkv * d), S((size_t)Nq * Nkv),
        o((size_t)Nq * d), bias(bias_all) {}

  const float* bias_of(int h) const { return bias.data() + (size_t)h * Nq * Nkv; }

  void load(const float* qkv, int h, bool backward) {
    const int64_t row = 3 * C, off = (int64_t)h * d;
    const float sc = (float)s.scale;
    for (int i = 0; i < Nq; ++i) {
      const float* q = qkv + qtok[i] * row + off;
      for (int e = 0; e < d; ++e) qs[(size_t)i * d + e] = q[e] * sc;
    }
    for (int j = 0; j < Nkv; ++j) {
      const bool in = kvtok[j] >= 0;
      const float* kj = in ? qkv + kvtok[j] * row + C + off : nullptr;
      for (int e = 0; e < d; ++e) {
        kT[(size_t)e * Nkv + j] = in ? kj[e] : 0.f;
        v[(size_t)j * d + e] = in ? kj[C + e] : 0.f;
      }
      if (backward)
        for (int e = 0; e < d; ++e) {
          k[(size_t)j * d + e] = in ? kj[e] : 0.f;
          vT[(size_t)e * Nkv + j] = in ? kj[C + e] : 0.f;
        }
    }
  }

  // S <- P: S = qs k^T (over e in order), + bias; softmax per row.
  void probabilities(int h) {
    attention_float::small_gemm(Nq, Nkv, d, qs.data(), d, kT.data(), Nkv, S.data(), Nkv);
    const float* bh = bias_of(h);
    for (int i = 0; i < Nq; ++i) {
      float* __restrict Si = S.data() + (size_t)i * Nkv;
      const float* __restrict bi = bh + (size_t)i * Nkv;
      for (int j = 0; j < Nkv; ++j) Si[j] += bi[j];
      const float m = attention_float::row_max(Si, Nkv);
      for (int j = 0; j < Nkv; ++j) Si[j] = attention_float::softmax_exp(Si[j] - m);
      const float l = attention_float::ordered_sum(Si, Nkv);
      for (int j = 0; j < Nkv; ++j) Si[j] /= l;
    }
  }

  void forward(const float* qkv, const float* /*table*/, float* out, int64_t b, int64_t w, int h) {
    locate_window(s, b, w, qtok, kvtok);
    load(qkv, h, false);
    probabilities(h);
    attention_float::small_gemm(Nq, d, Nkv, S.data(), Nkv, v.data(), d, o.data(), d);  // P v over j in order
    for (int i = 0; i < Nq; ++i) std::copy_n(o.data() + (size_t)i * d, d, out + qtok[i] * C + (int64_t)h * d);
  }

  void backward(const float* qkv, const float* /*table*/, const float* dout, float* dqkv, double* table_acc, int64_t b,
                int64_t w, int h) {
    k.resize((size_t)Nkv * d), vT.resize((size_t)d * Nkv), go.resize((size_t)Nq * d), dS.resize((size_t)Nq * Nkv);
    locate_window(s, b, w, qtok, kvtok);
    load(qkv, h, true);
    for (int i = 0; i < Nq; ++i) std::copy_n(dout + qtok[i] * C + (int64_t)h * d, d, go.begin() + (size_t)i * d);
    probabilities(h);
    // dP = dOut v^T (over e in order); D_i = sum_j P dP (ordered_dot); dS = P (dP - D), in place.
    attention_float::small_gemm(Nq, Nkv, d, go.data(), d, vT.data(), Nkv, dS.data(), Nkv);
    for (int i = 0; i < Nq; ++i) {
      float* __restrict dSi = dS.data() + (size_t)i * Nkv;
      const float* __restrict Pi = S.data() + (size_t)i * Nkv;
      const float D = attention_float::ordered_dot(Pi, dSi, Nkv);
      for (int j = 0; j < Nkv; ++j) dSi[j] = Pi[j] * (dSi[j] - D);
    }
    if (table_acc)
      for (size_t ij = 0; ij < dS.size(); ++ij) table_acc[ij] += (double)dS[ij];
    if (!dqkv) return;
    gq.resize((size_t)Nq * d), gk.resize((size_t)Nkv * d), gv.resize((size_t)Nkv * d);
    const int64_t row = 3 * C, off = (int64_t)h * d;
    const float sc = (float)s.scale;
    // dq = scale (dS k) over j in order; written.
    attention_float::small_gemm(Nq, d, Nkv, dS.data(), Nkv, k.data(), d, gq.data(), d);
    for (int i = 0; i < Nq; ++i) {
      float* r = dqkv + qtok[i] * row + off;
      for (int e = 0; e < d; ++e) r[e] = gq[(size_t)i * d + e] * sc;
    }
    // dk = dS^T qs and dv = P^T dOut over i in order (dS and P read transposed: element (j, i) at
    // j + i Nkv); added to the rows of the keys inside the image.
    attention_float::small_gemm(Nkv, d, Nq, dS.data(), 1, qs.data(), d, gk.data(), d, Nkv);
    attention_float::small_gemm(Nkv, d, Nq, S.data(), 1, go.data(), d, gv.data(), d, Nkv);
    for (int j = 0; j < Nkv; ++j) {
      if (kvtok[j] < 0) continue;
      float* rk = dqkv + kvtok[j] * row + C + off;
      float* rv = rk + C;
      for (int e = 0; e < d; ++e) {
        rk[e] += gk[(size_t)j * d + e];
        rv[e] += gv[(size_t)j * d + e];
      }
    }
  }
};

template <typename T>
using OverlapKernel = std::conditional_t<std::is_same_v<T, float>, OverlapFastFloat, OverlapReference<T>>;

bool overlap_parallel(const OverlapWindowAttentionShape& s) {  // small calls (gradcheck's) stay serial
  return s.images * s.windows_per_image() * s.heads * s.q_tokens() * s.kv_tokens() * s.head_dim > 65536;
}

// The float path's bias, table[index(i, j), h] as (nh, Nq, Nkv) floats (3.5 MB at HAT's shape),
// built once per call and read by every thread; the reference reads the table per pair.
template <typename T>
std::vector<float> bias_table(const OverlapWindowAttentionShape& s, const T* table) {
  if constexpr (!std::is_same_v<T, float>) {
    return {};
  } else {
    const int Nq = s.q_tokens(), Nkv = s.kv_tokens();
    std::vector<float> b((size_t)s.heads * Nq * Nkv);
#pragma omp parallel for schedule(static) if (overlap_parallel(s))
    for (int i = 0; i < Nq; ++i)
      for (int j = 0; j < Nkv; ++j) {
        const float* row = table + (int64_t)hat::overlap_relative_index(i, j, s.window, s.overlap_window) * s.heads;
        for (int h = 0; h < s.heads; ++h) b[((size_t)h * Nq + i) * Nkv + j] = row[h];
      }
    return b;
  }
}


}  // namespace

template <typename T>
void overlap_window_attention_forward(const T* qkv, const T* table, T* out, const OverlapWindowAttentionShape& s) {
  const int nh = s.heads;
  const int64_t nW = s.windows_per_image(), triples = s.images * nW * nh;
  const std::vector<float> bias = bias_table(s, table);
#pragma omp parallel if (overlap_parallel(s))
  {
    OverlapKernel<T> window(s, table, bias);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < triples; ++t) window.forward(qkv, table, out, t / (nW * nh), (t / nh) % nW, (int)(t % nh));
  }
}

template <typename T>
void overlap_window_attention_backward(const T* qkv, const T* table, const T* dout, T* dqkv, T* dtable,
                                       const OverlapWindowAttentionShape& s) {
  const int nh = s.heads, Nq = s.q_tokens(), Nkv = s.kv_tokens(), d = s.head_dim;
  const int64_t C = s.channels(), tokens = s.images * s.H * s.W, nW = s.windows_per_image();
  const size_t NN = (size_t)Nq * Nkv;
  const std::vector<float> bias = bias_table(s, table);
  // One task per head: the head's columns of dqkv and of dtable belong to it alone.
#pragma omp parallel for schedule(dynamic, 1) if (overlap_parallel(s))
  for (int h = 0; h < nh; ++h) {
    if (dqkv)  // the keys' and values' columns are sums over windows; the queries' are written
      for (int64_t t = 0; t < tokens; ++t) {
        std::fill_n(dqkv + t * 3 * C + C + (int64_t)h * d, d, T(0));
        std::fill_n(dqkv + t * 3 * C + 2 * C + (int64_t)h * d, d, T(0));
      }
    std::vector<double> partial(dtable ? NN : 0, 0.0);
    OverlapKernel<T> window(s, table, bias);
    for (int64_t b = 0; b < s.images; ++b)
      for (int64_t w = 0; w < nW; ++w)
        window.backward(qkv, table, dout, dqkv, dtable ? partial.data() : nullptr, b, w, h);
    if (!dtable) continue;
    // Each table entry: its pairs' partials in row-major (i, j) order.
    std::vector<double> entry(s.table_rows(), 0.0);
    for (int i = 0; i < Nq; ++i)
      for (int j = 0; j < Nkv; ++j)
        entry[overlap_relative_index(i, j, s.window, s.overlap_window)] += partial[(size_t)i * Nkv + j];
    for (int t = 0; t < s.table_rows(); ++t) dtable[(int64_t)t * nh + h] = (T)entry[t];
  }
}

#define SR_INSTANTIATE(T)                                                                                   \
  template void overlap_window_attention_forward<T>(const T*, const T*, T*, const OverlapWindowAttentionShape&); \
  template void overlap_window_attention_backward<T>(const T*, const T*, const T*, T*, T*,                  \
                                                     const OverlapWindowAttentionShape&);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
