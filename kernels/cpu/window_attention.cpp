// Swin's fused window attention on the CPU (see window_attention.h): the readable reference.
#include "kernels/cpu/window_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sr::cpu {

namespace {

using swin::kMaskValue;
using swin::region;
using swin::relative_index;

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

// P (N x N, row-major) of window b, head h: S[i, j] = (scale q_i) . k_j + bias + mask, then a
// softmax per row with the row max subtracted. q is scaled first and rounded to T, as PyTorch's
// `q = q * self.scale` before `q @ k.transpose(-2, -1)`; the dot products run in double.
template <typename T>
void attention_probabilities(const Head<T>& x, const T* table, int64_t b, int h, const WindowAttentionShape& s,
                             std::vector<double>& P) {
  const int N = s.tokens(), d = s.head_dim, ws = s.window;
  const int64_t w = b % s.windows_per_image();
  std::vector<double> qs(d);
  std::vector<int> label(N);
  for (int t = 0; t < N; ++t) label[t] = s.shift > 0 ? region(w, t, s.H, s.W, ws, s.shift) : 0;
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

}  // namespace

template <typename T>
void window_attention_forward(const T* qkv, const T* table, T* out, const WindowAttentionShape& s) {
  const int N = s.tokens(), d = s.head_dim, nh = s.heads;
  const int64_t C = s.channels(), pairs = s.windows * nh;
#pragma omp parallel if (pairs * N * N * d > 65536)  // small calls (gradcheck's) stay serial
  {
    std::vector<double> P((size_t)N * N), acc(d);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < pairs; ++p) {
      const int64_t b = p / nh;
      const int h = (int)(p % nh);
      const Head<T> x = head_of(qkv, b, h, s);
      attention_probabilities(x, table, b, h, s, P);
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
  }
}

template <typename T>
void window_attention_backward(const T* qkv, const T* table, const T* dout, T* dqkv, T* dtable,
                               const WindowAttentionShape& s) {
  const int N = s.tokens(), d = s.head_dim, nh = s.heads, ws = s.window;
  const int64_t C = s.channels(), pairs = s.windows * nh, NN = (int64_t)N * N;
  // dS of every (window, head) for dtable's sums: B_ nh N N doubles, only while this runs.
  std::vector<double> dS_all(dtable ? (size_t)(pairs * NN) : 0);
#pragma omp parallel if (pairs * N * N * d > 65536)  // small calls (gradcheck's) stay serial
  {
    std::vector<double> P((size_t)NN), dS((size_t)NN), aq(d), ak(d), av(d);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < pairs; ++p) {
      const int64_t b = p / nh;
      const int h = (int)(p % nh);
      const Head<T> x = head_of(qkv, b, h, s);
      const T* go = dout + b * N * C + (int64_t)h * d;  // dOut_i at go + i * C
      attention_probabilities(x, table, b, h, s, P);
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
      if (dtable) std::copy(dS.begin(), dS.end(), dS_all.begin() + p * NN);
    }
  }
  if (!dtable) return;
  // The window sum per (h, i, j), b = 0, 1, ... in order (into window 0's slot of each head),
  // then per table entry t = (dy + ws - 1)(2 ws - 1) + (dx + ws - 1) its pairs
  // i = (yi, xi), j = (yi - dy, xi - dx) in row-major order of i.
#pragma omp parallel for schedule(static) if (s.windows * nh * NN > 65536)
  for (int64_t hij = 0; hij < nh * NN; ++hij) {
    const int64_t h = hij / NN, ij = hij % NN;
    double acc = 0;
    for (int64_t b = 0; b < s.windows; ++b) acc += dS_all[(size_t)((b * nh + h) * NN + ij)];
    dS_all[(size_t)(h * NN + ij)] = acc;
  }
  const int R = 2 * ws - 1;
  for (int t = 0; t < R * R; ++t) {
    const int dy = t / R - (ws - 1), dx = t % R - (ws - 1);
    for (int h = 0; h < nh; ++h) {
      double acc = 0;
      for (int yi = std::max(0, dy); yi < std::min(ws, ws + dy); ++yi)
        for (int xi = std::max(0, dx); xi < std::min(ws, ws + dx); ++xi) {
          const int i = yi * ws + xi, j = (yi - dy) * ws + (xi - dx);
          acc += dS_all[(size_t)(h * NN + (int64_t)i * N + j)];
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
