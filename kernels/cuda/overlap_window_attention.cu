// HAT's overlapping cross-attention on CUDA (see overlap_window_attention.h).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/overlap_window_attention.h"

namespace sr::cuda {

namespace {

using hat::overlap_relative_index;

// The forward runs 8 warps a block, the backward 4: its per-warp table rows would take the
// backward past 227 KiB at HAT's shape with 8. One block fits an SM at HAT's shape either way,
// so the forward's 8 warps are what hides its shared-memory latency.
constexpr int kForwardWarps = 8, kBackwardWarps = 4;
constexpr int kMaxHeadDim = 64;

// The shared-memory layout of a block (floats): two Nkv x ld tiles (ld = d | 1: an odd row
// stride, so the 32 lanes reading k_j[e] for 32 different j hit 32 banks; the backward's column
// phase reuses them for Nq <= Nkv rows of scale q and dOut), the head's column of the table
// (R^2), the query rows' statistics (backward: max, sum, D), per warp a d-vector and an
// Nkv-row (forward: scale q_i and S / P of the row) or two of each (backward), and per warp a
// table-sized row of dS sums (backward with the table's gradient).
struct Layout {
  int Nq, Nkv, d, ld, R2;
  bool backward;
  int warps;
  __host__ __device__ int threads() const { return 32 * warps; }
  __host__ __device__ int tiles() const { return 2 * Nkv * ld; }
  __host__ __device__ int bias() const { return tiles(); }
  __host__ __device__ int stats_at() const { return bias() + R2; }
  __host__ __device__ int per_warp() const { return (backward ? 2 : 1) * (d + Nkv); }
  __host__ __device__ int warp_at(int w) const { return stats_at() + (backward ? 3 * Nq : 0) + w * per_warp(); }
  __host__ __device__ int table_at(int w) const { return warp_at(warps) + w * R2; }
  __host__ __device__ int floats() const { return table_at(backward ? warps : 0); }
};

__host__ __device__ Layout layout_of(const OverlapWindowAttentionShape& s, bool backward) {
  return Layout{s.q_tokens(), s.kv_tokens(), s.head_dim, s.head_dim | 1, s.table_rows(), backward,
                backward ? kBackwardWarps : kForwardWarps};
}

// Where block (b nW + w) nh + h sits: its image b, head h, the top-left (y0, x0) of its query
// window, the first image token of b.
struct Site {
  int64_t b, w, base;
  int h;
  int64_t y0, x0;
};

__device__ Site site_of(const OverlapWindowAttentionShape& s) {
  const int64_t nW = s.windows_per_image(), per_row = s.W / s.window;
  Site t;
  const int64_t bw = blockIdx.x / s.heads;
  t.h = (int)(blockIdx.x % s.heads);
  t.b = bw / nW;
  t.w = bw % nW;
  t.base = t.b * s.H * s.W;
  t.y0 = (t.w / per_row) * s.window;
  t.x0 = (t.w % per_row) * s.window;
  return t;
}

// The image token of query i of the window (always inside the image).
__device__ __forceinline__ int64_t query_token(const OverlapWindowAttentionShape& s, const Site& t, int i) {
  return t.base + (t.y0 + i / s.window) * s.W + t.x0 + i % s.window;
}

// The image token of key j of the window's wse x wse key window, -1 outside the image
// (nn.Unfold's zero padding p = (wse - ws) / 2 on every side).
__device__ __forceinline__ int64_t key_token(const OverlapWindowAttentionShape& s, const Site& t, int j) {
  const int64_t y = t.y0 - s.pad() + j / s.overlap_window, x = t.x0 - s.pad() + j % s.overlap_window;
  return (y >= 0 && y < s.H && x >= 0 && x < s.W) ? t.base + y * s.W + x : -1;
}

// The key window's k (column offset C) or v (2C) of head h into tile[j * ld + e]; zero rows
// for keys outside the image.
__device__ void load_key_tile(const float* qkv, const OverlapWindowAttentionShape& s, const Site& t, int64_t col,
                              const Layout& L, float* tile) {
  const int64_t row = 3 * (int64_t)s.channels();
  for (int idx = threadIdx.x; idx < L.Nkv * L.d; idx += L.threads()) {
    const int j = idx / L.d, e = idx - j * L.d;
    const int64_t tok = key_token(s, t, j);
    tile[j * L.ld + e] = tok >= 0 ? qkv[tok * row + col + (int64_t)t.h * L.d + e] : 0.f;
  }
}

// Rows of the query window (src: the column of head h's first channel, row stride `row`)
// times `factor` into tile[i * ld + e].
__device__ void load_query_tile(const float* src, int64_t row, const OverlapWindowAttentionShape& s, const Site& t,
                                float factor, const Layout& L, float* tile) {
  for (int idx = threadIdx.x; idx < L.Nq * L.d; idx += L.threads()) {
    const int i = idx / L.d, e = idx - i * L.d;
    tile[i * L.ld + e] = src[query_token(s, t, i) * row + e] * factor;
  }
}

// The head's column of the table: bias[r] = table[r, h].
__device__ void load_bias(const float* table, const OverlapWindowAttentionShape& s, int h, const Layout& L,
                          float* smem) {
  float* bias = smem + L.bias();
  for (int r = threadIdx.x; r < L.R2; r += L.threads()) bias[r] = table[(int64_t)r * s.heads + h];
}

// S[i, j] from the scaled q_i and k_j: the dot, then the bias (PyTorch's order of the adds).
__device__ __forceinline__ float score(const float* qs, const float* k, int d, int i, int j, int ws, int wse,
                                       const float* bias) {
  return dot_in_order(qs, k, d) + bias[overlap_relative_index(i, j, ws, wse)];
}

// Row i, by one warp: p[j] = exp(S[i, j] - m) for the scaled q_i `qs` and the keys `ks` (row
// stride ld); m (the row max) and the row sum l of p come back in every lane. Padded keys
// (zero rows) take part with their bias alone, as in HAT.
__device__ __forceinline__ void row_exponentials(const float* qs, const float* ks, const Layout& L, int i, int ws,
                                                 int wse, const float* bias, int lane, float* p, float& m, float& l) {
  m = -INFINITY;
  for (int j = lane; j < L.Nkv; j += 32) {
    p[j] = score(qs, ks + j * L.ld, L.d, i, j, ws, wse, bias);
    m = fmaxf(m, p[j]);
  }
  m = warp_all_max(m);
  l = 0.f;
  for (int j = lane; j < L.Nkv; j += 32) l += (p[j] = expf(p[j] - m));
  l = warp_all_sum(l);
}

__global__ void __launch_bounds__(32 * kForwardWarps)
    overlap_window_attention_forward_kernel(const float* __restrict__ qkv, const float* __restrict__ table,
                                            float* __restrict__ out, OverlapWindowAttentionShape s) {
  const Layout L = layout_of(s, false);
  const Site t = site_of(s);
  const int d = L.d, ws = s.window, wse = s.overlap_window, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t C = s.channels(), row = 3 * C, hd = (int64_t)t.h * d;
  const float scale = (float)s.scale;
  SR_DYNAMIC_SHARED(float, smem);
  float* ks = smem;
  float* vs = smem + L.Nkv * L.ld;
  const float* bias = smem + L.bias();
  float* qw = smem + L.warp_at(warp);  // the warp's scaled q_i
  float* pw = qw + d;                  // the warp's row of S, then of P
  load_key_tile(qkv, s, t, C, L, ks);
  load_key_tile(qkv, s, t, 2 * C, L, vs);
  load_bias(table, s, t.h, L, smem);
  __syncthreads();
  for (int i = warp; i < L.Nq; i += kForwardWarps) {
    const int64_t tok = query_token(s, t, i);
    for (int e = lane; e < d; e += 32) qw[e] = qkv[tok * row + hd + e] * scale;  // q scaled first, as PyTorch
    __syncwarp();
    float m, l;
    row_exponentials(qw, ks, L, i, ws, wse, bias, lane, pw, m, l);
    for (int j = lane; j < L.Nkv; j += 32) pw[j] /= l;
    __syncwarp();
    // out[tok, h d + e] = sum_j P[i, j] v_j[e], j in order (padded keys add 0 v).
    for (int e = lane; e < d; e += 32) {
      float acc = 0.f;
      for (int j = 0; j < L.Nkv; ++j) acc = fmaf(pw[j], vs[j * L.ld + e], acc);
      out[tok * C + hd + e] = acc;
    }
    __syncwarp();  // qw and pw are the next row's
  }
}

// dkv_w: per block, Nkv rows of [dK_w | dV_w] (2d floats), rows of keys outside the image
// left unwritten (nothing reads them). table_part: per block, R^2 floats of dS sums.
// __launch_bounds__(..., 1): one block an SM is what its shared memory allows at HAT's shape
// anyway; without the 1, ptxas held the kernel to 64 registers on sm_90 and spilled (now 113,
// no spill; CUDA 13).
__global__ void __launch_bounds__(32 * kBackwardWarps, 1)
    overlap_window_attention_backward_kernel(const float* __restrict__ qkv, const float* __restrict__ dout,
                                             const float* __restrict__ table, float* __restrict__ dqkv,
                                             float* __restrict__ dkv_w, float* __restrict__ table_part,
                                             OverlapWindowAttentionShape s) {
  const Layout L = layout_of(s, true);
  const Site t = site_of(s);
  const int d = L.d, ld = L.ld, ws = s.window, wse = s.overlap_window, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t C = s.channels(), row = 3 * C, hd = (int64_t)t.h * d;
  const float scale = (float)s.scale;
  SR_DYNAMIC_SHARED(float, smem);
  float* A = smem;                 // phase 1: k; phase 2: scale q
  float* B = smem + L.Nkv * ld;    // phase 1: v; phase 2: dOut
  const float* bias = smem + L.bias();
  float* row_max = smem + L.stats_at();
  float* row_sum = row_max + L.Nq;
  float* row_D = row_sum + L.Nq;
  float* va = smem + L.warp_at(warp);  // the warp's two d-vectors and two Nkv-rows
  float* vb = va + d;
  float* ra = vb + d;
  float* rb = ra + L.Nkv;
  float* tw = table_part ? smem + L.table_at(warp) : nullptr;  // the warp's dS sums per table entry
  load_key_tile(qkv, s, t, C, L, A);
  load_key_tile(qkv, s, t, 2 * C, L, B);
  load_bias(table, s, t.h, L, smem);
  if (tw)
    for (int r = lane; r < L.R2; r += 32) tw[r] = 0.f;
  __syncthreads();
  // Phase 1, query row i: ra = P[i, :], rb = dP[i, :] then dS[i, :].
  for (int i = warp; i < L.Nq; i += kBackwardWarps) {
    const int64_t tok = query_token(s, t, i);
    for (int e = lane; e < d; e += 32) {
      va[e] = qkv[tok * row + hd + e] * scale;
      vb[e] = dout[tok * C + hd + e];
    }
    __syncwarp();
    float m, l;
    row_exponentials(va, A, L, i, ws, wse, bias, lane, ra, m, l);
    float D = 0.f;
    for (int j = lane; j < L.Nkv; j += 32) {
      ra[j] /= l;
      rb[j] = dot_in_order(vb, B + j * ld, d);
      D = fmaf(ra[j], rb[j], D);
    }
    D = warp_all_sum(D);
    for (int j = lane; j < L.Nkv; j += 32) {
      rb[j] = ra[j] * (rb[j] - D);
      // For this i, j -> t(i, j) is one to one: no two lanes add into one entry.
      if (tw) tw[overlap_relative_index(i, j, ws, wse)] += rb[j];
    }
    if (lane == 0) {
      row_max[i] = m;
      row_sum[i] = l;
      row_D[i] = D;
    }
    __syncwarp();
    // dQ[tok, e] = scale sum_j dS[i, j] k_j[e], j in order; the query's only window: written.
    if (dqkv)
      for (int e = lane; e < d; e += 32) {
        float acc = 0.f;
        for (int j = 0; j < L.Nkv; ++j) acc = fmaf(rb[j], A[j * ld + e], acc);
        dqkv[tok * row + hd + e] = scale * acc;
      }
    __syncwarp();
  }
  __syncthreads();  // the warps' table rows are complete; A, B are phase 2's from here
  if (table_part) {
    // The window's partial: the warps' rows added in warp order.
    const float* t0 = smem + L.table_at(0);
    for (int r = threadIdx.x; r < L.R2; r += L.threads()) {
      float acc = t0[r];
      for (int w = 1; w < kBackwardWarps; ++w) acc += t0[w * L.R2 + r];
      table_part[(int64_t)blockIdx.x * L.R2 + r] = acc;
    }
  }
  if (!dqkv) return;  // the whole block: only the table's gradient was wanted
  load_query_tile(qkv + hd, row, s, t, scale, L, A);
  load_query_tile(dout + hd, C, s, t, 1.f, L, B);
  __syncthreads();
  // Phase 2, key column j (inside the image): ra = P[:, j], rb = dS[:, j], recomputed as in
  // phase 1 from the rows' max, sum and D (the same operations in the same order: the same bits).
  float* out_w = dkv_w + (int64_t)blockIdx.x * L.Nkv * 2 * d;
  for (int j = warp; j < L.Nkv; j += kBackwardWarps) {
    const int64_t ktok = key_token(s, t, j);
    if (ktok < 0) continue;  // a padded key: its gradient goes nowhere (the whole warp skips)
    for (int e = lane; e < d; e += 32) {
      va[e] = qkv[ktok * row + C + hd + e];
      vb[e] = qkv[ktok * row + 2 * C + hd + e];
    }
    __syncwarp();
    for (int i = lane; i < L.Nq; i += 32) {
      const float p = expf(score(A + i * ld, va, d, i, j, ws, wse, bias) - row_max[i]) / row_sum[i];
      ra[i] = p;
      rb[i] = p * (dot_in_order(B + i * ld, vb, d) - row_D[i]);
    }
    __syncwarp();
    // dK_w[j][e] = sum_i dS[i, j] (scale q_i[e]), dV_w[j][e] = sum_i P[i, j] dOut_i[e], i in order.
    for (int e = lane; e < d; e += 32) {
      float ak = 0.f, av = 0.f;
      for (int i = 0; i < L.Nq; ++i) {
        ak = fmaf(rb[i], A[i * ld + e], ak);
        av = fmaf(ra[i], B[i * ld + e], av);
      }
      out_w[(int64_t)j * 2 * d + e] = ak;
      out_w[(int64_t)j * 2 * d + d + e] = av;
    }
    __syncwarp();
  }
}

// dqkv's k and v columns: element (token, c2), c2 = kind C + h d + e (kind 0: k, 1: v), is the
// sum of dkv_w's rows of the windows whose key window holds the token, in row-major window
// order. Query window wy covers key rows wy ws - p .. wy ws - p + wse - 1, so a row y lies in
// the windows wy with (y + p - wse + 1) / ws <= wy <= (y + p) / ws (rounded inwards), columns
// alike. One thread per element, grid-stride.
__global__ void key_value_gather_kernel(const float* __restrict__ dkv_w, float* __restrict__ dqkv,
                                        OverlapWindowAttentionShape s) {
  const int64_t C = s.channels(), HW = s.H * s.W, n = s.images * HW * 2 * C, nWx = s.W / s.window,
                nWy = s.H / s.window, nW = s.windows_per_image();
  const int ws = s.window, wse = s.overlap_window, p = s.pad(), d = s.head_dim, Nkv = s.kv_tokens();
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t tok = k / (2 * C), c2 = k - tok * 2 * C, b = tok / HW, y = (tok - b * HW) / s.W,
                  x = (tok - b * HW) - y * s.W;
    const int kind = (int)(c2 / C), h = (int)((c2 - kind * C) / d), e = (int)(c2 - kind * C - (int64_t)h * d);
    const int64_t ly = y + p - wse + 1, lx = x + p - wse + 1;
    const int64_t wy0 = ly <= 0 ? 0 : (ly + ws - 1) / ws, wx0 = lx <= 0 ? 0 : (lx + ws - 1) / ws;
    const int64_t wy1 = (y + p) / ws < nWy ? (y + p) / ws : nWy - 1, wx1 = (x + p) / ws < nWx ? (x + p) / ws : nWx - 1;
    float acc = 0.f;
    for (int64_t wy = wy0; wy <= wy1; ++wy)
      for (int64_t wx = wx0; wx <= wx1; ++wx) {
        const int64_t j = (y - (wy * ws - p)) * wse + (x - (wx * ws - p));
        const int64_t block = (b * nW + wy * nWx + wx) * s.heads + h;
        acc += dkv_w[(block * Nkv + j) * 2 * d + (int64_t)kind * d + e];
      }
    dqkv[tok * 3 * C + C + c2] = acc;
  }
}

// dtable[r, h] = sum over the blocks (b nW + w) nh + h of their partials at r, b and w in
// order, in double. One thread per entry.
__global__ void table_window_sum_kernel(const float* __restrict__ table_part, float* __restrict__ dtable,
                                        int64_t windows, int R2, int nh) {
  const int k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= R2 * nh) return;
  const int r = k / nh, h = k - r * nh;
  double acc = 0;
  for (int64_t bw = 0; bw < windows; ++bw) acc += (double)table_part[(bw * nh + h) * R2 + r];
  dtable[k] = (float)acc;
}

