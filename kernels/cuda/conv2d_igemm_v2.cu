// igemm_v2: the convolution variant built for cp.async pipelines and ldmatrix (docs/KERNELS.md,
// "igemm_v2: the conv design"). bf16 operands, fp32 accumulate (the numeric class of `bf16`).
//
// Layout. On entry the operands are packed into an internal channels-last bf16 form:
//   activations  [N][H][W][Cp]        Cp = C rounded up to 8 (16 bytes), padding channels 0
//   weights      [K][R][S][Cp]        (backward-data: flipped and transposed, below)
// The GEMM's reduction index is ordered (r, s, c), so a 32-wide k tile is one filter tap and
// 32 consecutive channels (ceil(Cp / 32) tiles per tap): a thread computes its rows' input
// offsets for a tap once per k tile, by stepping (r, s, channel tile), with no per-element
// division; taps outside the image and channels past Cp are zero-filled by cp.async's
// src-size = 0 form (it reads nothing).
//
// Pipeline. Every thread copies 16-byte chunks with cp.async.cg into a 3-stage shared ring,
// one commit group per k tile; at tile i it waits until at most kStages - 2 groups are in
// flight (so tile i has landed), __syncthreads (so everyone's chunks of tile i are visible,
// and everyone finished reading the slot tile i + 2 is about to overwrite), issues tile
// i + 2, and computes on tile i while tiles i + 1 and i + 2 are in flight.
//
// Fragments. ldmatrix.x4 loads a warp's A and B fragments for mma.m16n8k16 (bf16): the
// forward and backward-data tiles are stored k-contiguous ([row][k]), which is the fragment
// layout as it is; the weight-gradient tiles are stored with the pixel (the GEMM k) as the
// row, so they are read with ldmatrix .trans.
//
// Directions.
//   forward          M = N*P*Q pixels, N = K output channels, k = (r, s, c); the full fused
//                    epilogue of ConvEpilogue (outer residual included) in the store (NCHW,
//                    channel views).
//   backward-data    stride 1: a forward convolution of dy (packed NHWC, Kp channels) with the
//                    weights flipped and transposed, w'[c][r][s][k] = w[k][c][R-1-r][S-1-s],
//                    padding R-1-pad / S-1-pad; the store applies ConvDgradEpilogue (the
//                    accumulate, from dx or a source; LeakyReLU's derivative; a residual).
//                    stride > 1 (the discriminators' downsampling convs): stride^2 phase
//                    convolutions, each a stride-1 forward conv of dy with a flipped
//                    sub-filter writing one residue class of dx's rows and columns (the
//                    derivation at igemm_v2_backward_data): no tap multiplies a zero.
//   backward-weight  M = K output channels, N = R*S*Cp columns (tap, channel), reduction over
//                    the N*P*Q pixels of dy and x (both packed NHWC), split-K planned (below);
//                    every split stores its partial tile to a workspace and a
//                    second kernel adds the splits in the fixed order 0, 1, ... and scatters
//                    the (tap, channel) columns into dw's OIHW layout: deterministic. The
//                    bias gradient comes from the same dy tiles in shared memory (the first
//                    column tile's CTAs sum them per split; the same reduce adds the splits),
//                    so no separate pass reads dy; it sums the bf16-rounded dy in fp32.
//   upsample_nearest2x_conv2d  the op's three directions on the same kernels at x's size, with
//                    tap-summed filters: four forward phases (PhaseForwardStore), a stride-2
//                    backward-data, a stride-2 weight gradient folded onto w's taps (the
//                    derivation at igemm_v2_upsample_nearest2x_forward).
//
// Tiles and split-K, per problem, from the shape and the SM count only (conv2d_igemm_v2_plan.h;
// a wave = one CTA per SM, the plans aim at 2); every warp computes a 32 x 32 sub-tile:
//   forward / backward-data: BN = 32 when the GEMM N <= 32, else 64; BM = 128 when the
//     128-row tiles make 2 waves, else 64 (tiles 128 x 64 of 8 warps, 128 x 32 and 64 x 64 of
//     4, 64 x 32 of 2); split-K only when even the 64-row tiles leave SMs idle (fewer CTAs
//     than SMs), at least 8 k tiles per split: each split stores its partial tile to a
//     workspace and igemm_v2_split_reduce_kernel adds the splits in the fixed order 0, 1, ...
//     through the direction's store (the forward's epilogue applies to the sum);
//   weight gradient: 64 x 64 (4 warps), 32 x 64 (2 warps) when K <= 32; split-K over the
//     pixels by plan_split_k for 2 waves (>= 512 pixels per split).
// On 132 SMs, RRDB (nf 64, gc 32): LR 32 at batch 16 is M = 16,384 pixels: 128 CTAs of
// 128 rows would be under one wave, so 64-row tiles, 256 CTAs (1.9 waves) for the trunk
// (64 x 64) and growth (64 x 32) convs; LR 32 at batch 48 (49,152 pixels) is 384 CTAs of
// 128 rows (2.9 waves), LR 64 at batch 16 512 (3.9 waves), batch 48 1,536. The weight
// gradients (K x 9 Cp, Cp 64..192: 9..27 column tiles) take their parallelism from split-K
// (29 splits of 576 pixels for a growth conv at LR 32, batch 16). The SM count makes the
// plan device-dependent, so the summation order of a split-K shape is fixed per GPU model.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_igemm_v2_plan.h"
#include "kernels/cuda/conv2d_problems.h"
#include "kernels/cuda/conv2d_variants.h"
#include "kernels/cuda/fast_div.h"
#include "kernels/cuda/ptx.h"

namespace sr::cuda {

namespace {

using bf16_bits = uint16_t;

constexpr int kBK = igemm_v2::kBK;  // GEMM k per tile: 32 bf16 = 64 bytes = 4 chunks of 16 bytes
constexpr int kStages = 3;   // the cp.async ring (3 x 15 KiB for 128 x 64 tiles)
constexpr int kChunk = 8;    // bf16 per 16-byte cp.async
// Shared rows of a k-contiguous tile hold 32 bf16 plus 8 of padding: 80 bytes. ldmatrix
// reads 8 rows of 16 bytes per phase; row i starts at byte 80 i + 16 j, i.e. in 16-byte
// units at 5 i + j, and 5 i mod 8 = {0, 5, 2, 7, 4, 1, 6, 3} for i = 0..7: the 8 rows fall
// in 8 different 16-byte bank groups of the 128-byte bank window, so no bank conflicts (with
// the unpadded 64-byte pitch rows i and i + 2 would share banks: 4-way conflicts). The
// cp.async stores of a warp (8 rows x 4 chunks) are conflict-free for the same reason.
constexpr int kPitch = kBK + 8;

int pad8(int64_t c) { return detail::igemm_v2_packed_channels(c); }

// A pre-packed operand's pixel pitch stays below this (the kernels hold it in an int).
constexpr int64_t kMaxPackedPitch = int64_t{1} << 24;

// Pixel rows of packed bf16 that cp.async's and TMA's 16-byte chunks can read: a 16-byte
// aligned base and a pitch ld that is a multiple of 8 channels, at least min_ld and below
// kMaxPackedPitch. (The pre-packed operands and the slices written into them.)
bool packed_rows_fit(const void* base, int64_t ld, int64_t min_ld) {
  return reinterpret_cast<uintptr_t>(base) % 16 == 0 && ld % 8 == 0 && ld >= min_ld && ld < kMaxPackedPitch;
}

// ---- Packing ----------------------------------------------------------------------------------
// scale * x (NCHW fp32, images x_bs apart) -> [N][HW][Cp] bf16, two channels per thread (Cp is
// even), written into pixel rows of ld channels at channel c_off (ld = Cp, c_off = 0: a copy of
// its own; a wider ld: one slice of a shared buffer, rdb.cu's twin of the dense block's buffer).
// The product is the fp32 one a separate scaling pass would store, so the bf16 is the same.
__global__ void igemm_v2_pack_activations_kernel(const float* __restrict__ x, int64_t x_bs, int C, int HW, int Cp,
                                                 int ld, int c_off, float scale, int64_t pairs,
                                                 uint32_t* __restrict__ out) {
  const int half = Cp / 2;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < pairs; i += (int64_t)gridDim.x * blockDim.x) {
    const int c = (int)(i % half) * 2;
    const int64_t pix = i / half, n = pix / HW, hw = pix % HW;
    const float* xn = x + n * x_bs + hw;
    const float lo = c < C ? scale * xn[(int64_t)c * HW] : 0.f;
    const float hi = c + 1 < C ? scale * xn[(int64_t)(c + 1) * HW] : 0.f;
    out[(pix * ld + c_off + c) / 2] = ptx::cvt_rn_bf16x2(hi, lo);
  }
}

// w (OIHW fp32, K x C x R x S) -> [rows][Rs][Ss][Cp] bf16, two channels per thread:
//   flip = 0 (forward):        rows = K, Rs x Ss = R x S, out[k][r][s][c] = w[k][c][r][s]
//   flip = 1 (backward-data):  rows = C, Cp = Kp, the flipped and transposed sub-filter of
//                              the taps r0 + step j, s0 + step l (one output phase, below):
//                              out[c][r][s][k] = w[k][c][r0 + step (Rs-1-r)][s0 + step (Ss-1-s)]
//                              (stride 1: r0 = s0 = 0, step 1, the whole filter flipped)
struct WeightPacking {
  int K, C, R, S, Cp, flip;
  int Rs, Ss, r0, s0, step;  // the (sub-)filter written
};

__global__ void igemm_v2_pack_weights_kernel(const float* __restrict__ w, const WeightPacking pk, int64_t pairs,
                                             uint32_t* __restrict__ out) {
  const int half = pk.Cp / 2, RS = pk.Rs * pk.Ss, K = pk.K, C = pk.C, R = pk.R, S = pk.S, step = pk.step;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < pairs; i += (int64_t)gridDim.x * blockDim.x) {
    const int ci = (int)(i % half) * 2;
    const int rs = (int)(i / half % RS);
    const int row = (int)(i / ((int64_t)half * RS));
    const int r = rs / pk.Ss, s = rs % pk.Ss;
    float v[2];
    for (int e = 0; e < 2; ++e) {
      const int ch = ci + e;
      if (!pk.flip) {
        v[e] = ch < C ? w[(((int64_t)row * C + ch) * R + r) * S + s] : 0.f;
      } else {
        const int fr = pk.r0 + step * (pk.Rs - 1 - r), fs = pk.s0 + step * (pk.Ss - 1 - s);
        v[e] = ch < K ? w[(((int64_t)ch * C + row) * R + fr) * S + fs] : 0.f;
      }
    }
    out[i] = ptx::cvt_rn_bf16x2(v[1], v[0]);
  }
}

