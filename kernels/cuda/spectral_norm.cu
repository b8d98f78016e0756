// Spectral norm kernels on CUDA (see spectral_norm.h). The matrices are small (64 x 576 up
// to 512 x 8192 in UNetDiscriminatorSN), so these kernels are latency-bound: few launches,
// double accumulation like the CPU twin, fixed reduction orders.
//
// One power-iteration step = four launches:
//   1. matvec_t:   v[c] = sum_r u[r] W[r][c]        one thread per column, rows in order
//                                                   (coalesced: a warp reads 32 adjacent c)
//   2. normalize:  v /= max(|v|, eps)               one block: fixed-tree sum of squares
//   3. matvec:     u[r] = sum_c W[r][c] v[c]        one warp per row, lanes stride c,
//                                                   fixed shuffle tree
//   4. normalize:  u /= max(|u|, eps)
// sigma = sum_r u[r] (W v)[r]: step 3's row dots times u, then a one-block sum, left in
//   device memory for the division and the backward (no host round trip).
// backward: <g, W> by reduce.h's two-pass dot (stays on the device), then one map
//   dW = g / sigma - (<g, W> / sigma^2) u[r] v[c].
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/spectral_norm.h"

namespace sr::cuda {

namespace {

constexpr int kNormThreads = 1024;
constexpr int kRowWarps = 8;  // rows per block in the row kernels

__global__ void matvec_t_kernel(const float* __restrict__ W, const float* __restrict__ u,
                                float* __restrict__ v, int64_t rows, int64_t cols) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= cols) return;
  double acc = 0;
  for (int64_t r = 0; r < rows; ++r) acc += (double)u[r] * (double)W[r * cols + c];
  v[c] = (float)acc;
}

// out[r] = (scale_by_u ? u[r] : 1) * sum_c W[r][c] v[c]  (in double when out_d is given)
__global__ void __launch_bounds__(kRowWarps * 32)
    row_dot_kernel(const float* __restrict__ W, const float* __restrict__ v,
                   const float* __restrict__ u, int64_t rows, int64_t cols,
                   float* __restrict__ out_f, double* __restrict__ out_d) {
  const int lane = threadIdx.x & 31;
  const int64_t r = blockIdx.x * (int64_t)kRowWarps + (threadIdx.x >> 5);
  if (r >= rows) return;  // whole warps leave together
  const float* wr = W + r * cols;
  double acc = 0;
  for (int64_t c = lane; c < cols; c += 32) acc += (double)wr[c] * (double)v[c];
  acc = warp_sum(acc);
  if (lane == 0) {
    if (out_f) out_f[r] = (float)acc;
    if (out_d) out_d[r] = (double)u[r] * acc;
  }
}

// x /= max(|x|_2, eps), one block; the norm accumulates in double like the CPU. The bound
// caps registers at 64 per thread, so the 1024-thread launch cannot fail with "too many
// resources" after a change to this kernel (it would spill instead).
__global__ void __launch_bounds__(kNormThreads)
    normalize_kernel(float* __restrict__ x, int64_t n, double eps) {
  SR_SHARED(double, inv_norm, );
  double ss = 0;
  for (int64_t i = threadIdx.x; i < n; i += kNormThreads) ss += (double)x[i] * (double)x[i];
  ss = block_sum<double, kNormThreads>(ss);
  if (threadIdx.x == 0) inv_norm = 1.0 / fmax(sqrt(ss), eps);
  __syncthreads();
  const double inv = inv_norm;
  for (int64_t i = threadIdx.x; i < n; i += kNormThreads) x[i] = (float)((double)x[i] * inv);
}

struct SnBackwardOp {
  const float* g;
  const float* u;
  const float* v;
  const double* gw;     // <g, W> on the device
  const double* sigma;  // on the device
  int64_t cols;
  float* dW;
  __device__ void operator()(int64_t i) const {
    const int64_t r = i / cols, c = i % cols;
    const double sg = *sigma;
    const double a = 1.0 / sg, b = *gw / (sg * sg);
    dW[i] = (float)(a * (double)g[i] - b * (double)u[r] * (double)v[c]);
  }
};

struct SnDivideOp {
  const float* W;
  const double* sigma;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = (float)(1.0 / *sigma) * W[i]; }
};

void normalize(float* x, int64_t n, double eps) {
  launch_kernel(normalize_kernel, 1, kNormThreads, 0, current_stream(), x, n, eps);
  CUDA_CHECK_LAUNCH("spectral_norm normalize");
}

}  // namespace

void spectral_norm_power_iteration(const float* W, float* u, float* v, int64_t rows, int64_t cols,
                                   int iterations, double eps) {
  for (int it = 0; it < iterations; ++it) {
    launch_kernel(matvec_t_kernel, grid_for(cols, kBlock, 1 << 30), kBlock, 0, current_stream(), W, u, v, rows, cols);
    CUDA_CHECK_LAUNCH("spectral_norm W^T u");
    normalize(v, cols, eps);
    launch_kernel(row_dot_kernel, (unsigned)ceil_div(rows, kRowWarps), kRowWarps * 32, 0, current_stream(), W, v,
                  nullptr, rows, cols, u, nullptr);
    CUDA_CHECK_LAUNCH("spectral_norm W v");
    normalize(u, rows, eps);
  }
}

void spectral_norm_sigma(const float* W, const float* u, const float* v, int64_t rows,
                         int64_t cols, double* sigma) {
  DeviceScratch per_row(rows * sizeof(double));
  launch_kernel(row_dot_kernel, (unsigned)ceil_div(rows, kRowWarps), kRowWarps * 32, 0, current_stream(), W, v, u,
                rows, cols, nullptr, per_row.as<double>());
  CUDA_CHECK_LAUNCH("spectral_norm sigma");
  sum_partials(per_row.as<double>(), rows, sigma);
}

void spectral_norm_divide(const float* W, const double* sigma, float* y, int64_t n) {
  launch_map("spectral_norm W / sigma", SnDivideOp{W, sigma, y}, n);
}

void spectral_norm_backward(const float* W, const float* g, const float* u, const float* v,
                            const double* sigma, float* dW, int64_t rows, int64_t cols) {
  DeviceScratch gw(sizeof(double));
  dot_to_device(g, W, rows * cols, gw.as<double>());
  launch_map("spectral_norm_backward", SnBackwardOp{g, u, v, gw.as<double>(), sigma, cols, dW},
             rows * cols);
}

}  // namespace sr::cuda