int max_of(int a, int b) { return a > b ? a : b; }

void check_shape(const char* op, const OverlapWindowAttentionShape& s) {
  SR_CHECK(s.window >= 1 && s.overlap_window >= s.window && s.H % s.window == 0 && s.W % s.window == 0, op,
           ": window ", s.window, ", overlap window ", s.overlap_window, ", image ", s.H, "x", s.W,
           " do not make overlapping windows");
  SR_CHECK(s.head_dim >= 1 && s.head_dim <= kMaxHeadDim, op, ": the CUDA kernels take heads of at most ",
           kMaxHeadDim, " channels, got head dim ", s.head_dim);
  // The larger of the two blocks, for both: a shape the forward takes is one the backward
  // takes, so training never fails half way through a step.
  const size_t bytes = sizeof(float) * (size_t)max_of(layout_of(s, true).floats(), layout_of(s, false).floats());
  const size_t limit = max_shared_bytes_optin();
  SR_CHECK(bytes <= limit, op, ": the CUDA kernels keep a block's key / value window in shared memory, of which "
           "this GPU gives a block at most ", limit / 1024, " KiB (227 on sm_90, 163 on sm_80); window ", s.window,
           " against ", s.overlap_window, " (", s.kv_tokens(), " keys) with head dim ", s.head_dim, " needs ",
           (bytes + 1023) / 1024, " KiB");
  SR_CHECK(s.images * s.windows_per_image() * s.heads < (int64_t{1} << 31), op, ": ", s.images, " images x ",
           s.windows_per_image(), " windows x ", s.heads, " heads exceed the grid");
}

