// wgmma: the Hopper convolution (docs/KERNELS.md, "wgmma: the Hopper conv design"). bf16
// operands, fp32 accumulate (the numeric class of `bf16` and `igemm_v2`); sm_90a only.
//
// Layout. igemm_v2's packing (conv2d_variants.h) gives channels-last bf16 operands,
//   activations [N][H][W][Cp], weights [K][R][S][Cp], Cp = C rounded up to 8,
// and the GEMM's reduction index is ordered (r, s, c) as there: a k tile is one filter tap
// and 64 channels (ceil(Cp / 64) tiles per tap), 64 bf16 = 128 bytes = one swizzle row.
//
// Tiles. A CTA computes BM = TH x TW output pixels x BN output channels, the pixels a TH x TW
// rectangle of one image: 128 as 8 x 16 or 16 x 8, 64 as 8 x 8 or 4 x 16, and BN = 64 or 32;
// wgmma::plan_conv (conv2d_wgmma_plan.h) picks one per problem. So for each tap (r, s) the A
// tile is one box of the activations: the tensor map's tiled copy of the 4-d box (64
// channels, TW columns, TH rows, 1 image) at (c0, q0 + s - pad, p0 + r - pad, n), pixel
// (i, j) of the rectangle landing in tile row i * TW + j. Elements outside the tensor are
// zero-filled by the copy itself, and that is the convolution's zero padding: a tap hanging
// over the image border reads zeros without a bounds test, and channels Cp .. c0 + 63 of the
// last channel tile are zero the same way. The box never leaves its image (n is a dimension
// of its own); the store drops the rectangle's pixels past P x Q. The B tile is the box (64
// channels, tap, BN output channels) of the weights' 3-d map; output channels past K are
// zero rows. Stride t (2 .. kMaxStride = 8): the same box traversed at element stride t
// ((64, t TW, t TH, 1) elements traversed, every t-th loaded: TW x TH pixels, the stride-1
// tile), starting at (c0, t q0 + s - pad, t p0 + r - pad, n); the dispatcher sends larger
// strides to igemm_v2.
//
// Shared memory and swizzle. Both maps of the forward kernel (and x's of the weight gradient,
// below) use the 128B swizzle: the 16-byte chunk j of the
// 128-byte row of pixel (or output channel) i is stored at chunk j ^ (i % 8). The wgmma
// descriptors name the same layout (K-major, swizzle mode 1, stride byte offset 1024: 8 rows
// of 128 bytes per core group); a k-step of 16 channels advances the start address by 32
// bytes. The tensor core reads 8 rows of one 16-byte chunk column at a time, and the XOR
// puts those 8 chunks in 8 different 16-byte bank groups: conflict-free, with no padding
// (a padded pitch cannot be expressed by the tensor map's box). Every stage starts on a
// 1024-byte boundary, where the swizzle pattern repeats.
//
// Pipeline. 4 stages of 16 KiB (A, BM = 128; 8 KiB at 64) + 8 KiB (B, BN = 64; 4 KiB at 32)
// = 96 KiB at 128 x 64, one mbarrier each ("full": init count 1, armed by thread 0's
// arrive.expect_tx of the stage's bytes, completed by the two copies' transactions). One
// warpgroup (128 threads) computes; thread 0 also issues the copies: a tensor copy is one
// instruction per box, so a dedicated producer warp would idle, and the refill point is
// already a __syncthreads. At k tile i every thread waits for the phase (i / 4) % 2 of
// full[i % 4], issues BM / 64 (m halves) x 4 (k-steps) wgmma m64nBNk16, commits them as one
// group and waits until only that group is in flight (so tile i - 1's wgmma finished reading
// its stage); the __syncthreads then makes that true for all four warps, and thread 0 refills
// that stage with tile i + 3. So 3 tiles are in flight while a fourth is multiplied, and the
// wgmma of tile i overlaps the wait for tile i + 1.
//
// Occupancy on 132 SMs (H100/H200: 228 KiB shared per SM): 96 KiB + 1 KiB of alignment
// slack per CTA at 128 x 64 (80 KiB at 128 x 32) gives 2 CTAs (8 warps) per SM; 64 x 64
// (64 KiB + 1) and 64 x 32 (48 KiB + 1) give 3 and 4. The 128 x 64 fp32 accumulators are 64
// registers per thread, 64 x 32 16. The plan takes 64-row tiles where the 128-row ones fill
// under one wave (LR 32 x 32 at batch 16: 128 CTAs of 128, 256 of 64).
//
// Directions.
//   forward          the kernel above with the full ConvEpilogue in the store (NCHW,
//                    channel views), any stride up to kMaxStride.
//   backward-data    the same kernel on dy (packed, Kp channels) with igemm_v2's flipped,
//                    transposed weights w'[c][r][s][k] = w[k][c][R-1-r][S-1-s]: stride 1 with
//                    padding R-1-pad; stride t as DgradPhases' t x t phase convolutions (each a
//                    flipped sub-filter at its own padding), storing (or adding) into its
//                    residue class of dx's view (WgmmaDataStore). Shapes with phases without
//                    taps (R or S < t) and strides above kMaxStride: igemm_v2's.
//   backward-weight  dw[k][c][r][s] = sum over dy's pixels (n, p, q) of
//                    x[n][c][p t + r - pad][q t + s - pad] dy[n][k][p][q]: per tap (r, s) a GEMM
//                    whose reduction runs over pixels, so both operands come MN-major (their
//                    channels contiguous, the pixels the K index). A CTA takes one tap, BM = 64
//                    or 128 of x's channels (the M rows, as m64 halves) and BN = 64 or 32 of
//                    dy's (the N columns); a k tile is one kWgradPixels = 64-pixel rectangle of
//                    dy (8 x 8 or 4 x 16) and, per half, the box of x that the tap gathers for
//                    it (the forward's box, element strides included), so the tiles land as 64
//                    rows of 128 bytes (x; 128B swizzle) and 64 rows of BN * 2 bytes (dy; 128B,
//                    or the 64B swizzle for BN = 32), which are the MN-major canonical layouts
//                    (PTX ISA: a row per K index, 8-row atoms SBO apart; wgmma imm-trans 1).
//                    A k-step of 16 pixels is 16 rows further. The pixels are split over
//                    blockIdx.z (wgmma::plan_wgrad: 2 waves, >= 8 rectangles per split); each
//                    split stores its partial tile to igemm_v2's workspace layout and
//                    igemm_v2's reduce adds the splits in order (deterministic) into dw. The
//                    bias gradient comes from the dy tiles already in shared memory (the CTAs
//                    of tap 0 and the first x tile); the reduce adds its splits too.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_problems.h"
#include "kernels/cuda/conv2d_variants.h"
#include "kernels/cuda/conv2d_wgmma_plan.h"
#include "kernels/cuda/ptx.h"

