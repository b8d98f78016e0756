// Host-side checks of the CUDA backend that need no GPU, so they run in every CI build:
//   kernels/fast_div          the index division of every CUDA kernel, against / and %
//   kernels/igemm_emulated    the tensor-core convolution kernels (v2 TF32, v3 bf16, v4 fp16) run
//                             thread by thread on the CPU: the very Loader, fragment,
//                             epilogue and split-K code of kernels/cuda/igemm.h and
//                             conv2d_problems.h, with mma.sync emulated from the PTX ISA's
//                             documented fragment layouts and NaN-poisoned shared memory,
//                             against the float64 CPU convolution
//   kernels/igemm_v2_plan     igemm_v2's tile and split-K plans at the RRDB shapes, against
//                             the rule of kernels/cuda/conv2d_igemm_v2_plan.h
//   kernels/wgmma_plan        wgmma's tile and pixel-rectangle plans at the RRDB shapes and
//                             odd sizes, against the rule of kernels/cuda/conv2d_wgmma_plan.h
//   kernels/wgmma_wgrad_plan  its weight gradient's tiles and splits, against their rule
//   kernels/registry          the variant table, selection and environment override
//   kernels/sync_launches_flag  the values of SRENGINE_SYNC_LAUNCHES that turn it on
//   kernels/cudnn_algorithm_choice  which cuDNN algorithms each variant may run, in which
//                             order, and the fallback to the next when one does not run
// What this cannot check is the hardware itself (the PTX layouts as the tensor cores
// implement them, barriers, timing): the cuda/ parity tests do that on a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/conv2d.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_cudnn.h"
#include "kernels/cuda/conv2d_igemm_v2_plan.h"
#include "kernels/cuda/conv2d_problems.h"
#include "kernels/cuda/conv2d_wgmma_plan.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/fast_div.h"
#include "kernels/cuda/igemm.h"
#include "kernels/kernel_choice.h"
#include "kernels/registry.h"
#include "support/gradcheck.h"
#include "support/scoped_env.h"

using sr::Conv2dShape;
namespace ig = sr::cuda::igemm;

// ---- FastDiv ----------------------------------------------------------------------------------

TEST_CASE("kernels/fast_div") {
  std::mt19937_64 rng(7);
  std::vector<uint32_t> divisors;
  for (uint32_t d = 1; d <= 1100; ++d) divisors.push_back(d);
  for (uint32_t d : {4095u, 4096u, 4097u, 65535u, 65536u, 65537u, 1000003u, (1u << 20) + 1,
                     (1u << 30) - 1, 1u << 30, (1u << 30) + 1, (1u << 31) - 1})
    divisors.push_back(d);
  const uint32_t kMax = (1u << 31) - 1;
  for (uint32_t d : divisors) {
    const sr::cuda::FastDiv fd(d);
    auto check = [&](uint32_t n) {
      uint32_t q, r;
      fd.divmod(n, q, r);
      if (q != n / d || r != n % d) FAIL("FastDiv(" << d << "): " << n << " -> " << q << ", " << r);
    };
    for (uint32_t n = 0; n < 3000; ++n) check(n);
    std::uniform_int_distribution<uint32_t> any(0, kMax);
    for (int i = 0; i < 2000; ++i) check(any(rng));
    // Around multiples of d near the top of the range, where rounding errors would show.
    for (uint64_t k = kMax / d; k + 3 > kMax / d && k > 0; --k)
      for (int64_t off = -2; off <= 2; ++off) {
        const int64_t n = (int64_t)k * d + off;
        if (n >= 0 && n <= kMax) check((uint32_t)n);
      }
    check(kMax);
  }
  SUCCEED();
}

// ---- The emulated tensor-core convolution ---------------------------------------------------

namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

// Runs one launch of igemm_kernel<P, BM, BN, PR> (grid ceil(M/BM) x ceil(N/BN) x splits) on
// the CPU: every phase of conv2d_igemm.cu's kernel, for every thread, in program order,
// with the barriers between phases.
template <class P, int BM, int BN, ig::Prec PR>
void emulate_launch(const P& p, int splits, int k_per_split) {
  using T = ig::Tile<P, BM, BN>;
  const int gx = (p.M + BM - 1) / BM, gy = (p.N + BN - 1) / BN;
  std::vector<float> As(2 * T::A_SIZE), Bs(2 * T::B_SIZE);
  std::vector<ig::Loader<P, T>> ld(T::THREADS);
  struct Acc {
    float v[2][4][4];
  };
  std::vector<Acc> acc(T::THREADS);
  for (int bz = 0; bz < splits; ++bz)
    for (int by = 0; by < gy; ++by)
      for (int bx = 0; bx < gx; ++bx) {
        const ig::Block blk = ig::block_at<T>(p.K, bx, by, bz, k_per_split);
        std::fill(As.begin(), As.end(), kPoison);  // unwritten shared memory poisons the result
        std::fill(Bs.begin(), Bs.end(), kPoison);
        for (auto& a : acc)
          for (auto& x : a.v)
            for (auto& y : x)
              for (float& z : y) z = 0.f;
        for (int tid = 0; tid < T::THREADS; ++tid) ld[tid].init(p, tid, blk.m0);
        if (blk.ntiles > 0) {
          for (auto& l : ld) l.load(p, blk.m0, blk.n0, blk.k_begin);
          for (auto& l : ld) l.template store<PR>(As.data(), Bs.data());
        }
        // __syncthreads()
        for (int it = 0; it < blk.ntiles; ++it) {
          const int buf = it & 1;
          const bool more = it + 1 < blk.ntiles;
          if (more)
            for (auto& l : ld) l.load(p, blk.m0, blk.n0, blk.k_begin + (it + 1) * T::BK);
          for (int kk = 0; kk < T::BK; kk += ig::kKStep<PR>) {
            for (int warp = 0; warp < T::THREADS / 32; ++warp) {
              const int wm = warp % T::WARPS_M, wn = warp / T::WARPS_M;
              uint32_t af[32][2][4], bf[32][4][2];
              for (int lane = 0; lane < 32; ++lane)
                ig::load_fragments<T, PR>(lane, wm, wn, As.data() + buf * T::A_SIZE,
                                          Bs.data() + buf * T::B_SIZE, kk, af[lane], bf[lane]);
              for (int mt = 0; mt < 2; ++mt)
                for (int nt = 0; nt < 4; ++nt) {
                  float d[32][4];
                  uint32_t a[32][4], b[32][2];
                  for (int lane = 0; lane < 32; ++lane) {
                    for (int i = 0; i < 4; ++i) d[lane][i] = acc[warp * 32 + lane].v[mt][nt][i];
                    for (int i = 0; i < 4; ++i) a[lane][i] = af[lane][mt][i];
                    for (int i = 0; i < 2; ++i) b[lane][i] = bf[lane][nt][i];
                  }
                  ig::emulate_warp_mma<PR>(d, a, b);
                  for (int lane = 0; lane < 32; ++lane)
                    for (int i = 0; i < 4; ++i) acc[warp * 32 + lane].v[mt][nt][i] = d[lane][i];
                }
            }
          }
          if (more)
            for (auto& l : ld)
              l.template store<PR>(As.data() + (buf ^ 1) * T::A_SIZE, Bs.data() + (buf ^ 1) * T::B_SIZE);
          // __syncthreads()
        }
        for (int tid = 0; tid < T::THREADS; ++tid) {
          const int warp = tid / 32;
          ig::store_accumulators<P, T>(p, tid % 32, warp % T::WARPS_M, warp / T::WARPS_M, blk,
                                       acc[tid].v);
        }
      }
}