template <class Kernel>
size_t shared_bytes_for(Kernel kernel, const Layout& L) {
  const size_t bytes = sizeof(float) * (size_t)L.floats();
  if (bytes > 48 * 1024)
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
  return bytes;
}

}  // namespace

void overlap_window_attention_forward(const float* qkv, const float* table, float* out,
                                      const OverlapWindowAttentionShape& s) {
  check_shape("overlap_window_attention", s);
  const int64_t blocks = s.images * s.windows_per_image() * s.heads;
  if (blocks == 0) return;
  const size_t bytes = shared_bytes_for(overlap_window_attention_forward_kernel, layout_of(s, false));
  launch_kernel(overlap_window_attention_forward_kernel, dim3((unsigned)blocks), 32 * kForwardWarps, bytes,
                current_stream(), qkv, table, out, s);
  CUDA_CHECK_LAUNCH("overlap_window_attention");
}

void overlap_window_attention_backward(const float* qkv, const float* table, const float* dout, float* dqkv,
                                       float* dtable, const OverlapWindowAttentionShape& s) {
  check_shape("overlap_window_attention_backward", s);
  if (s.heads == 0 || (!dqkv && !dtable)) return;
  const int64_t windows = s.images * s.windows_per_image(), blocks = windows * s.heads;
  const int R2 = s.table_rows();
  if (blocks == 0) {  // no window: a zero table gradient (and an empty dqkv)
    if (dtable) CUDA_CHECK(cudaMemsetAsync(dtable, 0, sizeof(float) * R2 * s.heads, current_stream()));
    return;
  }
  DeviceScratch dkv_w(dqkv ? sizeof(float) * (size_t)blocks * s.kv_tokens() * 2 * s.head_dim : 0);
  DeviceScratch table_part(dtable ? sizeof(float) * (size_t)blocks * R2 : 0);
  const size_t bytes = shared_bytes_for(overlap_window_attention_backward_kernel, layout_of(s, true));
  launch_kernel(overlap_window_attention_backward_kernel, dim3((unsigned)blocks), 32 * kBackwardWarps, bytes,
                current_stream(), qkv, dout, table, dqkv, dkv_w.as<float>(), table_part.as<float>(), s);
  CUDA_CHECK_LAUNCH("overlap_window_attention_backward");
  if (dqkv) {
    const int64_t n = s.images * s.H * s.W * 2 * s.channels();
    launch_kernel(key_value_gather_kernel, grid_for(n), kBlock, 0, current_stream(), dkv_w.as<float>(), dqkv, s);
    CUDA_CHECK_LAUNCH("overlap_window_attention_backward (key / value window sums)");
  }
  if (dtable) {
    const int entries = R2 * s.heads;
    launch_kernel(table_window_sum_kernel, grid_for(entries), kBlock, 0, current_stream(), table_part.as<float>(),
                  dtable, windows, R2, s.heads);
    CUDA_CHECK_LAUNCH("overlap_window_attention_backward (table window sums)");
  }
}

}  // namespace sr::cuda