#include <cstdlib>
#include <string>

#if defined(__CUDACC__) && !defined(SRENGINE_SIMT)
#include <cudaTypedefs.h>  // PFN_cuTensorMapEncodeTiled (the driver's, reached through the runtime)
#endif

namespace sr::cuda {

namespace {

using bf16_bits = uint16_t;
using ptx::TensorMap;

constexpr int kStages = 4;
constexpr int kBC = 64;                   // channels per k tile: one 128-byte swizzle row
constexpr int kThreads = 128;             // one warpgroup
constexpr int kRowBytes = kBC * 2;        // 128
constexpr uint32_t kSwizzleGroup = 1024;  // 8 rows of 128 bytes: the descriptors' stride byte offset

template <int BM, int BN>
struct Stage {
  static constexpr int A_BYTES = BM * kRowBytes, B_BYTES = BN * kRowBytes, BYTES = A_BYTES + B_BYTES;
  static_assert(BYTES % 1024 == 0, "every stage starts on a swizzle-pattern boundary");
  static constexpr int SHARED = kStages * BYTES + kStages * 8;  // the stages, then the mbarriers
  static constexpr int LAUNCH = SHARED + 1024;                  // slack to align the base to 1024
};

struct WgmmaConv {
  int H, W, P, Q, R, S, stride, pad_h, pad_w, Nout, ctiles, tiles_w, tiles_h;
};

// The output of forward: y[n][k][p][q] = epilogue(acc).
struct WgmmaForwardStore {  // y null: the packed copy only
  float* y;
  int64_t y_bs;
  int K, P, Q;
  igemm::Epilogue ep;
  __device__ void operator()(int n, int p, int q, int k, float v) const {
    if (p >= P || q >= Q || k >= K) return;
    const int64_t pq = (int64_t)p * Q + q, PQ = (int64_t)P * Q;
    const float out = ep.apply(v, k, (int64_t)n * ep.residual_batch_stride + pq, PQ);
    if (y) y[(int64_t)n * y_bs + (int64_t)k * PQ + pq] = out;
    igemm::store_packed(ep, out, k, n, pq, PQ);
  }
  // Channels k and k + 1 of pixel (p, q), k even (wgmma_store_pair): one packed word.
  __device__ void pair(int n, int p, int q, int k, float v0, float v1) const {
    if (p >= P || q >= Q || k >= K) return;
    if (k + 1 == K) return (*this)(n, p, q, k, v0);  // odd K (never packed: K % 8 == 0 there)
    const int64_t pq = (int64_t)p * Q + q, PQ = (int64_t)P * Q, res_off = (int64_t)n * ep.residual_batch_stride + pq;
    const float out0 = ep.apply(v0, k, res_off, PQ), out1 = ep.apply(v1, k + 1, res_off, PQ);
    if (y) {
      float* o = y + (int64_t)n * y_bs + (int64_t)k * PQ + pq;
      o[0] = out0;
      o[PQ] = out1;
    }
    igemm::store_packed_pair(ep, out0, out1, k, n, pq, PQ);
  }
};

// The output of one phase of upsample_nearest2x_conv2d's forward: the phase's pixel (p, q) is y's
// (h0 + 2p, w0 + 2q), y[n][k][.][.] = the whole epilogue of acc (the outer residual included).
struct WgmmaPhaseForwardStore {
  float* y;
  int64_t y_bs;
  int K, Pa, Qb, Q, PQ, h0, w0;
  igemm::Epilogue ep;
  __device__ void operator()(int n, int p, int q, int k, float v) const {
    if (p >= Pa || q >= Qb || k >= K) return;
    const int64_t pq = (int64_t)(h0 + 2 * p) * Q + w0 + 2 * q;
    y[(int64_t)n * y_bs + (int64_t)k * PQ + pq] = ep.apply(v, k, n, pq, PQ);
  }
};

// The output of one backward-data phase (DgradPhases): its pixel (i, j) is dx's
// (h0 + step i, w0 + step j) of an H x W plane, dx[n][c][.][.] (+)= acc (stride 1: the whole
// plane, h0 = w0 = 0, step 1).
struct WgmmaDataStore {
  float* dx;
  int64_t dx_bs;
  int C, Hi, Wi, W, HW, h0, w0, step, accumulate;
  __device__ void operator()(int n, int i, int j, int c, float v) const {
    if (i >= Hi || j >= Wi || c >= C) return;
    float* p = dx + (int64_t)n * dx_bs + (int64_t)c * HW + (int64_t)(h0 + step * i) * W + w0 + step * j;
    *p = accumulate ? *p + v : v;
  }
  // Phase (rows, cols) of dx's C x H x W images, dx_bs apart; the whole plane.
  static WgmmaDataStore phase(float* dx, int64_t dx_bs, int64_t C, int64_t H, int64_t W, const detail::DgradPhase& rows,
                              const detail::DgradPhase& cols, int step, bool accumulate) {
    return {dx, dx_bs, (int)C, rows.count, cols.count, (int)W, (int)(H * W), rows.first, cols.first, step,
            accumulate ? 1 : 0};
  }
  static WgmmaDataStore whole(float* dx, int64_t dx_bs, int64_t C, int64_t H, int64_t W, bool accumulate) {
    return {dx, dx_bs, (int)C, (int)H, (int)W, (int)W, (int)(H * W), 0, 0, 1, accumulate ? 1 : 0};
  }
};

// Accumulators of channels k and k + 1 (k even: a fragment's adjacent columns) at pixel (p, q)
// of image n through a store: its pair() where it has one, else element by element.
template <class Store>
__device__ __forceinline__ void wgmma_store_pair(const Store& st, int n, int p, int q, int k, float v0, float v1) {
  if constexpr (requires { st.pair(n, p, q, k, v0, v1); }) {
    st.pair(n, p, q, k, v0, v1);
  } else {
    st(n, p, q, k, v0);
    st(n, p, q, k + 1, v1);
  }
}

// The mbarrier ring of both kernels (the header's Pipeline) over k tiles 0 .. ktiles-1, stage
// i % kStages of `stage_bytes` at smem, full[i % kStages] its barrier. Thread 0 issues tiles 0 ..
// kStages-2 (issue(kt): arms the barrier and starts the stage's copies); at tile it every
// thread waits for the phase (it / kStages) % 2 of its barrier, fences, runs mma(the stage's
// .shared address) (its wgmma.mma_async), commits them as one group, runs beside(slot) (work
// of its own on the stage's data while the group runs), then waits until only that group is
// in flight: tile it - 1's group has finished reading its stage, the barrier extends that to
// the warpgroup, and thread 0 refills that stage with tile it + kStages - 1. At the end every
// group has retired, so the accumulators are the thread's.
template <class Issue, class Mma, class Beside>
__device__ __forceinline__ void wgmma_ring(int ktiles, unsigned char* smem, int stage_bytes, uint64_t* full,
                                           const Issue& issue, const Mma& mma, const Beside& beside) {
  const int tid = threadIdx.x;
  if (tid == 0)
    for (int kt = 0; kt < kStages - 1 && kt < ktiles; ++kt) issue(kt);
  for (int it = 0; it < ktiles; ++it) {
    const int slot = it % kStages;
    ptx::mbarrier_wait_parity(&full[slot], (uint32_t)(it / kStages) & 1u);
    ptx::wgmma_fence();
    mma(ptx::shared_address(smem + slot * stage_bytes));
    ptx::wgmma_commit_group();
    beside(slot);
    ptx::wgmma_wait_group<1>();
    __syncthreads();
    if (tid == 0 && it + kStages - 1 < ktiles) issue(it + kStages - 1);
  }
  ptx::wgmma_wait_group<0>();
}

// BM = TH x TW pixels (a TH x TW rectangle of one image) x BN output channels: BM / 64 m64
// wgmma per k-step (docs/KERNELS.md, Plans).
template <int BM, int BN, int TW, class Store>
__global__ void __launch_bounds__(kThreads)
    conv2d_wgmma_kernel(const __grid_constant__ TensorMap xmap, const __grid_constant__ TensorMap wmap,
                        const WgmmaConv g, const Store st) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(SRENGINE_SIMT)
  __trap();  // built for a target without wgmma: never launched (require_sm90a), never silent
#endif
  static_assert(BM == 64 || BM == 128, "one or two m64 halves");
  static_assert(BM % TW == 0, "the tile is a whole rectangle");
  constexpr int TH = BM / TW, MH = BM / 64;
  using T = Stage<BM, BN>;
  SR_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* smem = raw + ((1024 - ptx::shared_address(raw) % 1024) % 1024);
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + kStages * T::BYTES);
  const int tid = threadIdx.x;
  const int tw = (int)(blockIdx.x % g.tiles_w), th = (int)(blockIdx.x / g.tiles_w % g.tiles_h);
  const int n = (int)(blockIdx.x / ((unsigned)g.tiles_w * g.tiles_h));
  const int p0 = th * TH, q0 = tw * TW, n0 = (int)blockIdx.y * BN;
  const int ktiles = g.R * g.S * g.ctiles;

  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) ptx::mbarrier_init(&full[s], 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();

  // Thread 0: k tile kt = (tap, channel tile) into stage kt % kStages.
  auto issue = [&](int kt) {
    const int slot = kt % kStages, ct = kt % g.ctiles, tap = kt / g.ctiles;
    const int r = tap / g.S, s = tap % g.S;
    unsigned char* a = smem + slot * T::BYTES;
    ptx::mbarrier_arrive_expect_tx(&full[slot], T::BYTES);
    // Output pixel (p, q) reads input (p stride + r - pad_h, q stride + s - pad_w): the map's
    // element strides step the box's pixels by `stride` from the rectangle's first.
    ptx::tma_load_4d(a, &xmap, ct * kBC, q0 * g.stride + s - g.pad_w, p0 * g.stride + r - g.pad_h, n, &full[slot]);
    ptx::tma_load_3d(a + T::A_BYTES, &wmap, ct * kBC, tap, n0, &full[slot]);
  };

  float acc[MH][BN / 2];
#pragma unroll
  for (int h = 0; h < MH; ++h)
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[h][i] = 0.f;

  // A k tile: 4 k-steps of 16 channels, 32 bytes further along the K-major rows.
  auto mma = [&](uint32_t a) {
    const uint32_t b = a + T::A_BYTES;
#pragma unroll
    for (int ks = 0; ks < kBC / 16; ++ks)
#pragma unroll
      for (int h = 0; h < MH; ++h)  // rows 64h .. 64h + 63 of the tile
        ptx::wgmma_m64k16_bf16<BN>(acc[h],
                                   ptx::wgmma_descriptor(a + h * 64 * kRowBytes + 32 * ks, 16, kSwizzleGroup, 1),
                                   ptx::wgmma_descriptor(b + 32 * ks, 16, kSwizzleGroup, 1), 1);
  };
  wgmma_ring(ktiles, smem, T::BYTES, full, issue, mma, [](int) {});

  // Accumulator i of warp w, lane l, m half h: tile row 64h + 16w + l/4 + 8((i/2)%2) (pixel
  // row / TW, column row % TW of the rectangle: the box's order), output channel
  // 8(i/4) + 2(l%4) + i%2: accumulators i and i + 1, i even, are one pixel's adjacent channels.
  const int warp = tid / 32, lane = tid % 32;
#pragma unroll
  for (int h = 0; h < MH; ++h)
#pragma unroll
    for (int i = 0; i < BN / 2; i += 2) {
      const int row = 64 * h + 16 * warp + lane / 4 + 8 * ((i / 2) % 2);
      const int col = 8 * (i / 4) + 2 * (lane % 4);
      wgmma_store_pair(st, n, p0 + row / TW, q0 + row % TW, n0 + col, acc[h][i], acc[h][i + 1]);
    }
}