// upsample_nearest2x_conv2d's tap sums D (derivation above igemm_v2_upsample_nearest2x_forward):
// D[k][c][e][f] = the sum of w[k][c][r][s] over r in {R-1-e, R-e} and s in {S-1-f, S-f} inside
// the filter, e = 0..R, f = 0..S. Packed [rows][Rs][Ss][Cp] bf16, two channels per thread, the
// written tap (j, l) being D's (e0 + de j, f0 + df l):
//   transpose = 0 (the forward's phases):  rows = K, channels C: out[k][j][l][c] = D[k][c][e][f]
//   transpose = 1 (backward-data):         rows = C, channels K: out[c][j][l][k] = D[k][c][e][f]
// The sums are formed in fp32 (a fixed order) and rounded to bf16 once.
struct TapSumPacking {
  int K, C, R, S, Cp, transpose;
  int Rs, Ss, e0, de, f0, df;  // the taps written
};

__global__ void igemm_v2_pack_tap_sums_kernel(const float* __restrict__ w, const TapSumPacking pk, int64_t pairs,
                                              uint32_t* __restrict__ out) {
  const int half = pk.Cp / 2, RS = pk.Rs * pk.Ss, R = pk.R, S = pk.S;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < pairs; i += (int64_t)gridDim.x * blockDim.x) {
    const int ci = (int)(i % half) * 2;
    const int rs = (int)(i / half % RS);
    const int row = (int)(i / ((int64_t)half * RS));
    const int e = pk.e0 + pk.de * (rs / pk.Ss), f = pk.f0 + pk.df * (rs % pk.Ss);
    float v[2];
    for (int h = 0; h < 2; ++h) {
      const int ch = ci + h, k = pk.transpose ? ch : row, c = pk.transpose ? row : ch;
      float sum = 0.f;
      if (ch < (pk.transpose ? pk.K : pk.C))
        for (int r = max(R - 1 - e, 0); r <= min(R - e, R - 1); ++r)
          for (int s = max(S - 1 - f, 0); s <= min(S - f, S - 1); ++s)
            sum += w[(((int64_t)k * pk.C + c) * R + r) * S + s];
      v[h] = sum;
    }
    out[i] = ptx::cvt_rn_bf16x2(v[1], v[0]);
  }
}

void pack_activations(const float* x, int64_t x_bs, int64_t N, int64_t C, int64_t HW, int Cp, bf16_bits* out,
                      const char* op, int ld = 0, int c_off = 0, float scale = 1.f) {
  const int64_t pairs = N * HW * Cp / 2;
  if (pairs == 0) return;
  launch_kernel(igemm_v2_pack_activations_kernel, grid_for(pairs), kBlock, 0, current_stream(), x, x_bs, (int)C,
                (int)HW, Cp, ld ? ld : Cp, c_off, scale, pairs, reinterpret_cast<uint32_t*>(out));
  CUDA_CHECK_LAUNCH(op);
}

void pack_weights(const float* w, const WeightPacking& pk, bf16_bits* out, const char* op) {
  const int64_t pairs = (int64_t)(pk.flip ? pk.C : pk.K) * pk.Rs * pk.Ss * pk.Cp / 2;
  if (pairs == 0) return;  // a phase with no taps (filter narrower than the stride)
  launch_kernel(igemm_v2_pack_weights_kernel, grid_for(pairs), kBlock, 0, current_stream(), w, pk, pairs,
                reinterpret_cast<uint32_t*>(out));
  CUDA_CHECK_LAUNCH(op);
}

WeightPacking whole_filter(int64_t K, int64_t C, int64_t R, int64_t S, int Cp, bool flip) {
  return WeightPacking{(int)K, (int)C, (int)R, (int)S, Cp, flip ? 1 : 0, (int)R, (int)S, 0, 0, 1};
}

void pack_tap_sums(const float* w, const TapSumPacking& pk, bf16_bits* out, const char* op) {
  const int64_t pairs = (int64_t)(pk.transpose ? pk.C : pk.K) * pk.Rs * pk.Ss * pk.Cp / 2;
  launch_kernel(igemm_v2_pack_tap_sums_kernel, grid_for(pairs), kBlock, 0, current_stream(), w, pk, pairs,
                reinterpret_cast<uint32_t*>(out));
  CUDA_CHECK_LAUNCH(op);
}

// ---- The stores of the forward-shaped kernel ------------------------------------------------------
struct ForwardStore {  // y[n][k][p][q] = epilogue(acc), m = (n*P + p)*Q + q; y null: packed only
  float* y;
  int64_t y_bs;
  int M, K, PQ;
  FastDiv div_pq;
  igemm::Epilogue ep;
  __device__ void operator()(int m, int k, float v) const {
    if (m >= M || k >= K) return;
    uint32_t n, pq;
    div_pq.divmod((uint32_t)m, n, pq);
    const float out = ep.apply(v, k, n, pq, PQ);
    if (y) y[(int64_t)n * y_bs + (int64_t)k * PQ + pq] = out;
    igemm::store_packed(ep, out, k, n, pq, PQ);
  }
  // Elements (m, k) and (m, k + 1), k even (store_pair): one pixel decode, one packed word.
  __device__ void pair(int m, int k, float v0, float v1) const {
    if (m >= M || k >= K) return;
    if (k + 1 == K) return (*this)(m, k, v0);  // odd K (never packed: K % 8 == 0 there)
    uint32_t n, pq;
    div_pq.divmod((uint32_t)m, n, pq);
    const float out0 = ep.apply(v0, k, n, pq, PQ), out1 = ep.apply(v1, k + 1, n, pq, PQ);
    if (y) {
      float* p = y + (int64_t)n * y_bs + (int64_t)k * PQ + pq;
      p[0] = out0;
      p[PQ] = out1;
    }
    igemm::store_packed_pair(ep, out0, out1, k, n, pq, PQ);
  }
};

// The pixels of one output phase: GEMM row m = (n*Hi + i)*Wi + j is image n's pixel
// (h0 + step i, w0 + step j) of a W-wide plane (stride 1: the single phase h0 = w0 = 0, step 1).
struct PhasePixels {
  int W, h0, w0, step;
  FastDiv div_phase, div_wi;  // Hi * Wi, Wi
  __device__ int64_t locate(int m, uint32_t& n) const {
    uint32_t ij, i, j;
    div_phase.divmod((uint32_t)m, n, ij);
    div_wi.divmod(ij, i, j);
    return (int64_t)(h0 + step * (int)i) * W + w0 + step * (int)j;
  }
};

