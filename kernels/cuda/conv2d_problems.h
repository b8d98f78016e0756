// The three convolution directions written as implicit GEMMs: C[M][N] = sum_k A[m][k] B[k][n],
// where A and B are never materialised; each element is gathered from the NCHW/OIHW
// tensors on the fly. Plain host/device C++ (no CUDA headers): the tensor-core kernels
// (kernels/cuda/conv2d_igemm.cu) load through these structs on the GPU, and the CPU tests
// (tests/test_cuda_host.cpp) run the very same structs through an emulated tile engine.
//
//   direction   GEMM M        GEMM N       GEMM K        A[m][k]                  B[k][n]
//   fprop       N*P*Q (pixel) K (out ch)   C*R*S (tap)   x gathered at the tap    w[n][k]
//   dgrad       N*H*W (pixel) C (in ch)    K*R*S         dy at p = (h+pad-r)/str  w[k][c][r][s]
//   wgrad       K (out ch)    C*R*S (tap)  N*P*Q (pixel) dy[n][m][p][q]           x gathered
//
// with k = c*R*S + r*S + s for the taps (the OIHW order, so fprop's B is w's rows as they
// are) and m = (n*P + p)*Q + q for pixels. Out-of-image taps read 0 (zero padding); a
// dgrad tap whose (h + pad - r) is not a multiple of the stride contributes nothing.
//
// Each struct offers the loaders the engine needs:
//   kAContigM      true when A is gathered along m (a pixel row of x or dy is contiguous
//                  in NCHW), false when along k (wgrad: dy rows are contiguous in pixels)
//   a_row(m) + a_load(row, k)   (kAContigM)   per-thread fixed pixel m, decoded once
//   a_k(k) + a_load(kctx, m)    (!kAContigM)  per-tile fixed k, decoded once per tile
//   b_k(k) + b_load(kctx, n)                  per-tile fixed k, decoded once per tile
//   c_row(m, split) + c_store(row, n, value)  the epilogue
// Every loader returns 0 outside the problem (m >= M, n >= N, k >= K), so partial tiles
// need no other predication.
#pragma once
#include <cstdint>
#include <cstring>

#include "engine/error.h"
#include "kernels/common/math.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/fast_div.h"
#if defined(SRENGINE_SIMT)
#include <source_location>

#include "kernels/simt/simt.h"
#endif