int whole_k(int K) { return (K + ig::kBK - 1) / ig::kBK * ig::kBK; }

// The host launcher's choices (conv2d_igemm.cu), emulated.
template <ig::Prec PR>
void emulate_fprop(const ig::Fprop& p) {
  if (p.N <= 32)
    emulate_launch<ig::Fprop, 128, 32, PR>(p, 1, whole_k(p.K));
  else
    emulate_launch<ig::Fprop, 128, 64, PR>(p, 1, whole_k(p.K));
}
template <ig::Prec PR>
void emulate_dgrad(const ig::Dgrad& p) {
  if (p.N <= 32)
    emulate_launch<ig::Dgrad, 128, 32, PR>(p, 1, whole_k(p.K));
  else
    emulate_launch<ig::Dgrad, 128, 64, PR>(p, 1, whole_k(p.K));
}
// plan_override.splits > 0 forces a split plan (to exercise the workspace path).
template <ig::Prec PR>
void emulate_wgrad(ig::Wgrad p, float* dw, ig::SplitPlan forced = {0, 0}) {
  const bool narrow = p.M <= 32;
  const int BM = narrow ? 32 : 64, BN = narrow ? 128 : 64;
  ig::SplitPlan plan = forced.splits > 0 ? forced : ig::plan_split_k(p.M, p.N, p.K, BM, BN, ig::kBK);
  const int64_t mn = (int64_t)p.M * p.N;
  std::vector<float> ws(plan.splits > 1 ? plan.splits * mn : 0, kPoison);
  p.ws = plan.splits > 1 ? ws.data() : nullptr;
  if (narrow)
    emulate_launch<ig::Wgrad, 32, 128, PR>(p, plan.splits, plan.k_per_split);
  else
    emulate_launch<ig::Wgrad, 64, 64, PR>(p, plan.splits, plan.k_per_split);
  if (plan.splits > 1)  // splitk_reduce: dw[i] += ws[0][i] + ws[1][i] + ...
    for (int64_t i = 0; i < mn; ++i) {
      float a = 0.f;
      for (int z = 0; z < plan.splits; ++z) a += ws[z * mn + i];
      dw[i] += a;
    }
}

struct ConvCase {
  int64_t N, C, H, W, K, R, S;
  int stride, pad;
  int64_t extra_in = 0;   // x (and dx) live in a buffer with C + extra_in channels, offset 1
  int64_t extra_out = 0;  // y (and dy) live in a buffer with K + extra_out channels, offset 1
};

std::string describe(const ConvCase& c) {
  std::ostringstream o;
  o << "N" << c.N << " C" << c.C << " " << c.H << "x" << c.W << " K" << c.K << " " << c.R << "x"
    << c.S << " s" << c.stride << " p" << c.pad << " views +" << c.extra_in << "/+" << c.extra_out;
  return o.str();
}

Conv2dShape shape_of(const ConvCase& c) {
  Conv2dShape s = sr::make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
  s.x_batch_stride = (c.C + c.extra_in) * c.H * c.W;
  s.y_batch_stride = (c.K + c.extra_out) * s.P * s.Q;
  return s;
}

// Integer values in [-3, 3] (exact in TF32 and bf16, exact sums) or uniform [-1, 1).
std::vector<float> values(std::mt19937_64& rng, int64_t n, bool integers) {
  std::vector<float> v(n);
  std::uniform_int_distribution<int> di(-3, 3);
  std::uniform_real_distribution<float> dr(-1.f, 1.f);
  for (auto& x : v) x = integers ? (float)di(rng) : dr(rng);
  return v;
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// max |got - ref| <= tol * max(1, max |ref|); integers demand equality.
void expect_close(const char* what, const std::vector<float>& got, const std::vector<double>& ref,
                  double tol, const std::string& ctx) {
  REQUIRE(got.size() == ref.size());
  double scale = 1.0, worst = 0.0;
  size_t at = 0;
  for (double r : ref) scale = std::max(scale, std::fabs(r));
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::isfinite(got[i]) ? std::fabs(got[i] - ref[i]) : INFINITY;
    if (e > worst || !std::isfinite(e)) {
      worst = e;
      at = i;
      if (!std::isfinite(e)) break;
    }
  }
  INFO(ctx << ": " << what << " worst element " << at << ": got " << got[at] << ", expected "
           << ref[at] << " (|err| " << worst << " vs budget " << tol * scale << ")");
  CHECK(worst <= tol * scale);
}