// ---- Weight gradient ------------------------------------------------------------------------------
// ws[z][j][tap * Mrows + i] = the sum over split z's rectangles of gathered[i] * aligned[j] (the
// header's backward-weight: i a channel of x, j one of dy, for a convolution).
struct WgmmaWgrad {
  int S, stride, pad_h, pad_w, mtiles, tiles_w, tiles_h, rects, rects_per_split;
  int Mrows;  // the gathered operand's packed channels (the workspace's columns per tap)
  int cols;   // taps * Mrows: the workspace's row length
  int Nout;   // the aligned operand's channels (the workspace's rows)
  float* ws;       // [splits][Nout][taps * Mrows]
  float* bias_ws;  // [splits][Nout]: the aligned operand's channel sums, or null
};

template <int BM, int BN>
struct WgradStage {
  static constexpr int PIXELS = wgmma::kWgradPixels;
  static constexpr int A_HALF = PIXELS * kRowBytes;           // 64 pixels x 64 channels: 8 KiB
  static constexpr int B_ROW = BN * 2;                         // dy's row: 128 (128B) or 64 (64B) bytes
  static constexpr int A_BYTES = BM / 64 * A_HALF, B_BYTES = PIXELS * B_ROW, BYTES = A_BYTES + B_BYTES;
  static_assert(BYTES % 1024 == 0, "every stage starts on a swizzle-pattern boundary");
  // The stages, their mbarriers, then the bias gradient's partial sums (one per thread).
  static constexpr int SHARED = kStages * BYTES + kStages * 8 + kThreads * 4, LAUNCH = SHARED + 1024;
};

