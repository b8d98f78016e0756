// Swin's fused window attention on CUDA (see window_attention.h).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/window_attention.h"

namespace sr::cuda {

namespace {

using swin::region;
using swin::relative_index;

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kMaxTokens = 256, kMaxHeadDim = 64;
constexpr float kMask = (float)swin::kMaskValue;

// The shared-memory layout of a block (floats): two N x ld tiles (ld = d | 1: an odd row
// stride, so the 32 lanes reading k_j[e] for 32 different j hit 32 banks), the head's column
// of the table, the tokens' region labels, the row statistics (backward), and per warp two
// d-vectors and two N-rows.
struct Layout {
  int N, d, ld, R2;
  bool stats;
  __host__ __device__ int tiles() const { return 2 * N * ld; }
  __host__ __device__ int bias() const { return tiles(); }
  __host__ __device__ int label() const { return bias() + R2; }
  __host__ __device__ int stats_at() const { return label() + N; }
  __host__ __device__ int warp_at(int w) const { return stats_at() + (stats ? 3 * N : 0) + w * (2 * d + 2 * N); }
  __host__ __device__ int floats() const { return warp_at(kWarps); }
};

__host__ __device__ Layout layout_of(const WindowAttentionShape& s, bool stats) {
  return Layout{s.tokens(), s.head_dim, s.head_dim | 1, s.table_rows(), stats};
}

// The per-block prologue: the head's table column and the tokens' region labels (all 0
// without a shift: no mask).
__device__ void load_bias_and_labels(const float* table, const WindowAttentionShape& s, int h, int64_t b,
                                     const Layout& L, float* smem) {
  float* bias = smem + L.bias();
  int* label = reinterpret_cast<int*>(smem + L.label());
  for (int r = threadIdx.x; r < L.R2; r += kThreads) bias[r] = table[(int64_t)r * s.heads + h];
  const int64_t w = b % s.windows_per_image();
  for (int t = threadIdx.x; t < L.N; t += kThreads)
    label[t] = s.shift > 0 ? region(w, t, s.H, s.W, s.window, s.shift) : 0;
}

// rows t < N of a (B_, N, 3C) or (B_, N, C) matrix (row stride `row`, starting at `src`) times
// `factor` into tile[t * ld + e].
__device__ void load_tile(const float* src, int64_t row, int N, int d, int ld, float factor, float* tile) {
  for (int idx = threadIdx.x; idx < N * d; idx += kThreads) {
    const int t = idx / d, e = idx - t * d;
    tile[t * ld + e] = src[t * row + e] * factor;
  }
}

// S[i, j] of the pair from the scaled q_i and k_j: the dot, then the bias, then the mask,
// PyTorch's order of the adds.
__device__ __forceinline__ float score(const float* qs, const float* k, int d, int i, int j, int ws, const float* bias,
                                       const int* label) {
  float v = dot_in_order(qs, k, d) + bias[relative_index(i, j, ws)];
  if (label[i] != label[j]) v += kMask;
  return v;
}

// Row i of a (window, head), by one warp: p[j] = exp(S[i, j] - m) for the scaled q_i `qs` and
// the keys `ks` (row stride ld); m (the row max) and the row sum l of p come back in every
// lane. The forward and the backward's row phase call it; the column phase recomputes each
// element with the same score and expf from the stored m and l.
__device__ __forceinline__ void row_exponentials(const float* qs, const float* ks, int ld, int N, int d, int i,
                                                 int ws, const float* bias, const int* label, int lane, float* p,
                                                 float& m, float& l) {
  m = -INFINITY;
  for (int j = lane; j < N; j += 32) {
    p[j] = score(qs, ks + j * ld, d, i, j, ws, bias, label);
    m = fmaxf(m, p[j]);
  }
  m = warp_all_max(m);
  l = 0.f;
  for (int j = lane; j < N; j += 32) l += (p[j] = expf(p[j] - m));
  l = warp_all_sum(l);
}

__global__ void __launch_bounds__(kThreads)
    window_attention_forward_kernel(const float* __restrict__ qkv, const float* __restrict__ table,
                                    float* __restrict__ out, WindowAttentionShape s) {
  const Layout L = layout_of(s, false);
  const int N = L.N, d = L.d, ld = L.ld, nh = s.heads, ws = s.window;
  const int64_t b = blockIdx.x / nh, C = (int64_t)nh * d, row = 3 * C;
  const int h = (int)(blockIdx.x % nh), lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const float scale = (float)s.scale;
  const float* q = qkv + b * N * row + (int64_t)h * d;
  SR_DYNAMIC_SHARED(float, smem);
  float* ks = smem;
  float* vs = smem + N * ld;
  const float* bias = smem + L.bias();
  const int* label = reinterpret_cast<const int*>(smem + L.label());
  float* qw = smem + L.warp_at(warp);  // the warp's scaled q_i
  float* pw = qw + 2 * d;              // the warp's row of S, then of P
  load_tile(q + C, row, N, d, ld, 1.f, ks);
  load_tile(q + 2 * C, row, N, d, ld, 1.f, vs);
  load_bias_and_labels(table, s, h, b, L, smem);
  __syncthreads();
  for (int i = warp; i < N; i += kWarps) {
    for (int e = lane; e < d; e += 32) qw[e] = q[i * row + e] * scale;  // q scaled first, as PyTorch
    __syncwarp();
    float m, l;
    row_exponentials(qw, ks, ld, N, d, i, ws, bias, label, lane, pw, m, l);
    for (int j = lane; j < N; j += 32) pw[j] /= l;
    __syncwarp();
    // out_i[e] = sum_j P[i, j] v_j[e], j in order.
    for (int e = lane; e < d; e += 32) {
      float acc = 0.f;
      for (int j = 0; j < N; ++j) acc = fmaf(pw[j], vs[j * ld + e], acc);
      out[(b * N + i) * C + (int64_t)h * d + e] = acc;
    }
    __syncwarp();  // qw and pw are the next row's
  }
}

__global__ void __launch_bounds__(kThreads)
    window_attention_backward_kernel(const float* __restrict__ qkv, const float* __restrict__ dout,
                                     const float* __restrict__ table, float* __restrict__ dqkv,
                                     float* __restrict__ dS_all, WindowAttentionShape s) {
  const Layout L = layout_of(s, true);
  const int N = L.N, d = L.d, ld = L.ld, nh = s.heads, ws = s.window;
  const int64_t b = blockIdx.x / nh, C = (int64_t)nh * d, row = 3 * C;
  const int h = (int)(blockIdx.x % nh), lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const float scale = (float)s.scale;
  const float* q = qkv + b * N * row + (int64_t)h * d;
  const float* go = dout + b * N * C + (int64_t)h * d;
  float* gq = dqkv ? dqkv + b * N * row + (int64_t)h * d : nullptr;
  SR_DYNAMIC_SHARED(float, smem);
  float* A = smem;          // phase 1: k; phase 2: scale q
  float* B = smem + N * ld; // phase 1: v; phase 2: dOut
  const float* bias = smem + L.bias();
  const int* label = reinterpret_cast<const int*>(smem + L.label());
  float* row_max = smem + L.stats_at();
  float* row_sum = row_max + N;
  float* row_D = row_sum + N;
  float* va = smem + L.warp_at(warp);  // the warp's two d-vectors and two N-rows
  float* vb = va + d;
  float* ra = vb + d;
  float* rb = ra + N;
  load_tile(q + C, row, N, d, ld, 1.f, A);
  load_tile(q + 2 * C, row, N, d, ld, 1.f, B);
  load_bias_and_labels(table, s, h, b, L, smem);
  __syncthreads();
  // Phase 1, row i: ra = P[i, :], rb = dP[i, :] then dS[i, :].
  for (int i = warp; i < N; i += kWarps) {
    for (int e = lane; e < d; e += 32) {
      va[e] = q[i * row + e] * scale;
      vb[e] = go[i * C + e];
    }
    __syncwarp();
    float m, l;
    row_exponentials(va, A, ld, N, d, i, ws, bias, label, lane, ra, m, l);
    float D = 0.f;
    for (int j = lane; j < N; j += 32) {
      ra[j] /= l;
      rb[j] = dot_in_order(vb, B + j * ld, d);
      D = fmaf(ra[j], rb[j], D);
    }
    D = warp_all_sum(D);
    for (int j = lane; j < N; j += 32) {
      rb[j] = ra[j] * (rb[j] - D);
      if (dS_all) dS_all[((b * nh + h) * N + i) * N + j] = rb[j];
    }
    if (lane == 0) {
      row_max[i] = m;
      row_sum[i] = l;
      row_D[i] = D;
    }
    __syncwarp();
    // dQ_i[e] = scale sum_j dS[i, j] k_j[e], j in order.
    if (gq)
      for (int e = lane; e < d; e += 32) {
        float acc = 0.f;
        for (int j = 0; j < N; ++j) acc = fmaf(rb[j], A[j * ld + e], acc);
        gq[i * row + e] = scale * acc;
      }
    __syncwarp();
  }
  if (!gq) return;  // the whole block: only the table's gradient was wanted
  __syncthreads();  // A, B are phase 2's now
  load_tile(q, row, N, d, ld, scale, A);
  load_tile(go, C, N, d, ld, 1.f, B);
  __syncthreads();
  // Phase 2, column j: ra = P[:, j], rb = dS[:, j], recomputed as in phase 1 from the row's
  // max, sum and D (the same operations in the same order: the same bits).
  for (int j = warp; j < N; j += kWarps) {
    for (int e = lane; e < d; e += 32) {
      va[e] = q[j * row + C + e];
      vb[e] = q[j * row + 2 * C + e];
    }
    __syncwarp();
    for (int i = lane; i < N; i += 32) {
      const float p = expf(score(A + i * ld, va, d, i, j, ws, bias, label) - row_max[i]) / row_sum[i];
      ra[i] = p;
      rb[i] = p * (dot_in_order(B + i * ld, vb, d) - row_D[i]);
    }
    __syncwarp();
    // dK_j[e] = sum_i dS[i, j] (scale q_i[e]), dV_j[e] = sum_i P[i, j] dOut_i[e], i in order.
    for (int e = lane; e < d; e += 32) {
      float ak = 0.f, av = 0.f;
      for (int i = 0; i < N; ++i) {
        ak = fmaf(rb[i], A[i * ld + e], ak);
        av = fmaf(ra[i], B[i * ld + e], av);
      }
      gq[j * row + C + e] = ak;
      gq[j * row + 2 * C + e] = av;
    }
    __syncwarp();
  }
}

// sums[h, i, j] = sum_b dS_all[b, h, i, j], b = 0, 1, ... in order, in double: one thread per
// (h, i, j), so each sum has one order whatever the grid.
__global__ void window_sum_kernel(const float* __restrict__ dS_all, double* __restrict__ sums, int64_t windows,
                                  int64_t hNN) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < hNN; k += (int64_t)gridDim.x * blockDim.x) {
    double acc = 0;
    for (int64_t b = 0; b < windows; ++b) acc += (double)dS_all[b * hNN + k];
    sums[k] = acc;
  }
}