template <ig::Prec PR>
void run_case(const ConvCase& c, bool integers, uint64_t seed) {
  const Conv2dShape s = shape_of(c);
  const std::string ctx = describe(c) + (PR == ig::Prec::tf32 ? " tf32" : PR == ig::Prec::bf16 ? " bf16" : " fp16") +
                          (integers ? " integers" : " random");
  const double tol = integers ? 0.0 : (PR == ig::Prec::bf16 ? 2e-2 : 2e-3);  // tf32 and fp16: 11 bits
  std::mt19937_64 rng(seed);
  const int64_t x_len = c.N * s.x_batch_stride, y_len = c.N * s.y_batch_stride;
  const int64_t x_off = c.extra_in ? c.H * c.W : 0, y_off = c.extra_out ? s.P * s.Q : 0;
  std::vector<float> xbuf = values(rng, x_len, integers), w = values(rng, c.K * c.C * c.R * c.S, integers);
  std::vector<float> bias = values(rng, c.K, integers), res = values(rng, y_len, integers);
  std::vector<float> dybuf = values(rng, y_len, integers);
  const float* x = xbuf.data() + x_off;
  const float* dy = dybuf.data() + y_off;
  const int64_t PQ = s.P * s.Q, HW = c.H * c.W;

  // Contiguous double copies for the CPU reference.
  std::vector<double> xc(c.N * c.C * HW), dyc(c.N * c.K * PQ);
  for (int64_t n = 0; n < c.N; ++n) {
    for (int64_t i = 0; i < c.C * HW; ++i) xc[n * c.C * HW + i] = x[n * s.x_batch_stride + i];
    for (int64_t i = 0; i < c.K * PQ; ++i) dyc[n * c.K * PQ + i] = dy[n * s.y_batch_stride + i];
  }
  Conv2dShape sc = s;
  sc.x_batch_stride = c.C * HW;
  sc.y_batch_stride = c.K * PQ;
  const std::vector<double> wd = as_double(w), bd = as_double(bias);

  SECTION("forward with the fused epilogue") {
    // y = res + 0.5 * (2 * leaky(conv + bias, 0.25)) written into a channel view of y.
    sr::cuda::ConvEpilogue ep;
    ep.bias = bias.data();
    ep.leaky_relu = true;
    ep.slope = 0.25f;
    ep.gain = 2.f;
    ep.residual = res.data() + y_off;
    ep.residual_batch_stride = s.y_batch_stride;
    ep.residual_scale = 0.5f;
    std::vector<float> ybuf(y_len, kPoison);
    const ig::Fprop p = ig::make_fprop(s, x, w.data(), ep, ybuf.data() + y_off);
    emulate_fprop<PR>(p);
    std::vector<double> ref(c.N * c.K * PQ);
    sr::cpu::conv2d_forward<double>(sc, xc.data(), wd.data(), bd.data(), ref.data());
    std::vector<float> got(ref.size());
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < c.K * PQ; ++i) {
        double z = ref[n * c.K * PQ + i];
        z = 2.0 * (z > 0 ? z : 0.25 * z);
        ref[n * c.K * PQ + i] = (double)res[y_off + n * s.y_batch_stride + i] + 0.5 * z;
        got[n * c.K * PQ + i] = ybuf[y_off + n * s.y_batch_stride + i];
      }
    expect_close("forward", got, ref, tol, ctx);
    // Nothing outside the view was written.
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < s.y_batch_stride; ++i) {
        const bool inside = i >= y_off && i < y_off + c.K * PQ;
        if (!inside && !std::isnan(ybuf[n * s.y_batch_stride + i])) FAIL(ctx << ": write outside y at " << i);
      }
  }

  SECTION("backward-data, overwrite and accumulate") {
    for (bool accumulate : {false, true}) {
      const int64_t dx_bs = s.x_batch_stride;  // dx in the same channel-view layout as x
      std::vector<float> dxbuf = accumulate ? values(rng, x_len, integers) : std::vector<float>(x_len, kPoison);
      const std::vector<float> before = dxbuf;
      const ig::Dgrad p = ig::make_dgrad(s, dy, w.data(), dxbuf.data() + x_off, accumulate, dx_bs);
      emulate_dgrad<PR>(p);
      std::vector<double> ref(c.N * c.C * HW);
      sr::cpu::conv2d_backward_data<double>(sc, dyc.data(), wd.data(), ref.data());
      std::vector<float> got(ref.size());
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t i = 0; i < c.C * HW; ++i) {
          const int64_t at = x_off + n * dx_bs + i;
          got[n * c.C * HW + i] = dxbuf[at];
          if (accumulate) ref[n * c.C * HW + i] += before[at];
        }
      expect_close(accumulate ? "backward-data (accumulate)" : "backward-data", got, ref, tol, ctx);
    }
  }

  SECTION("backward-weight, planned and forced split-K") {
    std::vector<double> ref(c.K * c.C * c.R * c.S, 0.0), dbias_unused(c.K, 0.0);
    sr::cpu::conv2d_backward_weight<double>(sc, xc.data(), dyc.data(), ref.data(), dbias_unused.data());
    const std::vector<float> init = values(rng, (int64_t)ref.size(), integers);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += init[i];  // dw += ...
    const int KG = (int)(c.N * PQ);
    for (int forced : {0, 3}) {
      std::vector<float> dw = init;
      ig::SplitPlan plan{0, 0};
      if (forced) {
        plan.k_per_split = std::max(ig::kBK, whole_k((KG + forced - 1) / forced));
        plan.splits = (KG + plan.k_per_split - 1) / plan.k_per_split;
      }
      emulate_wgrad<PR>(ig::make_wgrad(s, x, dy, dw.data(), nullptr), dw.data(), plan);
      expect_close(forced ? "backward-weight (forced splits)" : "backward-weight", dw, ref,
                   tol * (integers ? 1 : 4), ctx);
    }
  }
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {2, 5, 7, 9, 6, 3, 3, 1, 1},          // odd sizes, partial tiles everywhere
      {2, 3, 8, 8, 40, 4, 4, 2, 1},         // 4x4 stride 2 (the discriminator), N > 32 tile
      {1, 7, 6, 5, 3, 1, 1, 1, 0},          // pointwise
      {1, 2, 9, 8, 5, 7, 7, 1, 3},          // 7x7
      {2, 4, 11, 10, 6, 5, 5, 2, 2},        // 5x5 stride 2, odd input
      {1, 6, 7, 7, 33, 2, 2, 2, 0},         // even filter, no padding, K just over 32
      {2, 6, 5, 6, 7, 3, 3, 1, 1, 3, 2},    // channel-range views in and out
      {1, 70, 4, 5, 9, 3, 3, 1, 1},         // C*R*S = 630: many k tiles
      {2, 3, 24, 24, 4, 3, 3, 1, 1},        // N*P*Q = 1152: wgrad plans two splits
      {1, 3, 6, 7, 70, 3, 2, 1, 1},         // rectangular filter, wgrad M > 64
  };
  return cases;
}

}  // namespace

TEST_CASE("kernels/igemm_emulated_tf32") {
  uint64_t seed = 100;
  for (const ConvCase& c : conv_cases()) {
    DYNAMIC_SECTION(describe(c) << " integers") { run_case<ig::Prec::tf32>(c, true, ++seed); }
    DYNAMIC_SECTION(describe(c) << " random") { run_case<ig::Prec::tf32>(c, false, ++seed); }
  }
}

TEST_CASE("kernels/igemm_emulated_bf16") {
  uint64_t seed = 200;
  for (const ConvCase& c : conv_cases()) {
    DYNAMIC_SECTION(describe(c) << " integers") { run_case<ig::Prec::bf16>(c, true, ++seed); }
    DYNAMIC_SECTION(describe(c) << " random") { run_case<ig::Prec::bf16>(c, false, ++seed); }
  }
}

TEST_CASE("kernels/igemm_split_plan") {
  // RRDB growth conv at batch 16, 64x64 patches: M = 32 out channels, N = 64*9 taps,
  // K = 65,536 pixels -> enough splits to fill the GPU, whole k tiles, no empty split.
  const ig::SplitPlan p = ig::plan_split_k(32, 576, 65536, 32, 128, ig::kBK);
  CHECK(p.splits > 8);
  CHECK(p.k_per_split % ig::kBK == 0);
  CHECK((int64_t)p.splits * p.k_per_split >= 65536);
  CHECK((int64_t)(p.splits - 1) * p.k_per_split < 65536);
  const ig::SplitPlan small = ig::plan_split_k(64, 576, 500, 64, 64, ig::kBK);
  CHECK(small.splits == 1);
}

// ---- igemm_v2's launch plans --------------------------------------------------------------------
namespace v2p = sr::cuda::igemm_v2;