PhasePixels phase_pixels(int64_t W, int h0, int w0, int step, int64_t Hi, int64_t Wi) {
  return PhasePixels{(int)W, h0, w0, step, FastDiv((uint32_t)(Hi * Wi)), FastDiv((uint32_t)Wi)};
}

// One output phase of upsample_nearest2x_conv2d's forward (step 2): y[n][k][pixel] =
// epilogue(acc); with split-K this runs in the reduce, on the ordered sum.
struct PhaseForwardStore {
  float* y;
  int64_t y_bs;
  int M, K, PQ;
  PhasePixels px;
  igemm::Epilogue ep;
  __device__ void operator()(int m, int k, float v) const {
    if (m >= M || k >= K) return;
    uint32_t n;
    const int64_t pq = px.locate(m, n);
    y[(int64_t)n * y_bs + (int64_t)k * PQ + pq] = ep.apply(v, k, n, pq, PQ);
  }
};

// One output phase of dx: dx[n][c][pixel] = the backward-data epilogue of acc (stride > 1: one
// of the stride^2 phases; stride 1: the whole plane): acc plus, when accumulating, dx's old
// value or the epilogue's source; LeakyReLU's derivative on its channel range; the residual
// term. With split-K this runs in the reduce, on the ordered sum.
struct DataStore {
  float* dx;
  int64_t dx_bs;
  int M, C, HW, accumulate;
  PhasePixels px;
  igemm::DgradEpilogue ep;
  __device__ void operator()(int m, int c, float v) const {
    if (m >= M || c >= C) return;
    uint32_t n;
    const int64_t hw = px.locate(m, n);
    float* p = dx + (int64_t)n * dx_bs + (int64_t)c * HW + hw;
    const float out = ep.apply(v, accumulate, p, c, n, hw, HW);
    if (ep.stores_float(c)) *p = out;
    ep.store_packed(out, c, n, hw, HW);
  }
  // Elements (m, c) and (m, c + 1), c even (store_pair): one pixel decode, one packed word
  // where the packed range allows.
  __device__ void pair(int m, int c, float v0, float v1) const {
    if (m >= M || c >= C) return;
    if (c + 1 == C) return (*this)(m, c, v0);
    uint32_t n;
    const int64_t hw = px.locate(m, n);
    float* p = dx + (int64_t)n * dx_bs + (int64_t)c * HW + hw;
    const float out0 = ep.apply(v0, accumulate, p, c, n, hw, HW);
    const float out1 = ep.apply(v1, accumulate, p + HW, c + 1, n, hw, HW);
    if (ep.stores_float(c)) p[0] = out0;
    if (ep.stores_float(c + 1)) p[HW] = out1;
    ep.store_packed_pair(out0, out1, c, n, hw, HW);
  }
};

// Accumulators (m, n) and (m, n + 1) of a thread, n even (an mma fragment's adjacent columns),
// through a store: its pair() where it has one (channels of one pixel: the decode once, the
// packed copy's two bf16 as one 32-bit store), else element by element.
template <class Store>
__device__ __forceinline__ void store_pair(const Store& st, int m, int n, float v0, float v1) {
  if constexpr (requires { st.pair(m, n, v0, v1); }) {
    st.pair(m, n, v0, v1);
  } else {
    st(m, n, v0);
    st(m, n + 1, v1);
  }
}

// A split's partial tile, column-major ([split][n][m]) so that the reduce reads it and the
// NCHW stores write it along the pixels.
struct PartialStore {
  float* ws;
  int M, N;
  __device__ void operator()(int m, int n, float v) const {
    if (m >= M || n >= N) return;
    ws[((int64_t)blockIdx.z * N + n) * M + m] = v;
  }
};

// A convolution as the forward-shaped kernel sees it: input [N][H][W][Cp], filters
// [Nout][R][S][Cp], output pixels m = (n*P + p)*Q + q.
struct ConvGemm {
  const bf16_bits* x;
  const bf16_bits* w;
  int H, W, Cp, P, Q, R, S, stride, pad_h, pad_w, Nout, M;
  int ldx;             // x's pixel pitch in channels (>= Cp: a prefix of a wider packed buffer)
  int ctiles;          // k tiles per tap: ceil(Cp / kBK)
  int kt_per_split;    // k tiles of split blockIdx.z: [z kt_per_split, (z + 1) kt_per_split)
  FastDiv div_pq, div_q;
};

// One warp's 32 x 32 sub-tile over one k tile: 2 k-steps of 16, each 2 ldmatrix.x4 for A (two
// m16 tiles), 2 for B (four n8 tiles), 8 mma.m16n8k16.
template <bool kTransposed>
__device__ __forceinline__ void warp_tile_mma(const bf16_bits* As, int a_pitch, const bf16_bits* Bs, int b_pitch,
                                              int wm0, int wn0, int lane, float acc[2][4][4]) {
#pragma unroll
  for (int kk = 0; kk < kBK; kk += 16) {
    uint32_t af[2][4], bf[4][2];
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
      if (!kTransposed) {
        // [m][k] rows: matrices (m 0-7, k 0-7), (m 8-15, k 0-7), (m 0-7, k 8-15), (m 8-15, k 8-15)
        // = a0..a3; lane l gives row m = l % 16 at k + 8 (l / 16).
        ptx::ldmatrix_x4(af[mt], As + (wm0 + mt * 16 + (lane & 15)) * a_pitch + kk + (lane >> 4) * 8);
      } else {
        // [k][m] rows, transposed on the way: matrix j = l / 8 covers k + 8 (j / 2), m + 8 (j % 2).
        const int j = lane >> 3;
        ptx::ldmatrix_x4_trans(af[mt], As + (kk + (lane & 7) + (j >> 1) * 8) * a_pitch + wm0 + mt * 16 + (j & 1) * 8);
      }
    }
#pragma unroll
    for (int np = 0; np < 2; ++np) {
      uint32_t r[4];
      if (!kTransposed) {
        // [n][k] rows: matrices (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
        // = b0, b1 of n tile 2np and b0, b1 of n tile 2np + 1.
        ptx::ldmatrix_x4(r, Bs + (wn0 + np * 16 + (lane & 7) + (lane >> 4) * 8) * b_pitch + kk + ((lane >> 3) & 1) * 8);
      } else {
        // [k][n] rows: matrix j covers k + 8 (j % 2), n + 8 (j / 2), transposed.
        const int j = lane >> 3;
        ptx::ldmatrix_x4_trans(r, Bs + (kk + (lane & 7) + (j & 1) * 8) * b_pitch + wn0 + np * 16 + (j >> 1) * 8);
      }
      bf[2 * np][0] = r[0];
      bf[2 * np][1] = r[1];
      bf[2 * np + 1][0] = r[2];
      bf[2 * np + 1][1] = r[3];
    }
#pragma unroll
    for (int mt = 0; mt < 2; ++mt)
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) ptx::mma_m16n8k16_bf16(acc[mt][nt], af[mt], bf[nt]);
  }
}

// ---- Forward-shaped kernel (forward and stride-1 backward-data) ---------------------------------------
template <int BM, int BN>
struct FwdTile {
  static constexpr int WARPS_M = BM / 32, WARPS_N = BN / 32, THREADS = 32 * WARPS_M * WARPS_N;
  static constexpr int A_CHUNKS = BM * (kBK / kChunk) / THREADS, B_CHUNKS = BN * (kBK / kChunk) / THREADS;
  static_assert(A_CHUNKS >= 1 && B_CHUNKS >= 1, "every thread copies at least one chunk of each operand");
};

