// Batch norm kernels on CUDA (see batch_norm.h).
//
// Per-channel sums use one scheme: grid (chunks, C) blocks of 256 threads, chunk k of
// channel c covering its elements j in [k*kBnChunk, (k+1)*kBnChunk) of the N*HW values
// (j -> n = j / HW, i = j % HW), double accumulation, block_sum's fixed tree; then one
// thread per channel adds the chunk partials in order. Quantities summed:
//   stats pass 1: x                     -> mean = S / M
//   stats pass 2: (x - mean)^2          -> var = S / M   (two passes, as the CPU)
//   backward:     dy and dy * xhat      -> dbeta, dgamma and the dx correction terms
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fast_div.h"

namespace sr::cuda {

namespace {

constexpr int64_t kBnChunk = 16384;
constexpr int kBnThreads = 256;

struct ChannelGeom {
  int64_t C, HW, per_channel, chunks;
  FastDiv div_hw;
};

// Element (n, c, i) of the (N, C, HW) buffer.
__device__ __forceinline__ int64_t element(const ChannelGeom& g, int64_t c, int64_t j) {
  uint32_t n, i;
  g.div_hw.divmod((uint32_t)j, n, i);
  return ((int64_t)n * g.C + c) * g.HW + i;
}

// mode 0: x; mode 1: (x - mean[c])^2; mode 2: dy; mode 3: dy * (x - mean[c]) * invstd[c]
template <int kMode>
__global__ void __launch_bounds__(kBnThreads)
    channel_partial_kernel(ChannelGeom g, const float* __restrict__ x, const float* __restrict__ dy,
                           const double* __restrict__ mean, const double* __restrict__ invstd,
                           double* __restrict__ partial) {
  const int64_t c = blockIdx.y, chunk = blockIdx.x;
  const int64_t lo = chunk * kBnChunk, hi = lo + kBnChunk < g.per_channel ? lo + kBnChunk : g.per_channel;
  double acc = 0;
  for (int64_t j = lo + threadIdx.x; j < hi; j += kBnThreads) {
    const int64_t e = element(g, c, j);
    if constexpr (kMode == 0) acc += (double)x[e];
    if constexpr (kMode == 1) {
      const double d = (double)x[e] - mean[c];
      acc += d * d;
    }
    if constexpr (kMode == 2) acc += (double)dy[e];
    if constexpr (kMode == 3) acc += (double)dy[e] * ((double)x[e] - mean[c]) * invstd[c];
  }
  acc = block_sum<double, kBnThreads>(acc);
  if (threadIdx.x == 0) partial[c * g.chunks + chunk] = acc;
}

// out[c] = (sum of channel c's partials in chunk order) * scale
__global__ void channel_finish_kernel(const double* __restrict__ partial, int64_t C, int64_t chunks,
                                      double scale, double* __restrict__ out) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= C) return;
  double acc = 0;
  for (int64_t k = 0; k < chunks; ++k) acc += partial[c * chunks + k];
  out[c] = acc * scale;
}

// Per channel: running-stat update (training), eval statistics, invstd.
__global__ void stats_finish_kernel(int64_t C, int training, double momentum, double eps, double M,
                                    double* __restrict__ mean, double* __restrict__ var,
                                    float* __restrict__ running_mean, float* __restrict__ running_var,
                                    double* __restrict__ invstd) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= C) return;
  if (training) {
    if (running_mean) {
      running_mean[c] = (float)((1 - momentum) * running_mean[c] + momentum * mean[c]);
      running_var[c] = (float)((1 - momentum) * running_var[c] + momentum * var[c] * M / (M - 1));
    }
  } else {
    mean[c] = running_mean[c];
    var[c] = running_var[c];
  }
  invstd[c] = 1.0 / sqrt(var[c] + eps);
}

struct ApplyOp {
  const float* x;
  const double* mean;
  const double* invstd;
  const float* gamma;
  const float* beta;
  float* y;
  int64_t C, HW;
  __device__ void operator()(int64_t i) const {
    const int64_t c = (i / HW) % C;
    const double g = gamma ? (double)gamma[c] : 1.0, b = beta ? (double)beta[c] : 0.0;
    const double scale = invstd[c] * g, shift = b - mean[c] * scale;
    y[i] = (float)(x[i] * scale + shift);
  }
};