// The rule of plan_conv, restated: BN = 32 iff Nout <= 32; BM = 128 iff the 128-row tiles
// make kWaves waves; split-K only under one wave of 64-row tiles, enough for kWaves waves
// unless a split would get fewer than kMinKTilesPerSplit k tiles; whole, non-empty splits.
void check_conv_plan_rule(const v2p::ConvPlan& p, int64_t M, int64_t Nout, int ktiles, int sms) {
  INFO("M " << M << " Nout " << Nout << " ktiles " << ktiles << " SMs " << sms << ": plan " << p.bm << " x " << p.bn
            << ", " << p.splits << " splits of " << p.ktiles_per_split);
  CHECK(p.bn == (Nout <= 32 ? 32 : 64));
  const int64_t t128 = v2p::tile_count(M, Nout, 128, p.bn), t64 = v2p::tile_count(M, Nout, 64, p.bn);
  CHECK(p.bm == (t128 >= 2 * sms ? 128 : 64));
  if (p.bm == 128 || t64 >= sms) {
    CHECK(p.splits == 1);
  } else {
    const int64_t want = (2 * sms + t64 - 1) / t64;
    const int64_t most = std::max(1, ktiles / v2p::kMinKTilesPerSplit);
    CHECK(p.splits <= std::min(want, most));
    CHECK(p.splits >= 1);
  }
  CHECK((int64_t)p.splits * p.ktiles_per_split >= ktiles);
  CHECK((int64_t)(p.splits - 1) * p.ktiles_per_split < ktiles);  // no empty split
}

TEST_CASE("kernels/igemm_v2_plan") {
  constexpr int kH100 = 132;
  // RRDBNet (nf 64, gc 32) at LR 32 and 64, batch 16 and 48: the dense-block convs (input
  // 64 + 32 i channels, 32 or 64 out), conv_first (3 -> 64), the trunk and upsampling convs
  // (64 -> 64 at LR, 2 LR and 4 LR), conv_last (64 -> 3 at 4 LR). Forward: M = N*P*Q,
  // Nout = K, k tiles = 9 ceil(Cp / 32); backward-data: Nout = C, k tiles over Kp.
  auto ktiles = [](int64_t ch) { return 9 * (int)((((ch + 7) / 8 * 8) + 31) / 32); };
  for (int64_t lr : {32, 64})
    for (int64_t batch : {16, 48}) {
      struct Conv {
        int64_t C, K, scale;
      };
      std::vector<Conv> convs = {{3, 64, 1}, {64, 64, 1}, {64, 64, 2}, {64, 64, 4}, {64, 3, 4}};
      for (int64_t i = 0; i < 5; ++i) convs.push_back({64 + 32 * i, i < 4 ? 32 : 64, 1});
      for (const Conv& c : convs) {
        const int64_t M = batch * (lr * c.scale) * (lr * c.scale);
        for (bool data : {false, true}) {
          const int64_t nout = data ? c.C : c.K;
          const int kt = ktiles(data ? c.K : c.C);
          const v2p::ConvPlan p = v2p::plan_conv(M, nout, kt, kH100);
          check_conv_plan_rule(p, M, nout, kt, kH100);
          // Every RRDB conv fills about two waves of the H100: the issue with 128-row tiles
          // alone was LR 32 at batch 16 (128 CTAs).
          INFO("LR " << lr << " batch " << batch << " C " << c.C << " K " << c.K << (data ? " backward-data" : ""));
          CHECK(v2p::tile_count(M, nout, p.bm, p.bn) * p.splits >= 250);
        }
      }
    }
  // The choices themselves at the shapes.
  auto is = [](const v2p::ConvPlan& p, int bm, int bn, int splits) {
    return p.bm == bm && p.bn == bn && p.splits == splits;
  };
  CHECK(is(v2p::plan_conv(16 * 32 * 32, 64, 18, kH100), 64, 64, 1));   // LR 32 batch 16: 256 CTAs
  CHECK(is(v2p::plan_conv(16 * 32 * 32, 32, 54, kH100), 64, 32, 1));   // its growth conv
  CHECK(is(v2p::plan_conv(48 * 32 * 32, 64, 18, kH100), 128, 64, 1));  // batch 48: 384 CTAs
  CHECK(is(v2p::plan_conv(16 * 64 * 64, 32, 18, kH100), 128, 32, 1));  // LR 64: 512 CTAs
  CHECK(is(v2p::plan_conv(16 * 32 * 32, 64, 18, 64), 128, 64, 1));     // a 64-SM GPU: 128 CTAs are 2 waves
  // A deep discriminator conv (8 x 8 at batch 16, 256 -> 256 channels, 72 k tiles): 16 x 4 = 64
  // CTAs, under a wave, so ceil(264 / 64) = 5 splits of 15 k tiles (the last 12).
  const v2p::ConvPlan deep = v2p::plan_conv(16 * 8 * 8, 256, 72, kH100);
  CHECK(is(deep, 64, 64, 5));
  CHECK(deep.ktiles_per_split == 15);
  // Few k tiles: no split below kMinKTilesPerSplit each.
  CHECK(is(v2p::plan_conv(100, 64, 9, kH100), 64, 64, 1));
  CHECK(is(v2p::plan_conv(100, 64, 16, kH100), 64, 64, 2));
  // A forced split count larger than the k tiles is cut to one per k tile.
  v2p::ConvPlan forced;
  forced.splits = 7;
  v2p::finish_splits(forced, 3);
  CHECK(forced.splits == 3);
  CHECK(forced.ktiles_per_split == 1);

  // Weight gradient: BM = 32 iff K <= 32, split-K from plan_split_k with a 2-wave target.
  for (int sms : {kH100, 64}) {
    const v2p::WgradPlan g = v2p::plan_wgrad(32, 9 * 64, 16 * 32 * 32, sms);
    CHECK(g.bm == 32);
    CHECK(g.bn == 64);
    const ig::SplitPlan same = ig::plan_split_k(32, 9 * 64, 16 * 32 * 32, 32, 64, v2p::kBK, 2 * sms);
    CHECK(g.split.splits == same.splits);
    CHECK(g.split.k_per_split == same.k_per_split);
    // 9 column tiles at 16,384 pixels: the pixel floor (512 per split) allows 32 splits; the
    // 2-wave target asks for ceil(264 / 9) = 30 (H100) or ceil(128 / 9) = 15 (64 SMs).
    CHECK(g.split.splits == (sms == kH100 ? 29 : 15));
  }
  CHECK(v2p::plan_wgrad(64, 9 * 192, 16 * 64 * 64, kH100).bm == 64);
}

// ---- wgmma's launch plans ----------------------------------------------------------------------------
namespace wp = sr::cuda::wgmma;

std::string plan_str(const wp::ConvPlan& p) {
  std::ostringstream o;
  o << p.bm << "x" << p.bn << ":" << p.tile_h << "x" << p.tile_w;
  return o.str();
}