template <int BM, int BN, class Store>
__global__ void __launch_bounds__(FwdTile<BM, BN>::THREADS) igemm_v2_conv_kernel(const ConvGemm g, const Store st) {
  using T = FwdTile<BM, BN>;
  SR_SHARED_ALIGNED(16, bf16_bits, As, [kStages][BM * kPitch]);
  SR_SHARED_ALIGNED(16, bf16_bits, Bs, [kStages][BN * kPitch]);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int wm0 = (warp % T::WARPS_M) * 32, wn0 = (warp / T::WARPS_M) * 32;

  // This thread's chunks: row id / 4 of the tile, channels 8 (id % 4) .. of the k tile. The
  // pixel of each A row is decoded once here; per k tile only the tap offset changes.
  int a_ih0[T::A_CHUNKS], a_iw0[T::A_CHUNKS];
  const bf16_bits* a_img[T::A_CHUNKS];
#pragma unroll
  for (int i = 0; i < T::A_CHUNKS; ++i) {
    const int id = tid + i * T::THREADS, m = m0 + (id >> 2);
    uint32_t n = 0, pq = 0, p = 0, q = 0;
    if (m < g.M) {
      g.div_pq.divmod((uint32_t)m, n, pq);
      g.div_q.divmod(pq, p, q);
      a_ih0[i] = (int)p * g.stride - g.pad_h;
      a_iw0[i] = (int)q * g.stride - g.pad_w;
    } else {
      a_ih0[i] = -(1 << 28);  // every tap misses the image: zero rows
      a_iw0[i] = 0;
    }
    a_img[i] = g.x + (int64_t)n * g.H * g.W * g.ldx;
  }
  const bf16_bits* b_row[T::B_CHUNKS];
  bool b_ok[T::B_CHUNKS];
#pragma unroll
  for (int i = 0; i < T::B_CHUNKS; ++i) {
    const int id = tid + i * T::THREADS, nr = n0 + (id >> 2);
    b_ok[i] = nr < g.Nout;
    b_row[i] = g.w + (int64_t)(b_ok[i] ? nr : 0) * g.R * g.S * g.Cp;
  }

  const int kt_begin = blockIdx.z * g.kt_per_split;
  const int ktiles = min(g.R * g.S * g.ctiles, kt_begin + g.kt_per_split) - kt_begin;
  int lr = 0, ls = 0, lc = 0;  // the next k tile to load: tap (lr, ls), channel tile lc
  if (kt_begin > 0) {          // a later split starts mid-filter: one division per CTA
    const int tap = kt_begin / g.ctiles;
    lc = kt_begin - tap * g.ctiles;
    lr = tap / g.S;
    ls = tap - lr * g.S;
  }
  auto load_tile = [&](int slot) {
    bf16_bits* as = As[slot];
    bf16_bits* bs = Bs[slot];
    const int tap = lr * g.S + ls;
#pragma unroll
    for (int i = 0; i < T::A_CHUNKS; ++i) {
      const int id = tid + i * T::THREADS, row = id >> 2, ch = (id & 3) * kChunk, c = lc * kBK + ch;
      const int ih = a_ih0[i] + lr, iw = a_iw0[i] + ls;
      const bool ok = c < g.Cp && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
      const bf16_bits* src = ok ? a_img[i] + ((int64_t)ih * g.W + iw) * g.ldx + c : g.x;
      ptx::cp_async_cg_16(as + row * kPitch + ch, src, ok ? 16 : 0);
    }
#pragma unroll
    for (int i = 0; i < T::B_CHUNKS; ++i) {
      const int id = tid + i * T::THREADS, row = id >> 2, ch = (id & 3) * kChunk, c = lc * kBK + ch;
      const bool ok = b_ok[i] && c < g.Cp;
      const bf16_bits* src = ok ? b_row[i] + (int64_t)tap * g.Cp + c : g.w;
      ptx::cp_async_cg_16(bs + row * kPitch + ch, src, ok ? 16 : 0);
    }
    if (++lc == g.ctiles) {  // step to the next tap: no division
      lc = 0;
      if (++ls == g.S) {
        ls = 0;
        ++lr;
      }
    }
  };

  float acc[2][4][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][nt][e] = 0.f;

  // Prologue: tiles 0 .. kStages-2 in flight, one group each (empty groups past the end keep
  // the group count, and so the wait below, uniform).
#pragma unroll
  for (int t = 0; t < kStages - 1; ++t) {
    if (t < ktiles) load_tile(t);
    ptx::cp_async_commit_group();
  }
  for (int it = 0; it < ktiles; ++it) {
    // Groups 0 .. it + kStages - 2 are committed; leaving the newest kStages - 2 in flight
    // means group `it` (tile it) has landed, for this thread's chunks.
    ptx::cp_async_wait_group<kStages - 2>();
    // Everyone's chunks of tile it are visible; everyone has finished tile it - 1, whose
    // slot the load below overwrites.
    __syncthreads();
    if (it + kStages - 1 < ktiles) load_tile((it + kStages - 1) % kStages);
    ptx::cp_async_commit_group();
    warp_tile_mma<false>(As[it % kStages], kPitch, Bs[it % kStages], kPitch, wm0, wn0, lane, acc);
  }

  // Accumulator c_e of m16n8 tile (mt, nt): row g + 8 (e / 2), column 2t + e % 2 (c_e and
  // c_e+1, e even: one row's adjacent columns, stored as a pair).
  const int gq = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int e = 0; e < 4; e += 2)
        store_pair(st, m0 + wm0 + mt * 16 + gq + (e >> 1) * 8, n0 + wn0 + nt * 8 + 2 * tq, acc[mt][nt][e],
                   acc[mt][nt][e + 1]);
}

// ---- Weight gradient ----------------------------------------------------------------------------
// C[m][col] = sum over pixels t of dy[t][m] * x_im2col[t][col], col = (r*S + s)*Cp + c:
// A = dy NHWC [pixels][Kp], B = x NHWC gathered at the column's tap. Both tiles are stored
// pixel-major ([k][m], [k][n], 16-byte chunks along the channels) and read with ldmatrix.trans.
struct WgradGemm {
  const bf16_bits* dy;  // [N*P*Q][Kp]
  const bf16_bits* x;   // [N][H][W][Cp]
  float* ws;            // [splits][M][Ncols]
  float* bias_ws;       // [splits][M]: the bias gradient's partial sums, or null
  int M, Kp, Ncols, pixels, H, W, Cp, S, stride, pad_h, pad_w, k_per_split;
  int ldx;  // x's pixel pitch in channels (>= Cp: a prefix of a wider packed buffer)
  FastDiv div_pq, div_q, div_cp, div_s;
};

template <int BM, int BN>
struct WgradTile {
  static constexpr int WARPS_M = BM / 32, WARPS_N = BN / 32, THREADS = 32 * WARPS_M * WARPS_N;
  static constexpr int A_PITCH = BM + 8, B_PITCH = BN + 8;  // 16 bytes of padding, as kPitch
  static constexpr int A_CHUNKS = kBK * BM / kChunk / THREADS, B_CHUNKS = kBK * BN / kChunk / THREADS;
  static_assert(A_CHUNKS >= 1 && B_CHUNKS >= 1, "every thread copies at least one chunk of each operand");
  // The bias gradient's column sums: two threads per channel of the A tile, 16 pixels each.
  static_assert(THREADS == 2 * BM, "two threads per output channel for the bias gradient");
};