struct BackwardOp {
  const float* x;
  const float* dy;
  const double* mean;
  const double* invstd;
  const double* sum_dy;
  const double* sum_dy_xhat;
  const float* gamma;
  float* dx;
  int64_t C, HW;
  double M;
  int training;
  __device__ void operator()(int64_t i) const {
    const int64_t c = (i / HW) % C;
    const double g = gamma ? (double)gamma[c] : 1.0, m = mean[c], is = invstd[c];
    const double a = training ? g * sum_dy[c] / M : 0.0, b = training ? g * sum_dy_xhat[c] / M : 0.0;
    const double xhat = (x[i] - m) * is;
    dx[i] = (float)(is * (g * dy[i] - a - xhat * b));
  }
};

struct AddToFloatOp {
  float* dst;
  const double* src;
  __device__ void operator()(int64_t c) const { dst[c] += (float)src[c]; }
};

ChannelGeom geometry(int64_t N, int64_t C, int64_t HW) {
  ChannelGeom g;
  g.C = C;
  g.HW = HW;
  g.per_channel = N * HW;
  SR_CHECK(g.per_channel < (int64_t{1} << 31) && C <= 65535, "batch_norm: input too large (C = ", C,
           ", N*H*W = ", g.per_channel, ")");
  g.chunks = g.per_channel > 0 ? ceil_div(g.per_channel, kBnChunk) : 1;
  g.div_hw = FastDiv((uint32_t)(HW > 0 ? HW : 1));
  return g;
}

template <int kMode>
void channel_sums(const ChannelGeom& g, const float* x, const float* dy, const double* mean,
                  const double* invstd, double scale, double* partial, double* out) {
  launch_kernel(channel_partial_kernel<kMode>, dim3((unsigned)g.chunks, (unsigned)g.C), kBnThreads, 0,
                current_stream(), g, x, dy, mean, invstd, partial);
  CUDA_CHECK_LAUNCH("batch_norm channel sums");
  launch_kernel(channel_finish_kernel, grid_for(g.C), kBlock, 0, current_stream(), partial, g.C, g.chunks, scale, out);
  CUDA_CHECK_LAUNCH("batch_norm channel sums");
}

}  // namespace

void batch_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* running_mean, float* running_var, int64_t N, int64_t C, int64_t HW,
                        bool training, double momentum, double eps, double* mean, double* invstd) {
  if (C == 0) return;
  const ChannelGeom g = geometry(N, C, HW);
  const double M = (double)(N * HW);
  DeviceScratch var_scratch(C * sizeof(double));
  double* var = var_scratch.as<double>();
  DeviceScratch partial(training ? C * g.chunks * sizeof(double) : 0);
  if (training) {
    channel_sums<0>(g, x, nullptr, nullptr, nullptr, 1.0 / M, partial.as<double>(), mean);
    channel_sums<1>(g, x, nullptr, mean, nullptr, 1.0 / M, partial.as<double>(), var);
  }
  launch_kernel(stats_finish_kernel, grid_for(C), kBlock, 0, current_stream(), C, training ? 1 : 0, momentum, eps,
                M, mean, var, running_mean, running_var, invstd);
  CUDA_CHECK_LAUNCH("batch_norm statistics");
  launch_map("batch_norm", ApplyOp{x, mean, invstd, gamma, beta, y, C, HW}, N * C * HW);
}

void batch_norm_backward(const float* x, const float* dy, const double* mean, const double* invstd,
                         const float* gamma, float* dx, float* dgamma, float* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training) {
  if (C == 0) return;
  const ChannelGeom g = geometry(N, C, HW);
  DeviceScratch stats(2 * C * sizeof(double));
  double* sum_dy = stats.as<double>();
  double* sum_dy_xhat = sum_dy + C;
  DeviceScratch partial(C * g.chunks * sizeof(double));
  channel_sums<2>(g, x, dy, mean, invstd, 1.0, partial.as<double>(), sum_dy);
  channel_sums<3>(g, x, dy, mean, invstd, 1.0, partial.as<double>(), sum_dy_xhat);
  if (dgamma) launch_map("batch_norm_backward dgamma", AddToFloatOp{dgamma, sum_dy_xhat}, C);
  if (dbeta) launch_map("batch_norm_backward dbeta", AddToFloatOp{dbeta, sum_dy}, C);
  if (dx)
    launch_map("batch_norm_backward",
               BackwardOp{x, dy, mean, invstd, sum_dy, sum_dy_xhat, gamma, dx, C, HW,
                          (double)(N * HW), training ? 1 : 0},
               N * C * HW);
}

}  // namespace sr::cuda