// The rule of wgmma::plan_conv, restated as properties of the choice against every plan of
// kPlans: BN = 32 when Nout <= 32; if some plan fills a wave of sm_count CTAs the choice does,
// and no filling plan computes less, or as much with a larger tile; if none fills, none has
// more CTAs.
void check_wgmma_plan_rule(const wp::ConvPlan& p, int64_t N, int64_t P, int64_t Q, int64_t Nout, int sms) {
  INFO("N " << N << " " << P << " x " << Q << " Nout " << Nout << " SMs " << sms << ": plan " << plan_str(p));
  CHECK(wp::is_plan(p));
  if (Nout <= 32) CHECK(p.bn == 32);
  CHECK(p.bm == p.tile_h * p.tile_w);
  const int64_t ctas = wp::cta_count(p, N, P, Q, Nout), work = wp::computed_work(p, N, P, Q, Nout);
  bool any_fills = false;
  for (const wp::ConvPlan& o : wp::kPlans)
    any_fills |= (Nout > 32 || o.bn == 32) && wp::cta_count(o, N, P, Q, Nout) >= sms;
  CHECK((ctas >= sms) == any_fills);
  for (const wp::ConvPlan& o : wp::kPlans) {
    if (Nout <= 32 && o.bn != 32) continue;
    INFO("against " << plan_str(o));
    const int64_t oc = wp::cta_count(o, N, P, Q, Nout), ow = wp::computed_work(o, N, P, Q, Nout);
    if (any_fills) {
      if (oc < sms) continue;
      CHECK(ow >= work);
      if (ow == work) CHECK(o.bm * o.bn <= p.bm * p.bn);
    } else {
      CHECK(oc <= ctas);
    }
  }
}

TEST_CASE("kernels/wgmma_plan") {
  constexpr int kH100 = 132;
  // RRDBNet (nf 64, gc 32) at LR 32, 48 and 64, batch 1, 4 and 16: the dense-block convs
  // (input 64 + 32 i channels, 32 or 64 out) and the trunk conv, forward (Nout = K) and
  // backward-data (Nout = C), all against the rule.
  for (int64_t lr : {32, 48, 64})
    for (int64_t batch : {1, 4, 16})
      for (int64_t c = 64; c <= 192; c += 32)
        for (int64_t k : {32, 64})
          for (int64_t nout : {k, c})
            check_wgmma_plan_rule(wp::plan_conv(batch, lr, lr, nout, kH100), batch, lr, lr, nout, kH100);
  // The choices themselves. Forward, 64 output channels (trunk, rdb conv5): LR 32 at batch 16
  // is 128 CTAs of 128 x 64, under the wave, so 8 x 8 rectangles of 64 (256 CTAs); LR 48 and
  // 64 fill with 128 x 64 (288 and 512); at batch 4 LR 48 and 64 fill with 64 x 64 (144, 256;
  // 128 x 32 has as many CTAs and as much work: the order of kPlans keeps 64 x 64); LR 32 at
  // batch 4 and every batch-1 shape fill no wave and take the most CTAs, 64 x 32.
  auto plan = [](int64_t n, int64_t p, int64_t q, int64_t nout, int sms = 132) {
    return plan_str(wp::plan_conv(n, p, q, nout, sms));
  };
  CHECK(plan(16, 32, 32, 64) == "64x64:8x8");
  CHECK(plan(16, 48, 48, 64) == "128x64:8x16");
  CHECK(plan(16, 64, 64, 64) == "128x64:8x16");
  CHECK(plan(4, 32, 32, 64) == "64x32:8x8");
  CHECK(plan(4, 48, 48, 64) == "64x64:8x8");
  CHECK(plan(4, 64, 64, 64) == "64x64:8x8");
  for (int64_t lr : {32, 48, 64}) CHECK(plan(1, lr, lr, 64) == "64x32:8x8");
  // The growth convs (32 out): BN 32.
  CHECK(plan(16, 32, 32, 32) == "64x32:8x8");
  CHECK(plan(16, 48, 48, 32) == "128x32:8x16");
  CHECK(plan(16, 64, 64, 32) == "128x32:8x16");
  CHECK(plan(4, 64, 64, 32) == "64x32:8x8");
  // Backward-data of a dense-block conv (Nout = C): 96 and 160 channels are 2 and 3 tiles of 64
  // (a third and a sixth padding) but 3 and 5 of 32, so BN = 32; 128 and 192 keep BN = 64.
  CHECK(plan(16, 32, 32, 96) == "128x32:8x16");
  CHECK(plan(16, 32, 32, 160) == "128x32:8x16");
  CHECK(plan(16, 32, 32, 128) == "128x64:8x16");
  CHECK(plan(16, 32, 32, 192) == "128x64:8x16");
  // A 64-SM GPU: the 128 CTAs of LR 32 at batch 16 are two waves.
  CHECK(plan(16, 32, 32, 64, 64) == "128x64:8x16");
  // Odd sizes: the rectangle that hangs least past the edge. 20 x 20: 8 x 8 computes 24 x 24
  // (4 x 16: 20 x 32; the 128-row tiles, 96 CTAs, fill no wave). 33 x 33: 8 x 8 computes
  // 40 x 40 (8 x 16: 40 x 48). 12 x 40: 4 x 16 computes 12 x 48 (8 x 8: 16 x 40). 32 x 40 at
  // batch 32: 16 x 8 divides it exactly (8 x 16: 32 x 48) and fills (320 CTAs).
  CHECK(plan(16, 20, 20, 64) == "64x64:8x8");
  CHECK(plan(16, 33, 33, 64) == "64x64:8x8");
  CHECK(plan(16, 12, 40, 64) == "64x64:4x16");
  CHECK(plan(32, 32, 40, 64) == "128x64:16x8");
  for (int64_t n : {1, 3, 16})
    for (int64_t p : {1, 7, 9, 17, 31})
      for (int64_t q : {1, 5, 15, 33, 100})
        for (int64_t nout : {3, 32, 33, 64, 70, 256})
          for (int sms : {1, 64, kH100, 100000})
            check_wgmma_plan_rule(wp::plan_conv(n, p, q, nout, sms), n, p, q, nout, sms);
  // The counts themselves.
  CHECK(wp::cta_count({64, 32, 4, 16}, 2, 12, 40, 70) == 2 * 3 * 3 * 3);
  CHECK(wp::computed_work({64, 32, 4, 16}, 2, 12, 40, 70) == 2 * 12 * 48 * 96);
  CHECK_FALSE(wp::is_plan({64, 64, 16, 4}));
  CHECK_FALSE(wp::is_plan({128, 64, 8, 8}));
}