template <int BM, int BN>
__global__ void __launch_bounds__(WgradTile<BM, BN>::THREADS) igemm_v2_wgrad_kernel(const WgradGemm g) {
  using T = WgradTile<BM, BN>;
  SR_SHARED_ALIGNED(16, bf16_bits, As, [kStages][kBK * T::A_PITCH]);
  SR_SHARED_ALIGNED(16, bf16_bits, Bs, [kStages][kBK * T::B_PITCH]);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int wm0 = (warp % T::WARPS_M) * 32, wn0 = (warp / T::WARPS_M) * 32;
  const int t_begin = blockIdx.z * g.k_per_split;
  const int t_end = min(g.pixels, t_begin + g.k_per_split);
  const int ktiles = (t_end - t_begin + kBK - 1) / kBK;
  // The bias gradient sum_t dy[t][m] comes from the A tiles already in shared memory: the
  // CTAs of the first column tile add them up (zero-filled rows past the split and channels
  // past Kp add nothing), so dy is not read a second time.
  const bool with_bias = g.bias_ws && blockIdx.y == 0;
  const int bc = tid % BM, bh = tid / BM;
  float bias_acc = 0.f;

  // B columns are fixed per thread: decode each chunk's (tap, channel) once.
  int b_r[T::B_CHUNKS], b_s[T::B_CHUNKS], b_c[T::B_CHUNKS];
  bool b_ok[T::B_CHUNKS];
#pragma unroll
  for (int i = 0; i < T::B_CHUNKS; ++i) {
    const int id = tid + i * T::THREADS, col = n0 + (id % (BN / kChunk)) * kChunk;
    uint32_t tap = 0, c = 0, r = 0, s = 0;
    b_ok[i] = col < g.Ncols;
    if (b_ok[i]) {
      g.div_cp.divmod((uint32_t)col, tap, c);
      g.div_s.divmod(tap, r, s);
    }
    b_r[i] = (int)r - g.pad_h;
    b_s[i] = (int)s - g.pad_w;
    b_c[i] = (int)c;
  }
  auto load_tile = [&](int slot, int t0) {
    bf16_bits* as = As[slot];
    bf16_bits* bs = Bs[slot];
#pragma unroll
    for (int i = 0; i < T::A_CHUNKS; ++i) {
      const int id = tid + i * T::THREADS, row = id / (BM / kChunk), ch = (id % (BM / kChunk)) * kChunk;
      const int t = t0 + row, m = m0 + ch;
      const bool ok = t < t_end && m < g.Kp;
      ptx::cp_async_cg_16(as + row * T::A_PITCH + ch, ok ? g.dy + (int64_t)t * g.Kp + m : g.dy, ok ? 16 : 0);
    }
#pragma unroll
    for (int i = 0; i < T::B_CHUNKS; ++i) {
      const int id = tid + i * T::THREADS, row = id / (BN / kChunk), ch = (id % (BN / kChunk)) * kChunk;
      const int t = t0 + row;
      bool ok = b_ok[i] && t < t_end;
      const bf16_bits* src = g.x;
      if (ok) {  // one pixel decode per chunk and tile (the columns' taps were decoded above)
        uint32_t n, pq, p, q;
        g.div_pq.divmod((uint32_t)t, n, pq);
        g.div_q.divmod(pq, p, q);
        const int ih = (int)p * g.stride + b_r[i], iw = (int)q * g.stride + b_s[i];
        ok = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
        if (ok) src = g.x + (((int64_t)n * g.H + ih) * g.W + iw) * g.ldx + b_c[i];
      }
      ptx::cp_async_cg_16(bs + row * T::B_PITCH + ch, src, ok ? 16 : 0);
    }
  };

  float acc[2][4][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mt][nt][e] = 0.f;

#pragma unroll
  for (int t = 0; t < kStages - 1; ++t) {
    if (t < ktiles) load_tile(t, t_begin + t * kBK);
    ptx::cp_async_commit_group();
  }
  for (int it = 0; it < ktiles; ++it) {
    ptx::cp_async_wait_group<kStages - 2>();  // tile it landed (see igemm_v2_conv_kernel)
    __syncthreads();
    if (it + kStages - 1 < ktiles) load_tile((it + kStages - 1) % kStages, t_begin + (it + kStages - 1) * kBK);
    ptx::cp_async_commit_group();
    warp_tile_mma<true>(As[it % kStages], T::A_PITCH, Bs[it % kStages], T::B_PITCH, wm0, wn0, lane, acc);
    if (with_bias) {  // dy's pixels of this k tile for channel m0 + bc, rows 16 bh .. 16 bh + 15
      const bf16_bits* a = As[it % kStages] + bh * 16 * T::A_PITCH + bc;
#pragma unroll
      for (int r = 0; r < 16; ++r)  // bf16 bits are the high half of the float's
        bias_acc += __uint_as_float((uint32_t)a[r * T::A_PITCH] << 16);
    }
  }

  // The bias partial of channel m0 + bc: rows 0-15 of every k tile plus rows 16-31, in that
  // order (the second half through shared memory), one store per channel and split.
  if (with_bias) {
    SR_SHARED(float, bias_half, [BM]);
    if (bh == 1) bias_half[bc] = bias_acc;
    __syncthreads();
    if (bh == 0 && m0 + bc < g.M) g.bias_ws[(int64_t)blockIdx.z * g.M + m0 + bc] = bias_acc + bias_half[bc];
  }

  // Every element of the split's partial tile is stored by exactly one thread (zeros for
  // an empty split), so the reduce reads no stale workspace.
  float* ws = g.ws + (int64_t)blockIdx.z * g.M * g.Ncols;
  const int gq = lane >> 2, tq = lane & 3;
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int m = m0 + wm0 + mt * 16 + gq + (e >> 1) * 8, col = n0 + wn0 + nt * 8 + 2 * tq + (e & 1);
        if (m < g.M && col < g.Ncols) ws[(int64_t)m * g.Ncols + col] = acc[mt][nt][e];
      }
}

// The forward-shaped kernel's split-K: out(m, n) = ws[0][n][m] + ws[1][n][m] + ... in split
// order, through the direction's store (the forward's epilogue applies to the sum).
template <class Store>
__global__ void igemm_v2_split_reduce_kernel(const float* __restrict__ ws, int splits, int M, int N, const Store st) {
  const int64_t mn = (int64_t)M * N;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < mn; i += (int64_t)gridDim.x * blockDim.x) {
    float acc = 0.f;
    for (int z = 0; z < splits; ++z) acc += ws[z * mn + i];
    st((int)(i % M), (int)(i / M), acc);
  }
}

// dw[k][c][r][s] += ws[0][k][(r*S + s)*Cp + c] + ws[1][...] + ... in split order, and after
// the total weights (when dbias is given) dbias[k] += bias_ws[0][k] + bias_ws[1][k] + ...
__global__ void igemm_v2_wgrad_reduce_kernel(const float* __restrict__ ws, int splits, int64_t mn, int C, int RS,
                                             int Cp, int64_t total, float* __restrict__ dw,
                                             const float* __restrict__ bias_ws, int K, float* __restrict__ dbias) {
  const int64_t n = dbias ? total + K : total;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    if (i >= total) {
      const int k = (int)(i - total);
      float acc = 0.f;
      for (int z = 0; z < splits; ++z) acc += bias_ws[(int64_t)z * K + k];
      dbias[k] += acc;
      continue;
    }
    const int rs = (int)(i % RS);
    const int64_t kc = i / RS;
    const int c = (int)(kc % C);
    const int64_t k = kc / C;
    const int64_t src = k * RS * Cp + (int64_t)rs * Cp + c;
    float acc = 0.f;
    for (int z = 0; z < splits; ++z) acc += ws[z * mn + src];
    dw[i] += acc;
  }
}

// upsample_nearest2x_conv2d's weight gradient: the GEMM computed dD (rows c, columns (e, f, k),
// ws[split][c][(e (S+1) + f) Kp + k]); the taps of D that hold w's (r, s) are e in {R-1-r, R-r},
// f in {S-1-s, S-s}, so dw[k][c][r][s] += the sum over splits (in order) of those 4 partials.
__global__ void igemm_v2_tap_sum_wgrad_reduce_kernel(const float* __restrict__ ws, int splits, int64_t mn, int K,
                                                     int C, int R, int S, int Kp, float* __restrict__ dw) {
  const int64_t total = (int64_t)K * C * R * S, ncols = (int64_t)(R + 1) * (S + 1) * Kp;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int s = (int)(i % S), r = (int)(i / S % R);
    const int64_t kc = i / ((int64_t)R * S);
    const int c = (int)(kc % C), k = (int)(kc / C);
    float acc = 0.f;
    for (int z = 0; z < splits; ++z)
      for (int e = R - 1 - r; e <= R - r; ++e)
        for (int f = S - 1 - s; f <= S - s; ++f) acc += ws[z * mn + c * ncols + ((int64_t)e * (S + 1) + f) * Kp + k];
    dw[i] += acc;
  }
}

// ---- Launchers ------------------------------------------------------------------------------------
// The SM count the plans read: the device's on CUDA, a fixed H100's (132) on the simt
// interpreter, or the tests' override (igemm_v2_set_sm_count).
int g_sm_count_override = 0;
igemm_v2::ConvPlan g_forced_conv_plan;  // used when its bm is nonzero

#if defined(SRENGINE_SIMT)
constexpr int kSimtSmCount = 132;
#endif

int sm_count() {
  if (g_sm_count_override > 0) return g_sm_count_override;
#if defined(SRENGINE_SIMT)
  return kSimtSmCount;
#else
  int n = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, current_device()));
  return n;
#endif
}

template <int BM, int BN, class Store>
void launch_conv(const ConvGemm& g, int splits, const Store& st, const char* op) {
  using T = FwdTile<BM, BN>;
  const dim3 grid((unsigned)ceil_div(g.M, BM), (unsigned)ceil_div(g.Nout, BN), (unsigned)splits);
  SR_CHECK(grid.y <= 65535 && grid.z <= 65535, op, ": grid ", grid.x, " x ", grid.y, " x ", grid.z,
           " exceeds the launch limits");
  launch_kernel(igemm_v2_conv_kernel<BM, BN, Store>, grid, T::THREADS, 0, current_stream(), g, st);
  CUDA_CHECK_LAUNCH(op);
}