template <int BM, int BN, int TW>
__global__ void __launch_bounds__(kThreads)
    conv2d_wgmma_wgrad_kernel(const __grid_constant__ TensorMap gmap, const __grid_constant__ TensorMap amap,
                              const WgmmaWgrad g) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(SRENGINE_SIMT)
  __trap();  // built for a target without wgmma: never launched (require_sm90a), never silent
#endif
  static_assert(BM == 64 || BM == 128, "one or two m64 halves");
  static_assert(BN == 64 || BN == 32, "dy rows of 128 or 64 bytes");
  using T = WgradStage<BM, BN>;
  constexpr int MH = BM / 64, TH = T::PIXELS / TW;
  constexpr uint32_t kBSwizzle = BN == 64 ? 1 : 2;  // descriptor modes: 128B, 64B
  SR_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* smem = raw + ((1024 - ptx::shared_address(raw) % 1024) % 1024);
  uint64_t* full = reinterpret_cast<uint64_t*>(smem + kStages * T::BYTES);
  const int tid = threadIdx.x;
  const int tap = (int)blockIdx.x / g.mtiles, mt = (int)blockIdx.x % g.mtiles;
  const int r = tap / g.S, s = tap % g.S;
  const int c0 = mt * BM, k0 = (int)blockIdx.y * BN;
  const int t_begin = (int)blockIdx.z * g.rects_per_split;
  const int ktiles = max(0, min(g.rects, t_begin + g.rects_per_split) - t_begin);
  // dy's channel sums from its tiles here: the CTAs of tap 0 and the first x tile, 128 / BN
  // threads per channel, each over 64 / (128 / BN) pixels of every tile, in a fixed order.
  const bool with_bias = g.bias_ws && tap == 0 && mt == 0;
  constexpr int kBiasGroups = kThreads / BN, kBiasPixels = T::PIXELS / kBiasGroups;
  const int bias_k = tid % BN, bias_group = tid / BN;
  float bias_acc = 0.f;

  if (tid == 0) {
    for (int i = 0; i < kStages; ++i) ptx::mbarrier_init(&full[i], 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();

  // Thread 0: rectangle t_begin + kt into stage kt % kStages: x's box for this tap per half,
  // then dy's.
  auto issue = [&](int kt) {
    const int slot = kt % kStages, rect = t_begin + kt;
    const int tw = rect % g.tiles_w, th = rect / g.tiles_w % g.tiles_h, n = rect / (g.tiles_w * g.tiles_h);
    const int p0 = th * TH, q0 = tw * TW;
    unsigned char* a = smem + slot * T::BYTES;
    ptx::mbarrier_arrive_expect_tx(&full[slot], T::BYTES);
#pragma unroll
    for (int h = 0; h < MH; ++h)
      ptx::tma_load_4d(a + h * T::A_HALF, &gmap, c0 + 64 * h, q0 * g.stride + s - g.pad_w, p0 * g.stride + r - g.pad_h,
                       n, &full[slot]);
    ptx::tma_load_4d(a + T::A_BYTES, &amap, k0, q0, p0, n, &full[slot]);
  };

  float acc[MH][BN / 2];
#pragma unroll
  for (int h = 0; h < MH; ++h)
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[h][i] = 0.f;

  // A k tile: k-step ks takes pixels 16 ks .. 16 ks + 15, rows 16 ks .. of both MN-major
  // tiles (two 8-row atoms).
  auto mma = [&](uint32_t a) {
    const uint32_t b = a + T::A_BYTES;
#pragma unroll
    for (int ks = 0; ks < T::PIXELS / 16; ++ks)
#pragma unroll
      for (int h = 0; h < MH; ++h)
        ptx::wgmma_m64k16_bf16<BN, 1, 1>(
            acc[h], ptx::wgmma_descriptor(a + h * T::A_HALF + 16 * kRowBytes * ks, T::A_HALF, 8 * kRowBytes, 1),
            ptx::wgmma_descriptor(b + 16 * T::B_ROW * ks, T::B_BYTES, 8 * T::B_ROW, kBSwizzle), 1);
  };
  // Beside the MMAs: dy (pixel px, channel bias_k) of the stage, row px with its chunk swizzled.
  auto bias_sum = [&](int slot) {
    if (!with_bias) return;
    const unsigned char* dy_tile = smem + slot * T::BYTES + T::A_BYTES;
    for (int px = bias_group * kBiasPixels; px < (bias_group + 1) * kBiasPixels; ++px) {
      uint32_t o = (uint32_t)(px * T::B_ROW + 2 * bias_k);
      o ^= ((o >> 7) & (BN == 64 ? 7u : 3u)) << 4;
      bias_acc += __uint_as_float((uint32_t)*reinterpret_cast<const bf16_bits*>(dy_tile + o) << 16);
    }
    // These reads are the generic proxy's; the stage's refill (after the ring's barrier) is a
    // tensor copy, the async proxy's. The PTX ISA asks for a proxy fence between two proxies'
    // accesses of one location; the wgmma reads of the stage need none (async, like the copy).
    ptx::fence_proxy_async_shared();
  };
  wgmma_ring(ktiles, smem, T::BYTES, full, issue, mma, bias_sum);

  if (with_bias) {  // the groups' partials of each channel, added in group order
    float* bias_part = reinterpret_cast<float*>(full + kStages);
    bias_part[tid] = bias_acc;
    __syncthreads();
    if (tid < BN && k0 + tid < g.Nout) {
      float sum = 0.f;
      for (int q = 0; q < kBiasGroups; ++q) sum += bias_part[q * BN + tid];
      g.bias_ws[(int64_t)blockIdx.z * g.Nout + k0 + tid] = sum;
    }
  }

  // Accumulator i of warp w, lane l, half h: x's channel c0 + 64h + 16w + l/4 + 8((i/2)%2) (the
  // row), dy's channel k0 + 8(i/4) + 2(l%4) + i%2 (the column). Every element of the split's
  // tile is stored (zeros for an empty split), so the reduce reads no stale workspace.
  const int warp = tid / 32, lane = tid % 32;
  float* ws = g.ws + (int64_t)blockIdx.z * g.Nout * g.cols + (int64_t)tap * g.Mrows;
#pragma unroll
  for (int h = 0; h < MH; ++h)
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) {
      const int row = c0 + 64 * h + 16 * warp + lane / 4 + 8 * ((i / 2) % 2);
      const int col = k0 + 8 * (i / 4) + 2 * (lane % 4) + (i % 2);
      if (row < g.Mrows && col < g.Nout) ws[(int64_t)col * g.cols + row] = acc[h][i];
    }
}

