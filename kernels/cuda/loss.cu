// Loss reductions on CUDA (see loss.h).
//
// Pass 1: one block of 256 threads per cpu::kLossBlock (8192) elements; thread t sums
// point_loss over elements t, t+256, ... of its block in double; block_sum's fixed tree
// gives the block's partial. Pass 2 (reduce.cu's sum_partials): one block adds the
// partials in a fixed order. The point losses come from kernels/common/math.h, the same
// code the CPU runs.
#include "kernels/cpu/loss.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/reduce.h"

namespace sr::cuda {

namespace {

constexpr int kLossThreads = 256;

__global__ void __launch_bounds__(kLossThreads)
    loss_partial_kernel(math::PointLoss kind, const float* __restrict__ x,
                        const float* __restrict__ t, int64_t n, float param,
                        double* __restrict__ partial) {
  const int64_t lo = blockIdx.x * cpu::kLossBlock;
  const int64_t hi = lo + cpu::kLossBlock < n ? lo + cpu::kLossBlock : n;
  double acc = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kLossThreads)
    acc += (double)math::point_loss<float>(kind, x[i], t ? t[i] : 0.f, param);
  acc = block_sum<double, kLossThreads>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

struct LossBackwardOp {
  math::PointLoss kind;
  const float* x;
  const float* t;
  float* dx;
  float* dt;
  float param, scale;
  __device__ void operator()(int64_t i) const {
    const float g = scale * math::point_loss_grad<float>(kind, x[i], t ? t[i] : 0.f, param);
    if (dx) dx[i] = g;
    if (dt) dt[i] = -g;
  }
};

}  // namespace

double loss_sum(math::PointLoss kind, const float* x, const float* t, int64_t n, double param) {
  if (n <= 0) return 0.0;
  const int64_t blocks = ceil_div(n, cpu::kLossBlock);
  SR_CHECK(blocks < (int64_t{1} << 31), "loss_sum: ", n, " elements is too many");
  DeviceScratch partial((blocks + 1) * sizeof(double));
  double* result = partial.as<double>() + blocks;
  loss_partial_kernel<<<(unsigned)blocks, kLossThreads, 0, current_stream()>>>(
      kind, x, t, n, (float)param, partial.as<double>());
  CUDA_CHECK_LAUNCH("loss_sum");
  sum_partials(partial.as<double>(), blocks, result);
  double total = 0;
  memcpy(&total, result, sizeof(double), CopyKind::device_to_host);  // synchronises
  return total;
}

void loss_backward(math::PointLoss kind, const float* x, const float* t, float* dx, float* dt,
                   int64_t n, double param, double scale) {
  launch_map("loss_backward", LossBackwardOp{kind, x, t, dx, dt, (float)param, (float)scale}, n);
}

}  // namespace sr::cuda