template <class Store>
void launch_conv_tile(const igemm_v2::ConvPlan& p, const ConvGemm& g, const Store& st, const char* op) {
  if (p.bm == 128 && p.bn == 64)
    launch_conv<128, 64>(g, p.splits, st, op);
  else if (p.bm == 128 && p.bn == 32)
    launch_conv<128, 32>(g, p.splits, st, op);
  else if (p.bm == 64 && p.bn == 64)
    launch_conv<64, 64>(g, p.splits, st, op);
  else if (p.bm == 64 && p.bn == 32)
    launch_conv<64, 32>(g, p.splits, st, op);
  else
    SR_CHECK(false, op, ": no ", p.bm, " x ", p.bn, " tile in igemm_v2 (128 x 64, 128 x 32, 64 x 64, 64 x 32)");
}

// The plan (igemm_v2::plan_conv, or the tests' forced one), then one launch, or with split-K
// the partial tiles into a workspace and the ordered reduce through the store.
template <class Store>
void run_conv(ConvGemm g, const Store& st, const char* op) {
  const int ktiles = g.R * g.S * g.ctiles;
  igemm_v2::ConvPlan p;
  if (g_forced_conv_plan.bm) {
    p = g_forced_conv_plan;
    igemm_v2::finish_splits(p, ktiles);
  } else {
    p = igemm_v2::plan_conv(g.M, g.Nout, ktiles, sm_count());
  }
  g.kt_per_split = p.ktiles_per_split;
  if (p.splits == 1) {
    launch_conv_tile(p, g, st, op);
    return;
  }
  DeviceScratch ws((size_t)p.splits * g.M * g.Nout * sizeof(float));
  launch_conv_tile(p, g, PartialStore{ws.as<float>(), g.M, g.Nout}, op);
  const int64_t mn = (int64_t)g.M * g.Nout;
  launch_kernel(igemm_v2_split_reduce_kernel<Store>, grid_for(mn), kBlock, 0, current_stream(), ws.as<float>(),
                p.splits, g.M, g.Nout, st);
  CUDA_CHECK_LAUNCH(op);
}

ConvGemm conv_gemm(const bf16_bits* x, const bf16_bits* w, int64_t H, int64_t W, int Cp, int64_t P, int64_t Q,
                   int64_t N, int64_t R, int64_t S, int stride, int pad_h, int pad_w, int64_t Nout) {
  ConvGemm g{};
  g.x = x;
  g.w = w;
  g.H = (int)H;
  g.W = (int)W;
  g.Cp = Cp;
  g.ldx = Cp;
  g.P = (int)P;
  g.Q = (int)Q;
  g.R = (int)R;
  g.S = (int)S;
  g.stride = stride;
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.Nout = (int)Nout;
  g.M = (int)(N * P * Q);
  g.ctiles = (int)ceil_div(Cp, kBK);
  g.div_pq = FastDiv((uint32_t)(P * Q));
  g.div_q = FastDiv((uint32_t)Q);
  return g;
}

// The weight-gradient GEMM of a convolution that gathers b (N, bH, bW, b_cp packed channels)
// through an R x S filter at `stride` for each pixel of a (N, aP, aQ, a_cp packed channels; its
// M channels are the GEMM rows): C[m][(r*S + s)*b_cp + c] = sum over a's pixels.
WgradGemm wgrad_gemm(const bf16_bits* a, int a_cp, int64_t M, int64_t N, int64_t aP, int64_t aQ, const bf16_bits* b,
                     int b_cp, int64_t bH, int64_t bW, int64_t R, int64_t S, int stride, int pad_h, int pad_w) {
  WgradGemm g{};
  g.dy = a;
  g.x = b;
  g.M = (int)M;
  g.Kp = a_cp;
  g.Ncols = (int)(R * S) * b_cp;
  g.pixels = (int)(N * aP * aQ);
  g.H = (int)bH;
  g.W = (int)bW;
  g.Cp = b_cp;
  g.ldx = b_cp;
  g.S = (int)S;
  g.stride = stride;
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.div_pq = FastDiv((uint32_t)(aP * aQ));
  g.div_q = FastDiv((uint32_t)aQ);
  g.div_cp = FastDiv((uint32_t)b_cp);
  g.div_s = FastDiv((uint32_t)S);
  return g;
}

// The weight-gradient plan (igemm_v2::plan_wgrad), its workspace and kernel, then
// reduce(ws, bias_ws, splits, M * Ncols), which launches the direction's reduce of the split
// partials (bias_ws: the bias partials when with_bias, else null).
template <class Reduce>
void run_wgrad(WgradGemm g, bool with_bias, const char* op, const Reduce& reduce) {
  const igemm_v2::WgradPlan wplan = igemm_v2::plan_wgrad(g.M, g.Ncols, g.pixels, sm_count());
  const igemm::SplitPlan plan = wplan.split;
  g.k_per_split = plan.k_per_split;
  const int64_t mn = (int64_t)g.M * g.Ncols;
  DeviceScratch ws((plan.splits * mn + (with_bias ? plan.splits * g.M : 0)) * sizeof(float));
  g.ws = ws.as<float>();
  g.bias_ws = with_bias ? g.ws + plan.splits * mn : nullptr;
  const dim3 grid((unsigned)ceil_div(g.M, wplan.bm), (unsigned)ceil_div(g.Ncols, wplan.bn), (unsigned)plan.splits);
  SR_CHECK(grid.y <= 65535 && grid.z <= 65535, op, ": grid ", grid.x, " x ", grid.y, " x ", grid.z,
           " exceeds the launch limits");
  if (wplan.bm == 32)
    launch_kernel(igemm_v2_wgrad_kernel<32, 64>, grid, WgradTile<32, 64>::THREADS, 0, current_stream(), g);
  else
    launch_kernel(igemm_v2_wgrad_kernel<64, 64>, grid, WgradTile<64, 64>::THREADS, 0, current_stream(), g);
  CUDA_CHECK_LAUNCH(op);
  reduce(g.ws, g.bias_ws, plan.splits, mn);
}

void check_range(const char* op, const Conv2dShape& s) { detail::igemm_v2_check_range(op, "igemm_v2", s); }

}  // namespace

namespace detail {

void igemm_v2_check_range(const char* op, const char* variant, const Conv2dShape& s) {
  igemm::check_index_range(op, s);
  const int64_t lim = int64_t{1} << 31, Cp = igemm_v2_packed_channels(s.C), Kp = igemm_v2_packed_channels(s.K);
  SR_CHECK(s.N * s.H * s.W * Cp < lim && s.N * s.P * s.Q * Kp < lim && s.K * s.R * s.S * Cp < lim, op,
           ": problem too large for 32-bit indexing in ", variant, ": N=", s.N, " C=", s.C, " H=", s.H, " W=", s.W,
           " K=", s.K);
}

void igemm_v2_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y,
                      const PackedActivations& px) {
  const char* op = "conv2d_forward (igemm_v2)";
  check_range(op, s);
  const int Cp = pad8(s.C);
  const PackedOperand xo(px, x, s.x_batch_stride, s.N, s.C, s.H * s.W, op);
  DeviceScratch wp(s.K * s.R * s.S * Cp * sizeof(bf16_bits));
  pack_weights(w, whole_filter(s.K, s.C, s.R, s.S, Cp, /*flip=*/false), wp.as<bf16_bits>(), op);
  ConvGemm g = conv_gemm(xo.data(), wp.as<bf16_bits>(), s.H, s.W, Cp, s.P, s.Q, s.N, s.R, s.S, s.stride, s.pad, s.pad,
                         s.K);
  g.ldx = xo.ld();
  ForwardStore st{y, s.y_batch_stride, g.M, (int)s.K, (int)(s.P * s.Q), FastDiv((uint32_t)(s.P * s.Q)),
                  igemm::make_epilogue(s, ep).with_packed(ep)};
  run_conv(g, st, op);
}

PackedOperand::PackedOperand(const PackedActivations& p, const float* x, int64_t x_bs, int64_t N, int64_t C,
                             int64_t HW, const char* op) {
  const int Cp = pad8(C);
  if (p.data) {
    SR_CHECK(packed_rows_fit(p.data, p.ld, Cp), op, ": a packed operand of ", C,
             " channels needs a 16-byte aligned base and a pixel pitch that is a multiple of 8, at least ", Cp,
             " and below ", kMaxPackedPitch, "; got pitch ", p.ld, " at address ", p.data);
    data_ = p.data;
    ld_ = (int)p.ld;
    return;
  }
  own_ = std::make_unique<DeviceScratch>(N * HW * Cp * sizeof(bf16_bits));
  pack_activations(x, x_bs, N, C, HW, Cp, own_->as<bf16_bits>(), op);
  data_ = own_->as<bf16_bits>();
  ld_ = Cp;
}