// wgmma::plan_wgrad: the tile from the channel counts, the rectangle from the image, the splits
// from the SM count, each against its rule; and the splits cover the rectangles exactly.
TEST_CASE("kernels/wgmma_wgrad_plan") {
  auto tile = [](const wp::WgradPlan& p) { return plan_str({p.bm, p.bn, p.tile_h, p.tile_w}); };
  // RRDB at LR 32, batch 16 (256 rectangles of 8 x 8), 9 taps. Growth convs (32 out, bn 32): Cp
  // 64 one 64-row tile (9 CTAs: 29 splits of 9 rectangles), 96 and 128 one 128-row tile, 160
  // three 64-row tiles (27 CTAs: 10 splits of 26, the last 22); conv5 (192 in, 64 out): three
  // 64-row tiles.
  const wp::WgradPlan g1 = wp::plan_wgrad(16, 32, 32, 9, 64, 32, 132);
  CHECK(tile(g1) == "64x32:8x8");
  CHECK(g1.splits == 29);
  CHECK(g1.rects_per_split == 9);
  CHECK(tile(wp::plan_wgrad(16, 32, 32, 9, 96, 32, 132)) == "128x32:8x8");
  CHECK(tile(wp::plan_wgrad(16, 32, 32, 9, 128, 32, 132)) == "128x32:8x8");
  const wp::WgradPlan g4 = wp::plan_wgrad(16, 32, 32, 9, 160, 32, 132);
  CHECK(tile(g4) == "64x32:8x8");
  CHECK(g4.splits == 10);
  CHECK(g4.rects_per_split == 26);
  CHECK(tile(wp::plan_wgrad(16, 32, 32, 9, 192, 64, 132)) == "64x64:8x8");
  // 33 output channels need the 64-wide dy tile; 12 x 40 pixels hang least in 4 x 16.
  CHECK(tile(wp::plan_wgrad(2, 12, 40, 9, 64, 40, 132)) == "64x64:4x16");
  // A forced tile keeps the planned splits' rule.
  const wp::WgradPlan forced{128, 64, 4, 16};
  CHECK(tile(wp::plan_wgrad(16, 32, 32, 9, 64, 32, 132, &forced)) == "128x64:4x16");
  // No pixels (an empty batch): one split.
  CHECK(wp::plan_wgrad(0, 32, 32, 9, 64, 32, 132).splits == 1);
  CHECK(wp::plan_wgrad(4, 0, 32, 9, 64, 32, 132).splits == 1);
  for (int64_t n : {1, 3, 16})
    for (int64_t p : {1, 7, 32, 33})
      for (int64_t q : {1, 9, 32, 100})
        for (int64_t taps : {1, 9, 16})
          for (int64_t cp : {8, 64, 72, 192})
            for (int64_t kp : {8, 32, 40, 512})
              for (int sms : {1, 132, 100000}) {
                const wp::WgradPlan w = wp::plan_wgrad(n, p, q, taps, cp, kp, sms);
                INFO(n << " x " << p << " x " << q << ", " << taps << " taps, Cp " << cp << ", Kp " << kp << ", "
                       << sms << " SMs: " << tile(w) << ", " << w.splits << " x " << w.rects_per_split);
                CHECK(wp::is_wgrad_tile(w.bm, w.bn, w.tile_h, w.tile_w));
                CHECK(w.bn == (kp <= 32 ? 32 : 64));
                CHECK(wp::ceil_div(cp, w.bm) * w.bm <= wp::ceil_div(cp, 192 - w.bm) * (192 - w.bm));
                const int64_t rects = n * wp::ceil_div(p, w.tile_h) * wp::ceil_div(q, w.tile_w);
                const int64_t other_h = w.tile_h == 8 ? 4 : 8, other_w = 64 / other_h;
                CHECK(rects * 64 <= n * wp::ceil_div(p, other_h) * other_h * wp::ceil_div(q, other_w) * other_w);
                // No empty split, none missing; each at least 8 rectangles unless there is one split.
                CHECK((int64_t)(w.splits - 1) * w.rects_per_split < rects);
                CHECK((int64_t)w.splits * w.rects_per_split >= rects);
                if (w.splits > 1) CHECK(w.rects_per_split >= wp::kWgradMinRectsPerSplit);
                // About two waves where the rectangles allow: the splits aimed at are
                // ceil(2 sms / tiles), and rounding the run length up loses under 1/9 of them
                // when every split has 8 rectangles or more.
                const int64_t ctas = taps * wp::ceil_div(cp, w.bm) * wp::ceil_div(kp, w.bn) * w.splits;
                if (rects / wp::kWgradMinRectsPerSplit >= 2 * sms) CHECK(ctas * 9 >= 16 * (int64_t)sms);
              }
  CHECK_FALSE(wp::is_wgrad_tile(64, 64, 8, 16));
  CHECK_FALSE(wp::is_wgrad_tile(32, 64, 8, 8));
}

// igemm::store_packed (ConvEpilogue::packed, written by igemm_v2's and wgmma's stores) rounds
// as the packing's cvt.rn.bf16x2.f32: checked against the nearest bf16 chosen in double (ties
// to the even one; past the largest finite bf16 by half an ulp or more: infinity), NaN to
// 0x7fff, over every high half with the low halves that decide rounding, and the element's
// place in the packed rows.
TEST_CASE("kernels/packed_output_rounding") {
  auto value = [](uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return (double)f;
  };
  auto nearest = [&](float f) -> uint16_t {
    if (std::isnan(f)) return 0x7fff;
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint32_t down = u & 0xffff0000u, up = down + 0x10000u;  // the two bf16 around f (same sign)
    if (down == u) return (uint16_t)(u >> 16);
    // The step past the largest finite bf16 is to infinity, which rounds like 2^128 would.
    const double above = (up & 0x7fffffffu) == 0x7f800000u ? std::copysign(std::ldexp(1.0, 128), (double)f) : value(up);
    const double d = std::fabs((double)f - value(down)), e = std::fabs(above - (double)f);
    if (d < e) return (uint16_t)(down >> 16);
    if (e < d) return (uint16_t)(up >> 16);
    return (uint16_t)(((down >> 16) & 1u) ? up >> 16 : down >> 16);
  };
  std::vector<uint16_t> row(16, 0);
  sr::cuda::igemm::Epilogue e;
  e.packed = row.data();
  e.packed_ld = 8;
  e.packed_c_off = 4;
  int64_t bad = 0;
  for (uint32_t hi = 0; hi < 0x10000u; ++hi)
    for (uint32_t lo : {0u, 1u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      const uint32_t u = hi << 16 | lo;
      float f;
      std::memcpy(&f, &u, 4);
      sr::cuda::igemm::store_packed(e, f, 2, 1, 0, 1);  // pixel 1, channel 4 + 2: row[8 + 6]
      bad += row[14] != nearest(f);
    }
  CHECK(bad == 0);
  CHECK(row[0] == 0);
  e.packed = nullptr;  // no packed copy: nothing is written
  sr::cuda::igemm::store_packed(e, 1.0f, 0, 0, 0, 1);
}

// The paired stores (an mma fragment's two adjacent channels as one 32-bit word) write what two
// single stores write, bit for bit and nothing else: igemm::store_packed_pair for k even along
// the packed rows, DgradEpilogue::store_packed_pair for every even c before, in and past a
// range starting at an odd channel (an odd column: element by element) and at an even one
// (one word). The singles are held to the nearest bf16 above; the rows start poisoned.
TEST_CASE("kernels/packed_output_pairs") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-4.f, 4.f);
  constexpr int64_t kLd = 24, kPixels = 3;
  auto poisoned = [] { return std::vector<uint16_t>(kPixels * kLd, 0xffff); };
  int64_t differ = 0, pairs = 0;
  for (int64_t off : {0, 8}) {
    std::vector<uint16_t> got = poisoned(), want = poisoned();
    ig::Epilogue e;
    e.packed_ld = kLd;
    e.packed_c_off = off;
    for (int64_t n = 0; n < 2; ++n)  // rows 0 and 1: images of one pixel (PQ = 1)
      for (int k = 0; k < 16; k += 2) {
        const float y0 = u(rng), y1 = u(rng);
        e.packed = got.data();
        ig::store_packed_pair(e, y0, y1, k, n, 0, 1);
        e.packed = want.data();
        ig::store_packed(e, y0, k, n, 0, 1);
        ig::store_packed(e, y1, k + 1, n, 0, 1);
        ++pairs;
      }
    differ += got != want;
  }
  for (int begin : {5, 0}) {
    std::vector<uint16_t> got = poisoned(), want = poisoned();
    ig::DgradEpilogue e;
    e.packed_ld = kLd;
    e.packed_c_begin = begin;
    e.packed_c_end = begin + 16;
    e.packed_scale = 0.2f;
    for (int64_t hw = 0; hw < kPixels; ++hw)
      for (int c = 0; c < begin + 18; c += 2) {  // pairs before, across and past the range
        const float v0 = u(rng), v1 = u(rng);
        e.packed = got.data();
        e.store_packed_pair(v0, v1, c, 0, hw, kPixels);
        e.packed = want.data();
        e.store_packed(v0, c, 0, hw, kPixels);
        e.store_packed(v1, c + 1, 0, hw, kPixels);
        ++pairs;
      }
    differ += got != want;
    INFO("dgrad range [" << begin << ", " << begin + 16 << ")");
    CHECK(std::count(want.begin(), want.end(), (uint16_t)0xffff) == kPixels * (kLd - 16));  // the singles wrote
  }
  CHECK(pairs == 2 * 2 * 8 + 3 * (12 + 9));
  CHECK(differ == 0);
}