namespace sr::cuda::igemm {

SR_HD float ldg(const float* p) {
#if defined(SR_DEVICE_CODE)
  return __ldg(p);
#else
  return *p;
#endif
}

// A bf16 value (its 16 bits) widened to float: exact, the bits are float's upper half.
SR_HD float ldg_bf16(const uint16_t* p) {
#if defined(SR_DEVICE_CODE)
  return __uint_as_float((uint32_t)__ldg(p) << 16);
#else
  const uint32_t bits = (uint32_t)*p << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// The fused forward epilogue of ConvEpilogue, for one output element of channel k.
struct Epilogue {
  const float* bias = nullptr;
  int leaky = 0;
  float slope = 0.2f, gain = 1.f;
  const float* residual = nullptr;
  int64_t residual_batch_stride = 0;
  float residual_scale = 1.f;
  const float* outer = nullptr;
  int64_t outer_batch_stride = 0;
  float outer_scale = 1.f;
  // ConvEpilogue::packed, set only by the stores that write it (igemm_v2's and wgmma's
  // forwards: with_packed); make_epilogue leaves it null, so no other store is handed it.
  uint16_t* packed = nullptr;
  int64_t packed_ld = 0, packed_c_off = 0;

  Epilogue with_packed(const ConvEpilogue& ep) const {
    Epilogue e = *this;
    e.packed = ep.packed;
    e.packed_ld = ep.packed_ld;
    e.packed_c_off = ep.packed_c_off;
    return e;
  }

  // Everything but the outer residual. z: the convolution sum; res_off: offset of this
  // element in `residual` less k*PQ. (wgmma's store calls this one: the dispatcher applies
  // the outer residual after it.)
  SR_HD float apply(float z, int k, int64_t res_off, int64_t PQ) const {
    if (bias) z += ldg(bias + k);
    if (leaky) z = gain * math::leaky_relu(z, slope);
    if (residual) z = ldg(residual + res_off + (int64_t)k * PQ) + residual_scale * z;
    return z;
  }
  // The whole epilogue for output element (n, k, pq) of an (N, K, P*Q) output.
  SR_HD float apply(float z, int k, int64_t n, int64_t pq, int64_t PQ) const {
    z = apply(z, k, n * residual_batch_stride + pq, PQ);
    if (outer) z = ldg(outer + n * outer_batch_stride + (int64_t)k * PQ + pq) + outer_scale * z;
    return z;
  }
};

// y's bf16, rounded as igemm_v2_pack_activations' cvt.rn.bf16x2.f32 rounds: to nearest, ties
// to even (a carry into the exponent is the right result, up to infinity), NaN to the
// canonical 0x7fff.
SR_HD uint16_t bf16_rn_bits(float y) {
  uint32_t u;
  std::memcpy(&u, &y, 4);
  return (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)0x7fff : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// bf16(lo) then bf16(hi) at p (4-byte aligned) as one 32-bit store: an mma fragment's two
// adjacent columns are adjacent channels of a packed (channels-last) row.
SR_HD void store_bf16_pair(uint16_t* p, float lo, float hi) {
  const uint32_t word = (uint32_t)bf16_rn_bits(lo) | (uint32_t)bf16_rn_bits(hi) << 16;
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<uint32_t*>(p) = word;
#else
#if defined(SRENGINE_SIMT)  // a GPU faults on a misaligned store ("misaligned address"): so does this
  if (reinterpret_cast<uintptr_t>(p) % 4)
    ::simt::detail::device_fail("st.global.b32 of a bf16 pair to an address not aligned to 4 bytes",
                                std::source_location::current());
#endif
  std::memcpy(p, &word, sizeof word);  // host C++ (and the interpreter): no type punning
#endif
}

// The packed copy of output element (n, k, pq) of e (ConvEpilogue::packed), y its final value.
SR_HD void store_packed(const Epilogue& e, float y, int k, int64_t n, int64_t pq, int64_t PQ) {
  if (!e.packed) return;
  e.packed[(n * PQ + pq) * e.packed_ld + e.packed_c_off + k] = bf16_rn_bits(y);
}

// The packed copies of output elements (n, k, pq) and (n, k + 1, pq), k even, y0 and y1 their
// final values: one 32-bit word (the packed copy's rows, offset and K are multiples of 8, its
// base 16-byte aligned: conv2d's checks).
SR_HD void store_packed_pair(const Epilogue& e, float y0, float y1, int k, int64_t n, int64_t pq, int64_t PQ) {
  if (!e.packed) return;
  store_bf16_pair(e.packed + (n * PQ + pq) * e.packed_ld + e.packed_c_off + k, y0, y1);
}

inline Epilogue make_epilogue(const Conv2dShape& s, const ConvEpilogue& ep) {
  Epilogue e;
  e.bias = ep.bias;
  e.leaky = ep.leaky_relu ? 1 : 0;
  e.slope = ep.slope;
  e.gain = ep.gain;
  e.residual = ep.residual;
  e.residual_batch_stride = ep.residual_batch_stride ? ep.residual_batch_stride : s.K * s.P * s.Q;
  e.residual_scale = ep.residual_scale;
  e.outer = ep.outer;
  e.outer_batch_stride = ep.outer_batch_stride ? ep.outer_batch_stride : s.K * s.P * s.Q;
  e.outer_scale = ep.outer_scale;
  return e;
}

// ConvDgradEpilogue for one dx element of channel c at pixel hw of image n.
struct DgradEpilogue {
  const float* y = nullptr;
  int64_t y_bs = 0;
  int y_c0 = 0;  // y's first plane is dx's channel y_c0
  const uint16_t* y_packed = nullptr;  // or y as bf16 channels-last: pixel n HW + hw, column c
  int64_t y_packed_ld = 0;
  uint16_t* packed = nullptr;  // the packed range's copy: pixel n HW + hw, column c - packed_c_begin
  int64_t packed_ld = 0;
  int packed_c_begin = 0, packed_c_end = 0;
  float packed_scale = 1.f;
  int packed_only = 0;  // the packed range's float32 elements not stored
  int c_begin = 0, c_end = 0;
  float slope = 0.2f;
  const float* source = nullptr;  // the accumulated value's home when not dx itself
  int64_t source_bs = 0;
  const float* residual = nullptr;
  int64_t residual_bs = 0;
  float residual_scale = 1.f;

  // y's element at dx's channel c, pixel hw of image n (ychw: its offset in a float32 image).
  SR_HD float y_value(int64_t n, int c, int64_t hw, int64_t ychw, int64_t HW) const {
    return y_packed ? ldg_bf16(y_packed + (n * HW + hw) * y_packed_ld + c) : ldg(y + n * y_bs + ychw);
  }

  // Whether dx's float32 element at channel c is stored: not in a packed_only copy's range.
  SR_HD bool stores_float(int c) const { return !(packed_only && c >= packed_c_begin && c < packed_c_end); }

  // The packed copy of dx's final value v at channel c (ConvDgradEpilogue::packed): its
  // channel range only, scaled as igemm_v2_pack_activations scales (one float product, then
  // the rounding).
  SR_HD float packed_value(float v) const { return packed_scale * v; }
  SR_HD void store_packed(float v, int c, int64_t n, int64_t hw, int64_t HW) const {
    if (packed && c >= packed_c_begin && c < packed_c_end)
      packed[(n * HW + hw) * packed_ld + (c - packed_c_begin)] = bf16_rn_bits(packed_value(v));
  }
  // Channels c and c + 1 (c even): one 32-bit word when both are in the range and c's column
  // is even (the range may start at an odd channel), else element by element.
  SR_HD void store_packed_pair(float v0, float v1, int c, int64_t n, int64_t hw, int64_t HW) const {
    if (!packed) return;
    if (c >= packed_c_begin && c + 1 < packed_c_end && (c - packed_c_begin) % 2 == 0) {
      store_bf16_pair(packed + (n * HW + hw) * packed_ld + (c - packed_c_begin), packed_value(v0), packed_value(v1));
      return;
    }
    store_packed(v0, c, n, hw, HW);
    store_packed(v1, c + 1, n, hw, HW);
  }

  // dx's new value from the convolution's `conv`, in ConvDgradEpilogue's order: the prior
  // value (source's element, else *dx_elem, dx's own) added when accumulate, then
  // LeakyReLU's derivative on the channel range, then the residual term.
  SR_HD float apply(float conv, int accumulate, const float* dx_elem, int c, int64_t n, int64_t hw,
                    int64_t HW) const {
    const int64_t chw = (int64_t)c * HW + hw, ychw = chw - (int64_t)y_c0 * HW;
    float v = conv;
    if (accumulate) v += source ? ldg(source + n * source_bs + chw) : *dx_elem;
    if (c >= c_begin && c < c_end) v *= math::leaky_relu_grad_from_output(y_value(n, c, hw, ychw, HW), slope);
    if (residual) v += residual_scale * ldg(residual + n * residual_bs + chw);
    return v;
  }
};

inline DgradEpilogue make_dgrad_epilogue(const Conv2dShape& s, const ConvDgradEpilogue& ep) {
  const int64_t chw = s.C * s.H * s.W;  // a batch stride of 0 means contiguous images
  DgradEpilogue e;
  e.y = ep.y;
  e.y_bs = ep.y_batch_stride ? ep.y_batch_stride : (s.C - ep.y_first_channel) * s.H * s.W;
  e.y_c0 = (int)ep.y_first_channel;
  e.y_packed = ep.y_packed;
  e.y_packed_ld = ep.y_packed_ld;
  e.packed = ep.packed;
  e.packed_ld = ep.packed_ld;
  e.packed_c_begin = (int)ep.packed_c_begin;
  e.packed_c_end = (int)ep.packed_c_end;
  e.packed_scale = ep.packed_scale;
  e.packed_only = ep.packed_only ? 1 : 0;
  e.c_begin = (int)ep.c_begin;
  e.c_end = (int)ep.c_end;
  e.slope = ep.slope;
  e.source = ep.source;
  e.source_bs = ep.source_batch_stride ? ep.source_batch_stride : chw;
  e.residual = ep.residual;
  e.residual_bs = ep.residual_batch_stride ? ep.residual_batch_stride : chw;
  e.residual_scale = ep.residual_scale;
  return e;
}

// 32-bit index arithmetic is used inside the kernels: refuse problems that do not fit.
inline void check_index_range(const char* op, const Conv2dShape& s) {
  const int64_t lim = int64_t{1} << 31;
  SR_CHECK(s.N * s.P * s.Q < lim && s.N * s.H * s.W < lim && s.C * s.R * s.S < lim &&
               s.K * s.R * s.S < lim && s.C * s.H * s.W < lim && s.K * s.P * s.Q < lim,
           op, ": problem too large for 32-bit indexing: N=", s.N, " C=", s.C, " H=", s.H,
           " W=", s.W, " K=", s.K);
}

// The implicit im2col matrix of x, shared by fprop (its A: pixel rows, tap columns) and
// wgrad (its B: pixel rows along k, tap columns along n): pixel m = (n*P + p)*Q + q is
// decoded once into its image base and top-left input corner, then each tap
// k = c*R*S + r*S + s reads x[n][c][p*stride - pad + r][q*stride - pad + s], or 0 outside
// the image or the problem (pixels >= `pixels`, taps >= `taps`).
struct XGather {
  const float* x;
  int64_t x_bs;
  int pixels, taps, H, W, HW, stride, pad;
  FastDiv div_pq, div_q, div_rs, div_s;

  struct Pixel {
    int64_t base;
    int ih0, iw0;
    bool valid;
  };
  SR_HD Pixel pixel(int m) const {
    Pixel r{0, 0, 0, m < pixels};
    if (r.valid) {
      uint32_t n, pq, p, q;
      div_pq.divmod((uint32_t)m, n, pq);
      div_q.divmod(pq, p, q);
      r.base = (int64_t)n * x_bs;
      r.ih0 = (int)p * stride - pad;
      r.iw0 = (int)q * stride - pad;
    }
    return r;
  }
  SR_HD float load(const Pixel& r, int k) const {
    if (!r.valid || k >= taps) return 0.f;
    uint32_t c, rs, fr, fs;
    div_rs.divmod((uint32_t)k, c, rs);
    div_s.divmod(rs, fr, fs);
    const int ih = r.ih0 + (int)fr, iw = r.iw0 + (int)fs;
    if (ih < 0 || ih >= H || iw < 0 || iw >= W) return 0.f;
    return ldg(x + r.base + (int64_t)c * HW + ih * W + iw);
  }
};

inline XGather make_x_gather(const Conv2dShape& s, const float* x) {
  XGather g{};
  g.x = x;
  g.x_bs = s.x_batch_stride;
  g.pixels = (int)(s.N * s.P * s.Q);
  g.taps = (int)(s.C * s.R * s.S);
  g.H = (int)s.H;
  g.W = (int)s.W;
  g.HW = (int)(s.H * s.W);
  g.stride = s.stride;
  g.pad = s.pad;
  g.div_pq = FastDiv((uint32_t)(s.P * s.Q));
  g.div_q = FastDiv((uint32_t)s.Q);
  g.div_rs = FastDiv((uint32_t)(s.R * s.S));
  g.div_s = FastDiv((uint32_t)s.S);
  return g;
}

// ---- fprop ----------------------------------------------------------------------------------
struct Fprop {
  static constexpr bool kAContigM = true;
  int M, N, K;
  XGather gx;  // A
  const float* w;
  float* y;
  int64_t y_bs;
  int PQ;
  Epilogue ep;

  using ARow = XGather::Pixel;
  using ACtx = ARow;
  SR_HD ARow a_row(int m) const { return gx.pixel(m); }
  SR_HD float a_load(const ARow& r, int k) const { return gx.load(r, k); }
  struct BK {
    int k;
    bool valid;
  };
  SR_HD BK b_k(int k) const { return BK{k, k < K}; }
  SR_HD float b_load(const BK& b, int n) const {
    return b.valid && n < N ? ldg(w + (int64_t)n * K + b.k) : 0.f;
  }
  struct CRow {
    int64_t y_off, n, pq;
    bool valid;
  };
  SR_HD CRow c_row(int m, int /*split*/) const {
    CRow c{0, 0, 0, m < M};
    if (c.valid) {
      uint32_t n, pq;
      gx.div_pq.divmod((uint32_t)m, n, pq);
      c.y_off = (int64_t)n * y_bs + pq;
      c.n = n;
      c.pq = pq;
    }
    return c;
  }
  SR_HD void c_store(const CRow& c, int n, float v) const {
    if (!c.valid || n >= N) return;
    y[c.y_off + (int64_t)n * PQ] = ep.apply(v, n, c.n, c.pq, PQ);
  }
};

inline Fprop make_fprop(const Conv2dShape& s, const float* x, const float* w,
                        const ConvEpilogue& ep, float* y) {
  check_index_range("conv2d_forward", s);
  Fprop p{};
  p.M = (int)(s.N * s.P * s.Q);
  p.N = (int)s.K;
  p.K = (int)(s.C * s.R * s.S);
  p.gx = make_x_gather(s, x);
  p.w = w;
  p.y = y;
  p.y_bs = s.y_batch_stride;
  p.PQ = (int)(s.P * s.Q);
  p.ep = make_epilogue(s, ep);
  return p;
}

// ---- dgrad ----------------------------------------------------------------------------------
struct Dgrad {
  static constexpr bool kAContigM = true;
  int M, N, K;
  const float* dy;
  const float* w;
  float* dx;
  int64_t dy_bs, dx_bs;
  int P, Q, PQ, HW, RS, stride, pad;
  int accumulate;
  FastDiv div_hw, div_w, div_rs, div_s;

  struct ARow {
    int64_t base;
    int hp, wp;
    bool valid;
  };
  using ACtx = ARow;
  SR_HD ARow a_row(int m) const {
    ARow r{0, 0, 0, m < M};
    if (r.valid) {
      uint32_t n, hw, h, wc;
      div_hw.divmod((uint32_t)m, n, hw);
      div_w.divmod(hw, h, wc);
      r.base = (int64_t)n * dy_bs;
      r.hp = (int)h + pad;
      r.wp = (int)wc + pad;
    }
    return r;
  }
  SR_HD float a_load(const ARow& r, int kk) const {
    if (!r.valid || kk >= K) return 0.f;
    uint32_t k, rs, fr, fs;
    div_rs.divmod((uint32_t)kk, k, rs);
    div_s.divmod(rs, fr, fs);
    int pn = r.hp - (int)fr, qn = r.wp - (int)fs;
    if (pn < 0 || qn < 0) return 0.f;
    if (stride == 2) {
      if ((pn | qn) & 1) return 0.f;
      pn >>= 1;
      qn >>= 1;
    } else if (stride != 1) {
      if (pn % stride || qn % stride) return 0.f;
      pn /= stride;
      qn /= stride;
    }
    if (pn >= P || qn >= Q) return 0.f;
    return ldg(dy + r.base + (int64_t)k * PQ + pn * Q + qn);
  }
  struct BK {
    int64_t off;
    bool valid;
  };
  SR_HD BK b_k(int kk) const {
    BK b{0, kk < K};
    if (b.valid) {
      uint32_t k, rs;
      div_rs.divmod((uint32_t)kk, k, rs);
      b.off = (int64_t)k * N * RS + rs;  // w[k][c = 0][r][s]
    }
    return b;
  }
  SR_HD float b_load(const BK& b, int c) const {
    return b.valid && c < N ? ldg(w + b.off + (int64_t)c * RS) : 0.f;
  }
  struct CRow {
    int64_t off;
    bool valid;
  };
  SR_HD CRow c_row(int m, int /*split*/) const {
    CRow c{0, m < M};
    if (c.valid) {
      uint32_t n, hw;
      div_hw.divmod((uint32_t)m, n, hw);
      c.off = (int64_t)n * dx_bs + hw;
    }
    return c;
  }
  SR_HD void c_store(const CRow& c, int ch, float v) const {
    if (!c.valid || ch >= N) return;
    float* p = dx + c.off + (int64_t)ch * HW;
    *p = accumulate ? *p + v : v;
  }
};

inline Dgrad make_dgrad(const Conv2dShape& s, const float* dy, const float* w, float* dx,
                        bool accumulate, int64_t dx_batch_stride) {
  check_index_range("conv2d_backward_data", s);
  Dgrad p{};
  p.M = (int)(s.N * s.H * s.W);
  p.N = (int)s.C;
  p.K = (int)(s.K * s.R * s.S);
  p.dy = dy;
  p.w = w;
  p.dx = dx;
  p.dy_bs = s.y_batch_stride;
  p.dx_bs = dx_batch_stride ? dx_batch_stride : s.C * s.H * s.W;
  p.P = (int)s.P;
  p.Q = (int)s.Q;
  p.PQ = (int)(s.P * s.Q);
  p.HW = (int)(s.H * s.W);
  p.RS = (int)(s.R * s.S);
  p.stride = s.stride;
  p.pad = s.pad;
  p.accumulate = accumulate ? 1 : 0;
  p.div_hw = FastDiv((uint32_t)(s.H * s.W));
  p.div_w = FastDiv((uint32_t)s.W);
  p.div_rs = FastDiv((uint32_t)(s.R * s.S));
  p.div_s = FastDiv((uint32_t)s.S);
  return p;
}

// ---- wgrad ----------------------------------------------------------------------------------
// Split-K over the pixels: split z covers k in [z*k_per_split, (z+1)*k_per_split). With
// more than one split every split writes its partial dw tile to ws[z][M][N] (plain stores,
// each element by exactly one thread), and a second kernel adds the splits into dw in
// the fixed order z = 0, 1, ...: deterministic. With one split the epilogue adds into dw.
struct Wgrad {
  static constexpr bool kAContigM = false;
  int M, N, K;
  XGather gx;  // B
  const float* dy;
  float* dw;
  float* ws;
  int64_t dy_bs;
  int PQ;

  struct AK {
    int64_t off;
    bool valid;
  };
  using ACtx = AK;  // (unused by the engine: A is gathered along k)
  SR_HD AK a_k(int t) const {
    AK a{0, t < K};
    if (a.valid) {
      uint32_t n, pq;
      gx.div_pq.divmod((uint32_t)t, n, pq);
      a.off = (int64_t)n * dy_bs + pq;
    }
    return a;
  }
  SR_HD float a_load(const AK& a, int j) const {
    return a.valid && j < M ? ldg(dy + a.off + (int64_t)j * PQ) : 0.f;
  }
  using BK = XGather::Pixel;
  SR_HD BK b_k(int t) const { return gx.pixel(t); }
  SR_HD float b_load(const BK& b, int col) const { return gx.load(b, col); }
  struct CRow {
    int64_t off;
    bool valid;
  };
  SR_HD CRow c_row(int j, int split) const {
    CRow c{0, j < M};
    c.off = (ws ? (int64_t)split * M * N : 0) + (int64_t)j * N;
    return c;
  }
  SR_HD void c_store(const CRow& c, int col, float v) const {
    if (!c.valid || col >= N) return;
    if (ws)
      ws[c.off + col] = v;
    else
      dw[c.off + col] += v;
  }
};

inline Wgrad make_wgrad(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                        float* ws) {
  check_index_range("conv2d_backward_weight", s);
  Wgrad p{};
  p.M = (int)s.K;
  p.N = (int)(s.C * s.R * s.S);
  p.K = (int)(s.N * s.P * s.Q);
  p.gx = make_x_gather(s, x);
  p.dy = dy;
  p.dw = dw;
  p.ws = ws;
  p.dy_bs = s.y_batch_stride;
  p.PQ = (int)(s.P * s.Q);
  return p;
}

// How many K-splits for a GEMM of M x N tiles (BM x BN) over K: enough CTAs for target_ctas
// (by default an H100/H200 twice over, 2 x 132 SMs), but at least kMinKPerSplit of K per
// split. A function of the shape and the target only, so a given shape always sums in the
// same order.
struct SplitPlan {
  int splits = 1;
  int k_per_split = 0;
};
inline SplitPlan plan_split_k(int M, int N, int K, int BM, int BN, int BK, int target_ctas = 264) {
  constexpr int kMinKPerSplit = 512;
  const int tiles = ((M + BM - 1) / BM) * ((N + BN - 1) / BN);
  int splits = (target_ctas + tiles - 1) / tiles;
  const int max_splits = K / kMinKPerSplit > 1 ? K / kMinKPerSplit : 1;
  if (splits > max_splits) splits = max_splits;
  if (splits < 1) splits = 1;
  SplitPlan plan;
  int kps = (K + splits - 1) / splits;
  kps = (kps + BK - 1) / BK * BK;  // whole k tiles per split
  if (kps < BK) kps = BK;
  plan.k_per_split = kps;
  plan.splits = (K + kps - 1) / kps;  // no empty split
  if (plan.splits < 1) plan.splits = 1;
  return plan;
}

}  // namespace sr::cuda::igemm