PackedOperand::~PackedOperand() = default;

void igemm_v2_pack_activations(const float* x, int64_t x_bs, int64_t N, int64_t C, int64_t HW, uint16_t* out,
                               int64_t ld, int64_t c_off, float scale) {
  const char* op = "igemm_v2 pack activations";
  const int Cp = pad8(C);
  SR_CHECK(c_off % 8 == 0 && c_off >= 0 && packed_rows_fit(out, ld ? ld : Cp, c_off + Cp), op, ": a slice of ", Cp,
           " packed channels at channel ", c_off, " does not fit pixel rows of ", ld,
           " channels (both multiples of 8, the rows below ", kMaxPackedPitch, " channels, a 16-byte aligned buffer)");
  pack_activations(x, x_bs, N, C, HW, Cp, out, op, (int)ld, (int)c_off, scale);
}

void igemm_v2_pack_weights(const float* w, int64_t K, int64_t C, int64_t R, int64_t S, bool flip, uint16_t* out) {
  pack_weights(w, whole_filter(K, C, R, S, pad8(flip ? K : C), flip), out, "igemm_v2 pack weights");
}

void igemm_v2_set_sm_count(int n) { g_sm_count_override = n > 0 ? n : 0; }
int igemm_v2_sm_count() { return sm_count(); }

void igemm_v2_force_conv_plan(int bm, int bn, int splits) {
  g_forced_conv_plan = igemm_v2::ConvPlan{};
  g_forced_conv_plan.bm = bm;
  g_forced_conv_plan.bn = bn;
  g_forced_conv_plan.splits = splits;
}

namespace {

DgradPhase dgrad_phase(int a, int64_t R, int pad, int st, int64_t H) {
  DgradPhase ph;
  ph.first = ((a - pad) % st + st) % st;  // the first row >= 0 of residue a
  ph.count = ph.first < H ? (int)((H - ph.first + st - 1) / st) : 0;
  ph.taps = a < R ? (int)((R - a + st - 1) / st) : 0;
  ph.pad = ph.taps - 1 - (ph.first + pad - a) / st;  // Ra - 1 - base (an exact division)
  return ph;
}

}  // namespace

DgradPhases::DgradPhases(const Conv2dShape& s, const float* w, const char* op)
    : stride_(s.stride), rows_(s.stride), cols_(s.stride), offset_((size_t)s.stride * s.stride) {
  const int Kp = pad8(s.K), st = s.stride;
  for (int a = 0; a < st; ++a) {
    rows_[a] = dgrad_phase(a, s.R, s.pad, st, s.H);
    cols_[a] = dgrad_phase(a, s.S, s.pad, st, s.W);
  }
  int64_t elems = 0;
  for (int a = 0; a < st; ++a)
    for (int b = 0; b < st; ++b) {
      offset_[a * st + b] = elems;
      elems += s.C * rows_[a].taps * cols_[b].taps * Kp;
    }
  filters_ = std::make_unique<DeviceScratch>(elems * sizeof(bf16_bits));
  for (int a = 0; a < st; ++a)
    for (int b = 0; b < st; ++b) {
      if (rows_[a].count == 0 || cols_[b].count == 0) continue;  // no dx pixels: never run
      const WeightPacking pk{(int)s.K, (int)s.C, (int)s.R, (int)s.S, Kp, 1, rows_[a].taps, cols_[b].taps, a, b, st};
      pack_weights(w, pk, filters_->as<bf16_bits>() + offset_[a * st + b], op);
    }
}

DgradPhases::~DgradPhases() = default;

const uint16_t* DgradPhases::filter(int a, int b) const {
  return filters_->as<bf16_bits>() + offset_[a * stride_ + b];
}

// Backward-data as stride x stride phase convolutions. With h + pad = p stride + r, the rows
// h of one residue (h + pad) mod stride = a receive exactly the taps r = a + stride j
// (j = 0 .. Ra-1, Ra = ceil((R - a) / stride)): writing h = h0 + stride i, where h0 is the
// first row >= 0 of that residue, p = base + i - j with base = (h0 + pad - a) / stride. So the
// phase's dx sub-image (Hi x Wi) is a stride-1 correlation of dy with the sub-filter
// w[., ., a + stride j, b + stride l]; flipped (j' = Ra-1-j) it is the forward kernel on dy
// with padding Ra-1-base (possibly negative: the window starts inside dy), which the forward
// kernel's bounds test handles as it is. No tap multiplies an inserted zero, and every dx
// element belongs to exactly one phase. Stride 1 is the single phase a = b = 0: padding
// R-1-pad, the whole filter flipped. A phase whose filter has no taps (R < stride) still
// runs (zero k tiles), so its elements still go through the store (a zero convolution).
// (DgradPhases: the phases and their packed filters.)
void igemm_v2_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, bool accumulate,
                            int64_t dx_batch_stride, const ConvDgradEpilogue& ep, const PackedActivations& pdy) {
  const char* op = "conv2d_backward_data (igemm_v2)";
  check_range(op, s);
  const int Kp = pad8(s.K);
  const PackedOperand dyo(pdy, dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, op);
  const DgradPhases phases(s, w, op);
  phases.for_each_phase([&](const DgradPhase& pr, const DgradPhase& pc, const uint16_t* filter) {
    ConvGemm g = conv_gemm(dyo.data(), filter, s.P, s.Q, Kp, pr.count, pc.count, s.N, pr.taps, pc.taps, 1, pr.pad,
                           pc.pad, s.C);
    g.ldx = dyo.ld();
    DataStore ds{dx,
                 dx_batch_stride ? dx_batch_stride : s.C * s.H * s.W,
                 g.M,
                 (int)s.C,
                 (int)(s.H * s.W),
                 accumulate ? 1 : 0,
                 phase_pixels(s.W, pr.first, pc.first, s.stride, pr.count, pc.count),
                 igemm::make_dgrad_epilogue(s, ep)};
    run_conv(g, ds, op);
  });
}

void igemm_v2_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* dbias,
                              const PackedActivations& px, const PackedActivations& pdy) {
  const char* op = "conv2d_backward_weight (igemm_v2)";
  check_range(op, s);
  const int Cp = pad8(s.C);
  const PackedOperand xo(px, x, s.x_batch_stride, s.N, s.C, s.H * s.W, op),
      dyo(pdy, dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, op);
  // The GEMM's A rows are dy's pixels at pitch Kp: a wider dy buffer is read through its own
  // pitch as the A operand's `Kp` (the columns past K are never stored).
  WgradGemm g = wgrad_gemm(dyo.data(), (int)dyo.ld(), s.K, s.N, s.P, s.Q, xo.data(), Cp, s.H, s.W, s.R, s.S, s.stride,
                           s.pad, s.pad);
  g.ldx = xo.ld();
  run_wgrad(g, dbias != nullptr, op, [&](const float* ws, const float* bias_ws, int splits, int64_t) {
    igemm_v2_wgrad_reduce(s, ws, bias_ws, splits, dw, dbias, op);
  });
}

void igemm_v2_wgrad_reduce(const Conv2dShape& s, const float* ws, const float* bias_ws, int splits, float* dw,
                           float* dbias, const char* op) {
  const int Cp = pad8(s.C);
  const int64_t total = s.K * s.C * s.R * s.S, mn = s.K * s.R * s.S * Cp;
  launch_kernel(igemm_v2_wgrad_reduce_kernel, grid_for(total + s.K), kBlock, 0, current_stream(), ws, splits, mn,
                (int)s.C, (int)(s.R * s.S), Cp, total, dw, bias_ws, (int)s.K, bias_ws ? dbias : nullptr);
  CUDA_CHECK_LAUNCH(op);
}

void igemm_v2_tap_sum_wgrad_reduce(const Conv2dShape& s, const float* ws, int splits, float* dw, const char* op) {
  const int Kp = pad8(s.K);
  const int64_t total = s.K * s.C * s.R * s.S, mn = s.C * (s.R + 1) * (s.S + 1) * Kp;
  launch_kernel(igemm_v2_tap_sum_wgrad_reduce_kernel, grid_for(total), kBlock, 0, current_stream(), ws, splits, mn,
                (int)s.K, (int)s.C, (int)s.R, (int)s.S, Kp, dw);
  CUDA_CHECK_LAUNCH(op);
}