int pad8(int64_t c) { return detail::igemm_v2_packed_channels(c); }

// ---- Tensor maps ------------------------------------------------------------------------------------
// A tiled bf16 map with the 128B (or 64B) swizzle over a packed operand (dims[0] innermost).
// pitch0: the elements between consecutive indices of dimension 1 (0: dims[0], packed); a
// wider pitch reads a prefix of each row (the packed twin of a dense block's buffer). steps:
// the element strides (null: all 1); box[d] counts the elements traversed, so a copy loads
// box[d] / steps[d] of them (the callers make it exact). swizzle_bytes: 128, or 64 (a box row
// of 64 bytes: the 32-channel dy tiles of the weight gradient).
TensorMap bf16_tensor_map(const void* base, int rank, const uint64_t* dims, const uint32_t* box, const char* op,
                          uint64_t pitch0 = 0, const uint32_t* steps = nullptr, int swizzle_bytes = 128) {
  uint64_t strides[4];
  uint64_t bytes = 2;
  for (int d = 0; d + 1 < rank; ++d) strides[d] = bytes *= (d == 0 && pitch0 ? pitch0 : dims[d]);
  const uint32_t ones[5] = {1, 1, 1, 1, 1};
  const uint32_t* elem_strides = steps ? steps : ones;
  TensorMap map;
#if defined(SRENGINE_SIMT)
  const std::string err = ::simt::encode_tensor_map_tiled(
      &map, 2, (uint32_t)rank, base, dims, strides, box, elem_strides,
      swizzle_bytes == 64 ? ::simt::TensorMapSwizzle::b64 : ::simt::TensorMapSwizzle::b128, false);
  SR_CHECK(err.empty(), op, ": tensor map refused: ", err);
#else
  static PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    const cudaError_t e =
        cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found);
    return e == cudaSuccess && found == cudaDriverEntryPointSuccess
               ? reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn)
               : nullptr;
  }();
  SR_CHECK(encode, op, ": the driver has no cuTensorMapEncodeTiled (CUDA 12 or newer driver needed)");
  const CUresult r = encode(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, (cuuint32_t)rank, const_cast<void*>(base), dims,
                            strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                            swizzle_bytes == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_128B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    std::string shape;
    for (int d = 0; d < rank; ++d)  // strides[d - 1]: the bytes between indices of dimension d
      shape += str_cat(d ? "; " : "", "dim ", d, ": ", dims[d], " elements, ", d ? strides[d - 1] : 2, " B apart, box ",
                       box[d], ", step ", elem_strides[d]);
    fail(op, ": cuTensorMapEncodeTiled failed with CUresult ", (int)r, " for a bf16 map at ", base, " (", shape,
         "; swizzle ", swizzle_bytes, " B)");
  }
#endif
  return map;
}

// The device must run sm_90a code: compute capability 9.0 exactly (the arch-specific
// features of 90a are not forward compatible).
void require_sm90a(const char* op) {
#if !defined(SRENGINE_SIMT)
  int dev = 0, major = 0, minor = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  SR_CHECK(major == 9 && minor == 0, op, ": conv2d variant wgmma needs an sm_90a GPU (compute capability 9.0: H100, ",
           "H200); this device has compute capability ", major, ".", minor, " (choose igemm_v2 or bf16)");
#else
  (void)op;
#endif
}

// ---- Plans ----------------------------------------------------------------------------------------
// The tests' forced plan (wgmma_force_conv_plan; used when its bm is nonzero), else the one
// SRENGINE_WGMMA_PLAN names ("BMxBN:THxTW", e.g. 64x32:8x8: the bench's per-plan rows on a
// GPU), else wgmma::plan_conv from the shape and igemm_v2's SM count.
wgmma::ConvPlan g_forced_plan{0, 0, 0, 0};
wgmma::WgradPlan g_forced_wgrad_tile{0, 0, 0, 0};  // wgmma_force_wgrad_tile's (used when its bm is nonzero)

std::string plan_name(const wgmma::ConvPlan& p) {
  return std::to_string(p.bm) + "x" + std::to_string(p.bn) + ":" + std::to_string(p.tile_h) + "x" +
         std::to_string(p.tile_w);
}

std::string valid_plan_names() {
  std::string s;
  for (const wgmma::ConvPlan& p : wgmma::kPlans) s += (s.empty() ? "" : ", ") + plan_name(p);
  return s;
}

wgmma::ConvPlan choose_plan(int64_t N, int64_t P, int64_t Q, int64_t Nout, const char* op) {
  if (g_forced_plan.bm) return g_forced_plan;
  if (const char* env = std::getenv("SRENGINE_WGMMA_PLAN"); env && *env) {
    for (const wgmma::ConvPlan& p : wgmma::kPlans)
      if (plan_name(p) == env) return p;
    SR_CHECK(false, op, ": SRENGINE_WGMMA_PLAN='", env, "' is no wgmma plan (valid: ", valid_plan_names(), ")");
  }
  return wgmma::plan_conv(N, P, Q, Nout, detail::igemm_v2_sm_count());
}