// dtable[t, h] = sum of sums[h, i, j] over the pairs of entry t = (dy + ws - 1)(2 ws - 1) +
// (dx + ws - 1): i = (yi, xi), j = (yi - dy, xi - dx), i in row-major order. One thread each.
__global__ void table_gather_kernel(const double* __restrict__ sums, float* __restrict__ dtable, int ws, int nh) {
  const int R = 2 * ws - 1, N = ws * ws;
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= R * R * nh) return;
  const int t = k / nh, h = k - t * nh, dy = t / R - (ws - 1), dx = t % R - (ws - 1);
  double acc = 0;
  for (int yi = max(0, dy); yi < min(ws, ws + dy); ++yi)
    for (int xi = max(0, dx); xi < min(ws, ws + dx); ++xi)
      acc += sums[((int64_t)h * N + yi * ws + xi) * N + (yi - dy) * ws + (xi - dx)];
  dtable[k] = (float)acc;
}

void check_shape(const char* op, const WindowAttentionShape& s) {
  SR_CHECK(s.window >= 1 && s.tokens() <= kMaxTokens && s.head_dim >= 1 && s.head_dim <= kMaxHeadDim, op,
           ": the CUDA kernels take windows of at most ", kMaxTokens, " tokens and heads of at most ", kMaxHeadDim,
           " channels, got window ", s.window, " (", s.tokens(), " tokens) and head dim ", s.head_dim);
  SR_CHECK(s.windows * s.heads < (int64_t{1} << 31), op, ": ", s.windows, " windows x ", s.heads,
           " heads exceed the grid");
}

