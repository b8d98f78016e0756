// Loss reductions on CUDA (see loss.h).
//
// Pass 1: one block of 256 threads per math::kLossBlock (8192) elements; thread t sums
// point_loss over elements t, t+256, ... of its block in double; block_sum's fixed tree
// gives the block's partial. Pass 2 (reduce.cu's sum_partials): one block adds the
// partials in a fixed order. Pass 3: one thread scales the total and rounds it into the
// output float. Nothing waits on the host. The point losses come from
// kernels/common/math.h, the same code the CPU runs.
#include <algorithm>

#include "kernels/common/math.h"
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
  const int64_t lo = blockIdx.x * math::kLossBlock;
  const int64_t hi = lo + math::kLossBlock < n ? lo + math::kLossBlock : n;
  double acc = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kLossThreads)
    acc += (double)math::point_loss<float>(kind, x[i], t ? t[i] : 0.f, param);
  acc = block_sum<double, kLossThreads>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// *out = (float)(*total * scale): the rounding of the CPU op's Tensor::full(total * scale).
struct LossFinishOp {
  const double* total;
  double scale;
  float* out;
  __device__ void operator()(int64_t) const { *out = (float)(*total * scale); }
};

struct LossBackwardOp {
  math::PointLoss kind;
  const float* x;
  const float* t;
  float* dx;
  float* dt;
  float param;
  const float* upstream;  // the loss's gradient, one float on the device
  double scale;
  __device__ void operator()(int64_t i) const {
    // As the CPU op: the double product rounded once to float.
    const float s = (float)((double)*upstream * scale);
    const float g = s * math::point_loss_grad<float>(kind, x[i], t ? t[i] : 0.f, param);
    if (dx) dx[i] = g;
    if (dt) dt[i] = -g;
  }
};

}  // namespace

void loss_sum(math::PointLoss kind, const float* x, const float* t, int64_t n, double param,
              double scale, float* out) {
  const int64_t blocks = std::max<int64_t>(ceil_div(n, math::kLossBlock), 1);
  SR_CHECK(blocks < (int64_t{1} << 31), "loss_sum: ", n, " elements is too many");
  DeviceScratch partial((blocks + 1) * sizeof(double));
  double* total = partial.as<double>() + blocks;
  if (n > 0) {
    launch_kernel(loss_partial_kernel, (unsigned)blocks, kLossThreads, 0, current_stream(), kind, x, t, n,
                  (float)param, partial.as<double>());
    CUDA_CHECK_LAUNCH("loss_sum");
    sum_partials(partial.as<double>(), blocks, total);
  } else {
    memset_zero(total, sizeof(double));
  }
  launch_map("loss_sum finish", LossFinishOp{total, scale, out}, 1);
}

void loss_backward(math::PointLoss kind, const float* x, const float* t, float* dx, float* dt,
                   int64_t n, double param, const float* g, double scale) {
  launch_map("loss_backward", LossBackwardOp{kind, x, t, dx, dt, (float)param, g, scale}, n);
}

}  // namespace sr::cuda