template <int BM, int BN, int TW, class Store>
void launch_plan(const TensorMap& xmap, const TensorMap& wmap, const WgmmaConv& g, const Store& st, dim3 grid) {
  using T = Stage<BM, BN>;
  CUDA_CHECK(cudaFuncSetAttribute(conv2d_wgmma_kernel<BM, BN, TW, Store>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  T::LAUNCH));
  launch_kernel(conv2d_wgmma_kernel<BM, BN, TW, Store>, grid, kThreads, T::LAUNCH, current_stream(), xmap, wmap, g,
                st);
}

// A convolution (stride 1 .. kMaxStride) of packed x [N][H][W][ldx] (its first Cp channels)
// with packed filters [Nout][R][S][Cp].
template <class Store>
void run_wgmma_conv(const bf16_bits* x, int64_t ldx, const bf16_bits* w, int64_t N, int64_t H, int64_t W, int Cp,
                    int64_t P, int64_t Q, int64_t R, int64_t S, int stride, int pad_h, int pad_w, int64_t Nout,
                    const Store& st, const char* op) {
  const wgmma::ConvPlan plan = choose_plan(N, P, Q, Nout, op);
  WgmmaConv g{};
  g.H = (int)H;
  g.W = (int)W;
  g.P = (int)P;
  g.Q = (int)Q;
  g.R = (int)R;
  g.S = (int)S;
  g.stride = stride;
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.Nout = (int)Nout;
  g.ctiles = (int)ceil_div(Cp, kBC);
  g.tiles_w = (int)ceil_div(Q, plan.tile_w);
  g.tiles_h = (int)ceil_div(P, plan.tile_h);
  const uint64_t xdims[4] = {(uint64_t)Cp, (uint64_t)W, (uint64_t)H, (uint64_t)N};
  // A strided convolution's rectangle of TH x TW outputs reads every stride-th pixel of a
  // (TH stride) x (TW stride) input window per tap: the box traverses the window with element
  // strides (dimension 0's must be 1), and loads TH x TW pixels, the stride-1 tile.
  const uint32_t xbox[4] = {kBC, (uint32_t)(plan.tile_w * stride), (uint32_t)(plan.tile_h * stride), 1},
                 xsteps[4] = {1, (uint32_t)stride, (uint32_t)stride, 1};
  const uint64_t wdims[3] = {(uint64_t)Cp, (uint64_t)(R * S), (uint64_t)Nout};
  const uint32_t wbox[3] = {kBC, 1, (uint32_t)plan.bn};
  const TensorMap xmap = bf16_tensor_map(x, 4, xdims, xbox, op, (uint64_t)ldx, xsteps),
                  wmap = bf16_tensor_map(w, 3, wdims, wbox, op);
  const int64_t ctas = N * g.tiles_w * g.tiles_h;
  const dim3 grid((unsigned)ctas, (unsigned)ceil_div(Nout, plan.bn), 1);
  SR_CHECK(ctas < (int64_t{1} << 31) && grid.y <= 65535, op, ": grid ", ctas, " x ", grid.y,
           " exceeds the launch limits");
  // One instantiation per plan of wgmma::kPlans (TH = BM / TW).
  auto is = [&](int bm, int bn, int tw) { return plan.bm == bm && plan.bn == bn && plan.tile_w == tw; };
  if (is(128, 64, 16)) launch_plan<128, 64, 16>(xmap, wmap, g, st, grid);
  else if (is(128, 64, 8)) launch_plan<128, 64, 8>(xmap, wmap, g, st, grid);
  else if (is(64, 64, 8)) launch_plan<64, 64, 8>(xmap, wmap, g, st, grid);
  else if (is(64, 64, 16)) launch_plan<64, 64, 16>(xmap, wmap, g, st, grid);
  else if (is(128, 32, 16)) launch_plan<128, 32, 16>(xmap, wmap, g, st, grid);
  else if (is(128, 32, 8)) launch_plan<128, 32, 8>(xmap, wmap, g, st, grid);
  else if (is(64, 32, 8)) launch_plan<64, 32, 8>(xmap, wmap, g, st, grid);
  else if (is(64, 32, 16)) launch_plan<64, 32, 16>(xmap, wmap, g, st, grid);
  else SR_CHECK(false, op, ": wgmma plan ", plan_name(plan), " is not built (valid: ", valid_plan_names(), ")");
  CUDA_CHECK_LAUNCH(op);
}

template <int BM, int BN, int TW>
void launch_wgrad(const TensorMap& gmap, const TensorMap& amap, const WgmmaWgrad& g, dim3 grid) {
  using T = WgradStage<BM, BN>;
  CUDA_CHECK(cudaFuncSetAttribute(conv2d_wgmma_wgrad_kernel<BM, BN, TW>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  T::LAUNCH));
  launch_kernel(conv2d_wgmma_wgrad_kernel<BM, BN, TW>, grid, kThreads, T::LAUNCH, current_stream(), gmap, amap, g);
}