// ---- cuDNN algorithm choice -------------------------------------------------------------------

TEST_CASE("kernels/cudnn_algorithm_choice") {
  namespace ca = sr::cuda::cudnn_algo;
  using D = ca::Direction;
  constexpr size_t kLimit = 1000;
  auto algos = [](D d, const std::vector<ca::Perf>& c) {
    std::string s;
    for (const auto& p : c) s += std::string(s.empty() ? "" : " ") + ca::algo_name(d, p.algo);
    return s;
  };
  // Forward, fastest first as the heuristic sorts them. Math 1 = tensor-op row, 0 = default.
  const std::vector<ca::Perf> fwd = {
      {4, 0, true, true, 10},      // FFT
      {6, 0, true, true, 10},      // WINOGRAD
      {1, 1, true, true, 20},      // IMPLICIT_PRECOMP_GEMM rated for tensor cores
      {1, 0, true, true, 30},      // IMPLICIT_PRECOMP_GEMM again, default math
      {2, 0, true, false, 0},      // GEMM, non-deterministic
      {0, 0, true, true, 5000},    // IMPLICIT_GEMM over the workspace limit
      {3, 0, false, true, 0},      // DIRECT, not supported
  };
  CHECK(algos(D::forward, ca::candidates(D::forward, true, fwd, kLimit)) ==
        "FFT WINOGRAD IMPLICIT_PRECOMP_GEMM IMPLICIT_PRECOMP_GEMM");
  // The fp32 oracle: GEMM family only (no FFT/Winograd rounding), once per algorithm.
  const auto oracle = ca::candidates(D::forward, false, fwd, kLimit);
  CHECK(algos(D::forward, oracle) == "IMPLICIT_PRECOMP_GEMM");
  const std::vector<ca::Perf> data = {{0, 0, true, false, 0}, {2, 0, true, true, 0}, {5, 0, true, true, 0},
                                      {1, 0, true, true, 0}, {4, 0, true, true, 0}};
  CHECK(algos(D::backward_data, ca::candidates(D::backward_data, false, data, kLimit)) == "ALGO_1");
  CHECK(algos(D::backward_data, ca::candidates(D::backward_data, true, data, kLimit)) ==
        "FFT WINOGRAD_NONFUSED ALGO_1 WINOGRAD");
  const std::vector<ca::Perf> filter = {{3, 0, true, true, 0}, {6, 0, true, true, 0}, {1, 0, true, true, 0},
                                        {0, 0, true, true, 0}};
  CHECK(algos(D::backward_weight, ca::candidates(D::backward_weight, false, filter, kLimit)) == "ALGO_1 ALGO_0");

  // Fallback: the first two refuse to run, the third runs; the failures are named.
  const std::vector<ca::Perf> c = ca::candidates(D::forward, true, fwd, kLimit);
  std::vector<size_t> tried;
  std::string why;
  const size_t ran = ca::first_that_runs(D::forward, c, 0, [&](const ca::Perf&, size_t i) -> std::optional<std::string> {
    tried.push_back(i);
    if (i == 0) return std::string("CUDNN_STATUS_NOT_SUPPORTED");
    if (i == 1) return std::string("workspace query failed");
    return std::nullopt;
  }, why);
  CHECK(ran == 2);
  CHECK(tried == std::vector<size_t>{0, 1, 2});
  CHECK(why == "FFT: CUDNN_STATUS_NOT_SUPPORTED; WINOGRAD: workspace query failed");
  // Starting from the cached choice; when none runs, the caller gets size() and every reason.
  why.clear();
  const size_t none = ca::first_that_runs(D::forward, c, 2, [](const ca::Perf&, size_t) -> std::optional<std::string> {
    return std::string("out of memory");
  }, why);
  CHECK(none == c.size());
  CHECK(why == "IMPLICIT_PRECOMP_GEMM: out of memory; IMPLICIT_PRECOMP_GEMM: out of memory");
}

// ---- Registry -----------------------------------------------------------------------------

TEST_CASE("kernels/igemm_emulated_fp16") {
  uint64_t seed = 300;
  for (const ConvCase& c : conv_cases()) {
    DYNAMIC_SECTION(describe(c) << " integers") { run_case<ig::Prec::fp16>(c, true, ++seed); }
    DYNAMIC_SECTION(describe(c) << " random") { run_case<ig::Prec::fp16>(c, false, ++seed); }
  }
}