template <class Kernel>
size_t shared_bytes_for(const char* op, Kernel kernel, const Layout& L) {
  const size_t bytes = sizeof(float) * (size_t)L.floats(), limit = max_shared_bytes_optin();
  SR_CHECK(bytes <= limit, op, ": the CUDA kernel keeps a window's keys and values in shared memory, of which this GPU "
           "gives a block at most ", limit / 1024, " KiB; this window and head size need ", (bytes + 1023) / 1024,
           " KiB");
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
  return bytes;
}

}  // namespace

void window_attention_forward(const float* qkv, const float* table, float* out, const WindowAttentionShape& s) {
  check_shape("window_attention", s);
  if (s.windows == 0 || s.heads == 0) return;
  const size_t bytes = shared_bytes_for("window_attention", window_attention_forward_kernel, layout_of(s, false));
  launch_kernel(window_attention_forward_kernel, dim3((unsigned)(s.windows * s.heads)), kThreads, bytes,
                current_stream(), qkv, table, out, s);
  CUDA_CHECK_LAUNCH("window_attention");
}

void window_attention_backward(const float* qkv, const float* table, const float* dout, float* dqkv, float* dtable,
                               const WindowAttentionShape& s) {
  check_shape("window_attention_backward", s);
  if (s.heads == 0 || (!dqkv && !dtable)) return;
  const int64_t NN = (int64_t)s.tokens() * s.tokens(), hNN = s.heads * NN;
  if (s.windows == 0) {  // no window: a zero table gradient
    if (dtable) CUDA_CHECK(cudaMemsetAsync(dtable, 0, sizeof(float) * s.table_rows() * s.heads, current_stream()));
    return;
  }
  DeviceScratch dS_all(dtable ? sizeof(float) * (size_t)(s.windows * hNN) : 0);
  const size_t bytes = shared_bytes_for("window_attention_backward", window_attention_backward_kernel, layout_of(s, true));
  launch_kernel(window_attention_backward_kernel, dim3((unsigned)(s.windows * s.heads)), kThreads, bytes,
                current_stream(), qkv, dout, table, dqkv, dS_all.as<float>(), s);
  CUDA_CHECK_LAUNCH("window_attention_backward");
  if (!dtable) return;
  DeviceScratch sums(sizeof(double) * (size_t)hNN);
  launch_kernel(window_sum_kernel, grid_for(hNN), kBlock, 0, current_stream(), dS_all.as<float>(), sums.as<double>(),
                s.windows, hNN);
  CUDA_CHECK_LAUNCH("window_attention_backward (window sums)");
  const int entries = s.table_rows() * s.heads;
  launch_kernel(table_gather_kernel, grid_for(entries), kBlock, 0, current_stream(), sums.as<double>(), dtable,
                s.window, s.heads);
  CUDA_CHECK_LAUNCH("window_attention_backward (table gather)");
}

}  // namespace sr::cuda