// The weight-gradient GEMM of a convolution that gathers b ([N][bH][bW][b_ld], its first b_cp
// channels) through an R x S filter at `stride` for each pixel of a ([N][aP][aQ][a_ld], its
// first a_cp channels, a_ch of them real): ws[z][j][(r S + s) b_cp + i] per split z (plan_wgrad),
// then reduce(ws, bias_ws, splits) (bias_ws: a's channel sums per split when with_bias).
template <class Reduce>
void run_wgmma_wgrad(const bf16_bits* a, int64_t a_ld, int a_cp, int64_t a_ch, const bf16_bits* b, int64_t b_ld,
                     int b_cp, int64_t N, int64_t aP, int64_t aQ, int64_t bH, int64_t bW, int64_t R, int64_t S,
                     int stride, int pad_h, int pad_w, bool with_bias, const char* op, const Reduce& reduce) {
  const wgmma::WgradPlan plan = wgmma::plan_wgrad(N, aP, aQ, R * S, b_cp, a_cp, detail::igemm_v2_sm_count(),
                                                  g_forced_wgrad_tile.bm ? &g_forced_wgrad_tile : nullptr);
  SR_CHECK(plan.bn == 64 || a_cp <= 32, op, ": a wgmma weight-gradient tile of bn 32 with ", a_cp,
           " packed output channels (bn 32 takes at most 32)");
  WgmmaWgrad g{};
  g.S = (int)S;
  g.stride = stride;
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.mtiles = (int)ceil_div(b_cp, plan.bm);
  g.tiles_w = (int)ceil_div(aQ, plan.tile_w);
  g.tiles_h = (int)ceil_div(aP, plan.tile_h);
  g.rects = (int)(N * g.tiles_w * g.tiles_h);
  g.rects_per_split = plan.rects_per_split;
  g.Mrows = b_cp;
  g.cols = (int)(R * S) * b_cp;
  g.Nout = (int)a_ch;
  const int64_t mn = a_ch * g.cols;
  DeviceScratch ws((plan.splits * mn + (with_bias ? plan.splits * a_ch : 0)) * sizeof(float));
  g.ws = ws.as<float>();
  g.bias_ws = with_bias ? g.ws + plan.splits * mn : nullptr;
  // x's box for a tap: the forward's (the rectangle traversed at the stride); dy's: the
  // rectangle itself, bn channels (64-byte rows under the 64B swizzle when bn = 32).
  const uint64_t gdims[4] = {(uint64_t)b_cp, (uint64_t)bW, (uint64_t)bH, (uint64_t)N};
  const uint32_t gbox[4] = {kBC, (uint32_t)(plan.tile_w * stride), (uint32_t)(plan.tile_h * stride), 1},
                 gsteps[4] = {1, (uint32_t)stride, (uint32_t)stride, 1};
  const uint64_t adims[4] = {(uint64_t)a_cp, (uint64_t)aQ, (uint64_t)aP, (uint64_t)N};
  const uint32_t abox[4] = {(uint32_t)plan.bn, (uint32_t)plan.tile_w, (uint32_t)plan.tile_h, 1};
  const TensorMap gmap = bf16_tensor_map(b, 4, gdims, gbox, op, (uint64_t)b_ld, gsteps),
                  amap = bf16_tensor_map(a, 4, adims, abox, op, (uint64_t)a_ld, nullptr, plan.bn == 32 ? 64 : 128);
  const int64_t gx = R * S * g.mtiles;
  const dim3 grid((unsigned)gx, (unsigned)ceil_div(a_ch, plan.bn), (unsigned)plan.splits);
  SR_CHECK(gx < (int64_t{1} << 31) && grid.y <= 65535 && grid.z <= 65535, op, ": grid ", gx, " x ", grid.y, " x ",
           grid.z, " exceeds the launch limits");
  // One instantiation per (bm, bn, rectangle width).
  auto is = [&](int bm, int bn, int tw) { return plan.bm == bm && plan.bn == bn && plan.tile_w == tw; };
  if (is(64, 64, 8)) launch_wgrad<64, 64, 8>(gmap, amap, g, grid);
  else if (is(64, 64, 16)) launch_wgrad<64, 64, 16>(gmap, amap, g, grid);
  else if (is(128, 64, 8)) launch_wgrad<128, 64, 8>(gmap, amap, g, grid);
  else if (is(128, 64, 16)) launch_wgrad<128, 64, 16>(gmap, amap, g, grid);
  else if (is(64, 32, 8)) launch_wgrad<64, 32, 8>(gmap, amap, g, grid);
  else if (is(64, 32, 16)) launch_wgrad<64, 32, 16>(gmap, amap, g, grid);
  else if (is(128, 32, 8)) launch_wgrad<128, 32, 8>(gmap, amap, g, grid);
  else launch_wgrad<128, 32, 16>(gmap, amap, g, grid);
  CUDA_CHECK_LAUNCH(op);
  reduce(g.ws, g.bias_ws, plan.splits);
}

// 32-bit indices inside the kernel and the packed copies (the tensor maps' limits are
// checked where the maps are encoded).
void check_range(const char* op, const Conv2dShape& s) { detail::igemm_v2_check_range(op, "wgmma", s); }

}  // namespace

namespace detail {

bool wgmma_forward_supported(const Conv2dShape& s) { return s.stride >= 1 && s.stride <= wgmma::kMaxStride; }

bool wgmma_backward_data_supported(const Conv2dShape& s) {
  return s.stride == 1 || (s.stride <= wgmma::kMaxStride && s.R >= s.stride && s.S >= s.stride);
}

bool wgmma_backward_weight_supported(const Conv2dShape& s) { return s.stride >= 1 && s.stride <= wgmma::kMaxStride; }

void wgmma_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y,
                   const PackedActivations& px) {
  const char* op = "conv2d_forward (wgmma)";
  SR_CHECK(wgmma_forward_supported(s), op, ": stride ", s.stride, " (1 to ", wgmma::kMaxStride,
           "; the dispatcher routes the others to igemm_v2)");
  require_sm90a(op);
  check_range(op, s);
  const int Cp = pad8(s.C);
  const PackedOperand xo(px, x, s.x_batch_stride, s.N, s.C, s.H * s.W, op);
  DeviceScratch wp(s.K * s.R * s.S * Cp * sizeof(bf16_bits));
  igemm_v2_pack_weights(w, s.K, s.C, s.R, s.S, /*flip=*/false, wp.as<bf16_bits>());
  const WgmmaForwardStore st{y, s.y_batch_stride, (int)s.K, (int)s.P, (int)s.Q,
                             igemm::make_epilogue(s, ep).with_packed(ep)};
  run_wgmma_conv(xo.data(), xo.ld(), wp.as<bf16_bits>(), s.N, s.H, s.W, Cp, s.P, s.Q, s.R, s.S, s.stride, s.pad,
                 s.pad, s.K, st, op);
}

void wgmma_upsample_nearest2x_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep,
                                      float* y) {
  const char* op = "upsample_nearest2x_conv2d_forward (wgmma)";
  require_sm90a(op);
  check_range(op, s);
  const int Cp = pad8(s.C);
  const UpsamplePhases phases(s, x, w, op);
  const igemm::Epilogue e = igemm::make_epilogue(s, ep);
  phases.for_each_phase([&](int a, int b, const UpsamplePhase& pr, const UpsamplePhase& pc, const uint16_t* filter) {
    const WgmmaPhaseForwardStore st{y, s.y_batch_stride, (int)s.K, pr.count, pc.count, (int)s.Q, (int)(s.P * s.Q),
                                    a, b, e};
    run_wgmma_conv(phases.x(), Cp, filter, s.N, s.H / 2, s.W / 2, Cp, pr.count, pc.count, pr.taps, pc.taps, 1, pr.pad,
                   pc.pad, s.K, st, op);
  });
}