namespace {

UpsamplePhase upsample_nearest2x_phase(int a, int64_t R, int pad, int64_t P) {
  const int pb = (int)R - 1 - pad;         // the stride-2 convolution's padding
  const int ea = ((a + pb) % 2 + 2) % 2;  // D's taps of this parity: ea, ea + 2, ... <= R
  UpsamplePhase ph;
  ph.count = a < P ? (int)((P - a + 1) / 2) : 0;
  ph.taps = ((int)R - ea) / 2 + 1;
  ph.e_first = ea + 2 * (ph.taps - 1);
  ph.pad = ph.taps - 1 - (a + pb - ea) / 2;  // a + pb - ea is even: an exact division
  return ph;
}

}  // namespace

UpsamplePhases::UpsamplePhases(const Conv2dShape& s, const float* x, const float* w, const char* op)
    : x_({}, x, s.C * (s.H / 2) * (s.W / 2), s.N, s.C, (s.H / 2) * (s.W / 2), op) {
  const int Cp = pad8(s.C);
  for (int a = 0; a < 2; ++a) {
    rows_[a] = upsample_nearest2x_phase(a, s.R, s.pad, s.P);
    cols_[a] = upsample_nearest2x_phase(a, s.S, s.pad, s.Q);
  }
  int64_t elems = 0;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      offset_[a][b] = elems;
      elems += s.K * rows_[a].taps * cols_[b].taps * Cp;
    }
  filters_ = std::make_unique<DeviceScratch>(elems * sizeof(bf16_bits));
  for_each_phase([&](int a, int b, const UpsamplePhase& pr, const UpsamplePhase& pc, const uint16_t*) {
    pack_tap_sums(w, TapSumPacking{(int)s.K, (int)s.C, (int)s.R, (int)s.S, Cp, 0, pr.taps, pc.taps, pr.e_first, -2,
                                   pc.e_first, -2},
                  filters_->as<bf16_bits>() + offset_[a][b], op);
  });
}

UpsamplePhases::~UpsamplePhases() = default;

const uint16_t* UpsamplePhases::filter(int a, int b) const { return filters_->as<bf16_bits>() + offset_[a][b]; }

// upsample_nearest2x_conv2d as convolutions at x's size. s is the convolution over the
// upsampled input (stride 1, padding pad, an R x S filter, s.H = 2H, P = 2H + 2 pad - R + 1).
// Row oh of y reads the upsampled rows oh + r - pad, which are x's rows floor((oh + r - pad) / 2).
// So x's row i reaches y's row oh through the taps r with floor((oh - 2i + r - pad) / 2) = 0,
// i.e. r in {pad - d, pad - d + 1} for d = oh - 2i. With e = d + R - 1 - pad (e = 0..R, and each
// e has at least one such tap inside the filter), per axis
//   y[oh] = sum over i and e with oh = 2i - (R - 1 - pad) + e of D[e] x[i],
//   D[e]  = the sum of w[r] over r in {R-1-e, R-e} inside [0, R)
// and in two dimensions D[k][c][e][f] sums up to 4 taps of w[k][c] (pack_tap_sums): the
// forward is the transpose of a stride-2 convolution with the (R+1) x (S+1) filter D and padding
// R-1-pad / S-1-pad. Hence the three directions:
//   forward          y = that transpose, computed like backward-data's stride phases above: the
//                    rows oh = a + 2i (a = 0, 1) meet D's taps e of one parity, e = ea + 2j
//                    (ea = (a + R-1-pad) mod 2), at x's row i + (a + R-1-pad - e) / 2, so each
//                    of the 4 output phases is a stride-1 convolution of x with those taps
//                    flipped (upsample_nearest2x_phase), stored into its rows and columns of y through
//                    the forward epilogue (PhaseForwardStore);
//   backward-data    dx = the stride-2 convolution itself: the forward kernel on dy with D
//                    transposed (rows C, channels K), (R+1) x (S+1) taps, written straight into
//                    dx at x's size;
//   backward-weight  dD[c][k][e][f] = sum over n, i, j of x[c][i][j] dy[k][2i - (R-1-pad) + e][...]:
//                    the weight-gradient kernel with x as the rows and dy gathered at stride 2,
//                    then dw[k][c][r][s] += the 4 taps of dD that hold (r, s).
// For RRDBNet's 3 x 3 with padding 1 that is 4 taps per y pixel (instead of 9), 16 per x pixel
// (instead of 9 at each of its 4 upsampled pixels) and 16 products per (k, c) and x pixel
// (instead of 36): 4/9 of the composed convolution's MACs in every direction, and no tensor of
// the upsampled size. The tap sums are rounded to bf16 once (the composed path rounds each tap).
void igemm_v2_upsample_nearest2x_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep,
                                         float* y) {
  const char* op = "upsample_nearest2x_conv2d_forward (igemm_v2)";
  check_range(op, s);
  const UpsamplePhases phases(s, x, w, op);
  const igemm::Epilogue e = igemm::make_epilogue(s, ep);
  phases.for_each_phase([&](int a, int b, const UpsamplePhase& pr, const UpsamplePhase& pc, const uint16_t* filter) {
    const ConvGemm g = conv_gemm(phases.x(), filter, s.H / 2, s.W / 2, pad8(s.C), pr.count, pc.count, s.N, pr.taps,
                                 pc.taps, 1, pr.pad, pc.pad, s.K);
    run_conv(g,
             PhaseForwardStore{y, s.y_batch_stride, g.M, (int)s.K, (int)(s.P * s.Q),
                               phase_pixels(s.Q, a, b, 2, pr.count, pc.count), e},
             op);
  });
}

void upsample_nearest2x_pack_dgrad_filter(const Conv2dShape& s, const float* w, uint16_t* out, const char* op) {
  pack_tap_sums(w, TapSumPacking{(int)s.K, (int)s.C, (int)s.R, (int)s.S, pad8(s.K), 1, (int)s.R + 1, (int)s.S + 1, 0, 1,
                                 0, 1},
                out, op);
}

void igemm_v2_upsample_nearest2x_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const char* op = "upsample_nearest2x_conv2d_backward_data (igemm_v2)";
  check_range(op, s);
  const int Kp = pad8(s.K);
  const int64_t H = s.H / 2, W = s.W / 2, R = s.R + 1, S = s.S + 1;  // D's taps
  DeviceScratch dyp(s.N * s.P * s.Q * Kp * sizeof(bf16_bits)), wp(s.C * R * S * Kp * sizeof(bf16_bits));
  pack_activations(dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, Kp, dyp.as<bf16_bits>(), op);
  upsample_nearest2x_pack_dgrad_filter(s, w, wp.as<bf16_bits>(), op);
  const ConvGemm g = conv_gemm(dyp.as<bf16_bits>(), wp.as<bf16_bits>(), s.P, s.Q, Kp, H, W, s.N, R, S, 2,
                               (int)s.R - 1 - s.pad, (int)s.S - 1 - s.pad, s.C);
  run_conv(g, ForwardStore{dx, s.C * H * W, g.M, (int)s.C, (int)(H * W), FastDiv((uint32_t)(H * W)), igemm::Epilogue{}},
           op);
}

void igemm_v2_upsample_nearest2x_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const char* op = "upsample_nearest2x_conv2d_backward_weight (igemm_v2)";
  check_range(op, s);
  const int Cp = pad8(s.C), Kp = pad8(s.K);
  const int64_t H = s.H / 2, W = s.W / 2;
  DeviceScratch xp(s.N * H * W * Cp * sizeof(bf16_bits)), dyp(s.N * s.P * s.Q * Kp * sizeof(bf16_bits));
  pack_activations(x, s.C * H * W, s.N, s.C, H * W, Cp, xp.as<bf16_bits>(), op);
  pack_activations(dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, Kp, dyp.as<bf16_bits>(), op);
  const WgradGemm g = wgrad_gemm(xp.as<bf16_bits>(), Cp, s.C, s.N, H, W, dyp.as<bf16_bits>(), Kp, s.P, s.Q, s.R + 1,
                                 s.S + 1, 2, (int)s.R - 1 - s.pad, (int)s.S - 1 - s.pad);
  run_wgrad(g, /*with_bias=*/false, op, [&](const float* ws, const float*, int splits, int64_t) {
    igemm_v2_tap_sum_wgrad_reduce(s, ws, splits, dw, op);
  });
}

}  // namespace detail

}  // namespace sr::cuda