// The precision -> CUDA conv variant table (kernels/kernel_choice.h): the precision keeps the
// choice's family (native or cuDNN) and sets its math; cuDNN has no bf16 / fp16 path.
TEST_CASE("kernels/conv_variant_for_precision") {
  namespace k = sr::kernels;
  using P = sr::Precision;
  using V = k::ConvVariant;
  for (V v : {V::naive, V::tf32, V::bf16, V::fp16, V::igemm_v2, V::cudnn, V::cudnn_fp32})
    CHECK(k::conv_variant_for_precision(v, P::device_default, "t") == v);  // no silent math change
  for (V v : {V::naive, V::tf32, V::bf16, V::fp16, V::igemm_v2}) {
    CHECK(k::conv_variant_for_precision(v, P::fp32, "t") == V::naive);
    CHECK(k::conv_variant_for_precision(v, P::tf32, "t") == V::tf32);
    // igemm_v2 computes bf16 already: precision bf16 keeps it.
    CHECK(k::conv_variant_for_precision(v, P::bf16, "t") == (v == V::igemm_v2 ? V::igemm_v2 : V::bf16));
    CHECK(k::conv_variant_for_precision(v, P::fp16, "t") == V::fp16);
  }
  for (V v : {V::cudnn, V::cudnn_fp32}) {
    CHECK(k::conv_variant_for_precision(v, P::fp32, "t") == V::cudnn_fp32);
    CHECK(k::conv_variant_for_precision(v, P::tf32, "t") == V::cudnn);
    for (P p : {P::bf16, P::fp16})
      CHECK_THROWS_WITH(k::conv_variant_for_precision(v, p, "conv2d"),
                        Catch::Contains("conv2d: precision " + std::string(sr::precision_name(p))) &&
                            Catch::Contains(k::conv_variant_name(v)) && Catch::Contains("conv_impl native"));
  }
}

TEST_CASE("kernels/registry") {
  namespace k = sr::kernels;
  // Every op has exactly one default per device, and names are unique per (op, device).
  for (const std::string& op : k::ops()) {
    for (const char* dev : {"cpu", "cuda"}) {
      const auto vs = k::variants_of(op, dev);
      if (vs.empty()) continue;
      int defaults = 0;
      for (size_t i = 0; i < vs.size(); ++i) {
        defaults += vs[i].is_default;
        for (size_t j = i + 1; j < vs.size(); ++j) CHECK(std::string(vs[i].name) != vs[j].name);
      }
      INFO(op << " on " << dev);
      CHECK(defaults == 1);
    }
  }
  // The checks below set the environment overrides themselves (and put back the suite's).
  sr::test::ScopedEnv env;
  for (const char* op : {"conv2d", "gemm", "rdb"}) env.unset(k::override_env(op));
  // conv_impl values: typos are errors in every build; known values are accepted.
  CHECK_THROWS_WITH(k::kernel_choice("cudnnn", "fused"), Catch::Contains("conv_impl: unknown value 'cudnnn'") &&
                                                             Catch::Contains("valid: native, cudnn"));
  CHECK_NOTHROW(k::kernel_choice("native", "fused"));
#ifdef SRENGINE_WITH_CUDA
  // The table and the names of the CUDA dispatchers' values agree (no drift either way).
  for (const auto& v : k::variants_of("conv2d", "cuda"))
    CHECK(std::string(sr::cuda::conv_variant_name(sr::cuda::conv_variant_from_name(v.name))) == v.name);
  for (sr::cuda::ConvVariant v : {sr::cuda::ConvVariant::naive, sr::cuda::ConvVariant::tf32,
                                  sr::cuda::ConvVariant::bf16, sr::cuda::ConvVariant::fp16,
                                  sr::cuda::ConvVariant::igemm_v2, sr::cuda::ConvVariant::wgmma,
                                  sr::cuda::ConvVariant::cudnn,
                                  sr::cuda::ConvVariant::cudnn_fp32}) {
#ifndef SRENGINE_WITH_CUDNN
    if (v == sr::cuda::ConvVariant::cudnn || v == sr::cuda::ConvVariant::cudnn_fp32) continue;
#endif
    bool listed = false;
    for (const auto& r : k::variants_of("conv2d", "cuda")) listed = listed || r.name == std::string(sr::cuda::conv_variant_name(v));
    INFO("conv variant " << sr::cuda::conv_variant_name(v) << " is missing from the registry");
    CHECK(listed);
  }
  for (const auto& v : k::variants_of("gemm", "cuda"))
    CHECK(std::string(sr::cuda::gemm_variant_name(sr::cuda::gemm_variant_from_name(v.name))) == v.name);
  // The defaults are the table's; the config's keys choose; "native" is the default.
  CHECK(k::KernelChoice{}.conv2d == k::ConvVariant::tf32);
  CHECK(k::KernelChoice{}.gemm == k::GemmVariant::native);
  CHECK(k::kernel_choice("native", "fused").conv2d == k::ConvVariant::tf32);
  CHECK(k::kernel_choice("naive", "fused").conv2d == k::ConvVariant::naive);
  // The environment wins over the configured choice, and over the defaults.
  env.set("SRENGINE_CONV_IMPL", "bf16");
  CHECK(k::kernel_choice("naive", "fused").conv2d == k::ConvVariant::bf16);
  CHECK(k::KernelChoice{}.conv2d == k::ConvVariant::bf16);
  env.set("SRENGINE_GEMM_IMPL", "cublas");
  CHECK(k::KernelChoice{}.gemm == k::GemmVariant::cublas);
  env.unset("SRENGINE_GEMM_IMPL");
  env.set("SRENGINE_CONV_IMPL", "nonsense");
  CHECK_THROWS_WITH(k::KernelChoice{}, Catch::Contains("SRENGINE_CONV_IMPL") && Catch::Contains("'nonsense'"));
  CHECK_THROWS_WITH(k::kernel_choice("naive", "fused"), Catch::Contains("SRENGINE_CONV_IMPL"));
  env.unset("SRENGINE_CONV_IMPL");
  CHECK(k::kernel_choice("naive", "fused").conv2d == k::ConvVariant::naive);
  CHECK(k::KernelChoice{}.conv2d == k::ConvVariant::tf32);
#ifdef SRENGINE_WITH_CUDNN
  CHECK(k::kernel_choice("cudnn", "fused").conv2d == k::ConvVariant::cudnn);
#else
  CHECK_THROWS_WITH(k::kernel_choice("cudnn", "fused"), Catch::Contains("conv_impl: unknown conv2d variant 'cudnn'"));
#endif
#else
  // No CUDA variants: a GPU config's conv_impl is accepted and ignored.
  CHECK(k::variants_of("conv2d", "cuda").empty());
  CHECK(k::kernel_choice("cudnn", "fused").conv2d == k::KernelChoice{}.conv2d);
#endif
}

#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_check.h"

// SRENGINE_SYNC_LAUNCHES: which values turn the per-launch synchronisation on.
TEST_CASE("kernels/sync_launches_flag") {
  using sr::cuda::sync_launches_flag;
  CHECK_FALSE(sync_launches_flag(nullptr));  // unset
  CHECK_FALSE(sync_launches_flag(""));
  CHECK_FALSE(sync_launches_flag("0"));
  CHECK(sync_launches_flag("1"));
  CHECK(sync_launches_flag("yes"));
  CHECK(sync_launches_flag("00"));  // anything but exactly "0" or empty
}
#endif