void wgmma_upsample_nearest2x_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const char* op = "upsample_nearest2x_conv2d_backward_data (wgmma)";
  require_sm90a(op);
  check_range(op, s);
  const int Kp = pad8(s.K);
  const int64_t H = s.H / 2, W = s.W / 2;
  const PackedOperand dyo({}, dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, op);
  DeviceScratch wp(s.C * (s.R + 1) * (s.S + 1) * Kp * sizeof(bf16_bits));
  upsample_nearest2x_pack_dgrad_filter(s, w, wp.as<bf16_bits>(), op);
  // dx = dy (*) D^T at stride 2, padding R-1-pad / S-1-pad, output x's H x W (one phase: the
  // whole plane).
  const WgmmaDataStore st = WgmmaDataStore::whole(dx, s.C * H * W, s.C, H, W, /*accumulate=*/false);
  run_wgmma_conv(dyo.data(), dyo.ld(), wp.as<bf16_bits>(), s.N, s.P, s.Q, Kp, H, W, s.R + 1, s.S + 1, 2,
                 (int)s.R - 1 - s.pad, (int)s.S - 1 - s.pad, s.C, st, op);
}

void wgmma_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* dbias,
                           const PackedActivations& px, const PackedActivations& pdy) {
  const char* op = "conv2d_backward_weight (wgmma)";
  SR_CHECK(wgmma_backward_weight_supported(s), op, ": stride ", s.stride, " (1 to ", wgmma::kMaxStride,
           "; the dispatcher routes the others to igemm_v2)");
  require_sm90a(op);
  check_range(op, s);
  if (s.N * s.P * s.Q == 0) return;  // no pixels: dw and dbias += 0 (no tensor map of an empty tensor)
  const PackedOperand xo(px, x, s.x_batch_stride, s.N, s.C, s.H * s.W, op),
      dyo(pdy, dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, op);
  run_wgmma_wgrad(dyo.data(), dyo.ld(), pad8(s.K), s.K, xo.data(), xo.ld(), pad8(s.C), s.N, s.P, s.Q, s.H, s.W, s.R,
                  s.S, s.stride, s.pad, s.pad, dbias != nullptr, op,
                  [&](const float* ws, const float* bias_ws, int splits) {
                    igemm_v2_wgrad_reduce(s, ws, bias_ws, splits, dw, dbias, op);
                  });
}

void wgmma_upsample_nearest2x_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw) {
  const char* op = "upsample_nearest2x_conv2d_backward_weight (wgmma)";
  require_sm90a(op);
  check_range(op, s);
  if (s.N * s.H * s.W == 0) return;  // no pixels: dw += 0
  const int64_t H = s.H / 2, W = s.W / 2;
  const PackedOperand xo({}, x, s.C * H * W, s.N, s.C, H * W, op),
      dyo({}, dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, op);
  // dD: x's pixels against dy gathered at stride 2 over D's (R+1) x (S+1) taps, padding
  // R-1-pad / S-1-pad (igemm_v2_upsample_nearest2x_backward_weight), rows C, columns (tap, k).
  run_wgmma_wgrad(xo.data(), xo.ld(), pad8(s.C), s.C, dyo.data(), dyo.ld(), pad8(s.K), s.N, H, W, s.P, s.Q, s.R + 1,
                  s.S + 1, 2, (int)s.R - 1 - s.pad, (int)s.S - 1 - s.pad, /*with_bias=*/false, op,
                  [&](const float* ws, const float*, int splits) {
                    igemm_v2_tap_sum_wgrad_reduce(s, ws, splits, dw, op);
                  });
}

void wgmma_force_wgrad_tile(int bm, int bn, int tile_h, int tile_w) {
  SR_CHECK(bm == 0 || wgmma::is_wgrad_tile(bm, bn, tile_h, tile_w), "wgmma_force_wgrad_tile: ", bm, "x", bn, ":",
           tile_h, "x", tile_w, " is no wgmma weight-gradient tile (bm 64 or 128, bn 64 or 32, 8x8 or 4x16 pixels)");
  g_forced_wgrad_tile = bm ? wgmma::WgradPlan{bm, bn, tile_h, tile_w} : wgmma::WgradPlan{0, 0, 0, 0};
}

void wgmma_force_conv_plan(int bm, int bn, int tile_h, int tile_w) {
  const wgmma::ConvPlan p{bm, bn, tile_h, tile_w};
  SR_CHECK(bm == 0 || wgmma::is_plan(p), "wgmma_force_conv_plan: ", plan_name(p), " is no wgmma plan (valid: ",
           valid_plan_names(), ")");
  g_forced_plan = bm ? p : wgmma::ConvPlan{0, 0, 0, 0};
}

void wgmma_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, bool accumulate,
                         int64_t dx_batch_stride, const PackedActivations& pdy) {
  const char* op = "conv2d_backward_data (wgmma)";
  SR_CHECK(wgmma_backward_data_supported(s), op, ": stride ", s.stride, " with a ", s.R, " x ", s.S,
           " filter (the dispatcher routes strides above ", wgmma::kMaxStride,
           " and filters narrower than the stride to igemm_v2)");
  require_sm90a(op);
  check_range(op, s);
  const int Kp = pad8(s.K);
  const PackedOperand dyo(pdy, dy, s.y_batch_stride, s.N, s.K, s.P * s.Q, op);
  // Each phase: dx's phase pixels = dy (*) its flipped sub-filter, input P x Q (stride 1: the
  // whole filter flipped, padding R-1-pad, S-1-pad, output H x W).
  const DgradPhases phases(s, w, op);
  phases.for_each_phase([&](const DgradPhase& pr, const DgradPhase& pc, const uint16_t* filter) {
    const WgmmaDataStore st = WgmmaDataStore::phase(dx, dx_batch_stride ? dx_batch_stride : s.C * s.H * s.W, s.C,
                                                    s.H, s.W, pr, pc, s.stride, accumulate);
    run_wgmma_conv(dyo.data(), dyo.ld(), filter, s.N, s.P, s.Q, Kp, pr.count, pc.count, pr.taps, pc.taps, 1, pr.pad,
                   pc.pad, s.C, st, op);
  });
}

}  // namespace detail

}  // namespace sr::cuda
