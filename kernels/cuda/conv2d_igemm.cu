// v2 / v3 convolution kernels: implicit GEMM on tensor cores with mma.sync (inline PTX).
//
//   v2 tf32: operands rounded to TF32 (cvt.rna) when stored to shared memory,
//            mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, fp32 accumulators.
//   v3 bf16: fp32 in shared memory, pairs rounded to bf16 (cvt.rn.bf16x2) into fragments,
//            mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, fp32 accumulators.
//   v4 fp16: as v3 with IEEE fp16 pairs (cvt.rn.f16x2: overflow to infinity, subnormals
//            kept) and mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32.
//
// The GEMM views of the three directions are in conv2d_problems.h and the tile engine
// (loads, shared-memory layouts, fragments, epilogue) in igemm.h; this file is the
// __global__ glue plus the launch decisions:
//   tiles      fprop / dgrad: 128 x 64 (8 warps), or 128 x 32 (4 warps) when the GEMM N
//              (output / input channels) is <= 32 (RRDB's growth convs have K = 32)
//              wgrad: 64 x 64 (4 warps), or 32 x 128 when K <= 32
//   split-K    wgrad only (its K is N*P*Q = 65,536 for RRDB at batch 16 while M*N is a
//              handful of tiles): plan_split_k, partials in a pool workspace, then
//              splitk_reduce_kernel adds split 0, 1, 2, ... into dw: deterministic.
// Instantiations: 3 directions x 2 tiles x 3 precisions = 18 kernels per architecture.
//
// Not yet done (needs a GPU to measure): cp.async multi-stage pipelines, vectorised
// 16-byte loads when C and W allow, NHWC internal layout, wgmma (sm_90a) for Hopper.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_problems.h"
#include "kernels/cuda/conv2d_variants.h"
#include "kernels/cuda/igemm.h"

namespace sr::cuda {

namespace {

using igemm::Block;
using igemm::Prec;

template <class P, int BM, int BN, Prec PR>
__global__ void __launch_bounds__(igemm::Tile<P, BM, BN>::THREADS)
    igemm_kernel(const P p, int k_per_split) {
  using T = igemm::Tile<P, BM, BN>;
  SR_SHARED_ALIGNED(16, float, As, [2][T::A_SIZE]);
  SR_SHARED_ALIGNED(16, float, Bs, [2][T::B_SIZE]);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp % T::WARPS_M, warp_n = warp / T::WARPS_M;
  const Block blk = igemm::block_at<T>(p.K, blockIdx.x, blockIdx.y, blockIdx.z, k_per_split);

  igemm::Loader<P, T> ld;
  ld.init(p, tid, blk.m0);
  float acc[2][4][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[mt][nt][i] = 0.f;

  // Prologue: tile 0 into buffer 0.
  if (blk.ntiles > 0) {
    ld.load(p, blk.m0, blk.n0, blk.k_begin);
    ld.template store<PR>(As[0], Bs[0]);
  }
  __syncthreads();

  for (int it = 0; it < blk.ntiles; ++it) {
    const int buf = it & 1;
    const bool more = it + 1 < blk.ntiles;
    // Issue the global loads of tile it+1 first; their latency hides behind the MMAs.
    if (more) ld.load(p, blk.m0, blk.n0, blk.k_begin + (it + 1) * T::BK);
#pragma unroll
    for (int kk = 0; kk < T::BK; kk += igemm::kKStep<PR>) {
      uint32_t af[2][4], bf[4][2];
      igemm::load_fragments<T, PR>(lane, warp_m, warp_n, As[buf], Bs[buf], kk, af, bf);
#pragma unroll
      for (int mt = 0; mt < 2; ++mt)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) igemm::mma<PR>(acc[mt][nt], af[mt], bf[nt]);
    }
    // Buffer buf^1 was last read in iteration it-1, closed by its barrier.
    if (more) ld.template store<PR>(As[buf ^ 1], Bs[buf ^ 1]);
    __syncthreads();
  }
  igemm::store_accumulators<P, T>(p, lane, warp_m, warp_n, blk, acc);
}

// dw[i] += ws[0][i] + ws[1][i] + ... in split order.
struct SplitKReduceOp {
  const float* ws;
  float* dw;
  int64_t mn;
  int splits;
  __device__ void operator()(int64_t i) const {
    float acc = 0.f;
    for (int z = 0; z < splits; ++z) acc += ws[z * mn + i];
    dw[i] += acc;
  }
};

template <class P, int BM, int BN>
void launch(const P& p, ConvVariant v, int splits, int k_per_split, const char* op) {
  using T = igemm::Tile<P, BM, BN>;
  const dim3 grid((unsigned)ceil_div(p.M, BM), (unsigned)ceil_div(p.N, BN), (unsigned)splits);
  SR_CHECK(grid.y <= 65535 && grid.z <= 65535, op, ": grid ", grid.x, " x ", grid.y, " x ",
           grid.z, " exceeds the launch limits");
  switch (v) {
    case ConvVariant::bf16:
      launch_kernel(igemm_kernel<P, BM, BN, Prec::bf16>, grid, T::THREADS, 0, current_stream(), p, k_per_split);
      break;
    case ConvVariant::fp16:
      launch_kernel(igemm_kernel<P, BM, BN, Prec::fp16>, grid, T::THREADS, 0, current_stream(), p, k_per_split);
      break;
    case ConvVariant::tf32:
      launch_kernel(igemm_kernel<P, BM, BN, Prec::tf32>, grid, T::THREADS, 0, current_stream(), p, k_per_split);
      break;
    default:
      fail(op, ": conv variant ", conv_variant_name(v), " is not an implicit-GEMM format (tf32, bf16, fp16)");
  }
  CUDA_CHECK_LAUNCH(op);
}

int whole_k(int K) { return (int)ceil_div(K, igemm::kBK) * igemm::kBK; }

}  // namespace

namespace detail {

void igemm_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                   const ConvEpilogue& ep, float* y) {
  const igemm::Fprop p = igemm::make_fprop(s, x, w, ep, y);
  if (p.M == 0 || p.N == 0) return;
  if (p.N <= 32)
    launch<igemm::Fprop, 128, 32>(p, v, 1, whole_k(p.K), "conv2d_forward (igemm)");
  else
    launch<igemm::Fprop, 128, 64>(p, v, 1, whole_k(p.K), "conv2d_forward (igemm)");
}

void igemm_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride) {
  const igemm::Dgrad p = igemm::make_dgrad(s, dy, w, dx, accumulate, dx_batch_stride);
  if (p.M == 0 || p.N == 0) return;
  if (p.N <= 32)
    launch<igemm::Dgrad, 128, 32>(p, v, 1, whole_k(p.K), "conv2d_backward_data (igemm)");
  else
    launch<igemm::Dgrad, 128, 64>(p, v, 1, whole_k(p.K), "conv2d_backward_data (igemm)");
}

void igemm_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw) {
  igemm::Wgrad p = igemm::make_wgrad(s, x, dy, dw, nullptr);
  if (p.M == 0 || p.N == 0) return;
  const bool narrow = p.M <= 32;
  const int BM = narrow ? 32 : 64, BN = narrow ? 128 : 64;
  const igemm::SplitPlan plan = igemm::plan_split_k(p.M, p.N, p.K, BM, BN, igemm::kBK);
  const int64_t mn = (int64_t)p.M * p.N;
  DeviceScratch ws(plan.splits > 1 ? plan.splits * mn * sizeof(float) : 0);
  p.ws = plan.splits > 1 ? ws.as<float>() : nullptr;
  if (narrow)
    launch<igemm::Wgrad, 32, 128>(p, v, plan.splits, plan.k_per_split, "conv2d_backward_weight (igemm)");
  else
    launch<igemm::Wgrad, 64, 64>(p, v, plan.splits, plan.k_per_split, "conv2d_backward_weight (igemm)");
  if (plan.splits > 1)
    launch_map("conv2d_backward_weight split-K reduce", SplitKReduceOp{ws.as<float>(), dw, mn, plan.splits}, mn);
}

}  // namespace detail

}  // namespace sr::cuda
