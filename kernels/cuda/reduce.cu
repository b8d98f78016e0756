// Deterministic reductions (see reduce.h).
//
// Pass 1 gives each (row, chunk) pair one block of kReduceThreads threads: thread t sums the
// chunk's elements t, t + 256, t + 512, ... in double, then block_sum's fixed shuffle tree
// combines the threads. Pass 2 adds a row's chunk sums in chunk order with one thread.
// The chunk size, block size and order are constants, so the result never depends on the
// GPU or on timing.
#include "kernels/common/math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fast_div.h"
#include "kernels/cuda/reduce.h"

namespace sr::cuda {

namespace {

constexpr int kReduceThreads = 256;

// grid (chunks, C): partial[c * chunks + chunk] = sum of channel c's elements
// j in [chunk*kChannelChunk, ...) where element j is (n, i) = (j / HW, j % HW).
__global__ void __launch_bounds__(kReduceThreads)
    channel_sum_partial_kernel(const float* __restrict__ x, int64_t per_channel, FastDiv div_hw,
                               int64_t HW, int64_t batch_stride, int64_t chunks,
                               double* __restrict__ partial) {
  const int64_t c = blockIdx.y, chunk = blockIdx.x;
  const int64_t lo = chunk * kChannelChunk;
  const int64_t hi = lo + kChannelChunk < per_channel ? lo + kChannelChunk : per_channel;
  const float* xc = x + c * HW;
  double acc = 0;
  for (int64_t j = lo + threadIdx.x; j < hi; j += kReduceThreads) {
    uint32_t n, i;
    div_hw.divmod((uint32_t)j, n, i);
    acc += (double)xc[(int64_t)n * batch_stride + i];
  }
  acc = block_sum<double, kReduceThreads>(acc);
  if (threadIdx.x == 0) partial[c * chunks + chunk] = acc;
}

__global__ void channel_sum_finish_kernel(const double* __restrict__ partial, int64_t C,
                                          int64_t chunks, float* __restrict__ out, int accumulate) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= C) return;
  double acc = 0;
  for (int64_t k = 0; k < chunks; ++k) acc += partial[c * chunks + k];
  out[c] = accumulate ? out[c] + (float)acc : (float)acc;
}

// One block per kLossBlock elements: partial[b] = sum of a[i] * b[i] over the block.
__global__ void __launch_bounds__(kReduceThreads)
    dot_partial_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t n,
                       double* __restrict__ partial) {
  const int64_t lo = blockIdx.x * math::kLossBlock;
  const int64_t hi = lo + math::kLossBlock < n ? lo + math::kLossBlock : n;
  double acc = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kReduceThreads)
    acc += b ? (double)a[i] * (double)b[i] : (double)a[i];
  acc = block_sum<double, kReduceThreads>(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

// Adds partial[0..count) in a fixed order (one block, fixed tree) into *result.
__global__ void __launch_bounds__(kReduceThreads)
    sum_partials_kernel(const double* __restrict__ partial, int64_t count,
                        double* __restrict__ result) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < count; i += kReduceThreads) acc += partial[i];
  acc = block_sum<double, kReduceThreads>(acc);
  if (threadIdx.x == 0) *result = acc;
}

}  // namespace

void sum_partials(const double* partial, int64_t count, double* result) {
  launch_kernel(sum_partials_kernel, 1, kReduceThreads, 0, current_stream(), partial, count, result);
  CUDA_CHECK_LAUNCH("sum_partials");
}

void channel_sum(const float* x, int64_t N, int64_t C, int64_t HW, int64_t batch_stride,
                 float* out, bool accumulate) {
  if (C <= 0) return;
  if (batch_stride == 0) batch_stride = C * HW;
  const int64_t per_channel = N * HW;
  SR_CHECK(per_channel < (int64_t{1} << 31) && C <= 65535, "channel_sum: ", C, " channels of ",
           per_channel, " elements exceed the kernel's limits");
  const int64_t chunks = per_channel > 0 ? ceil_div(per_channel, kChannelChunk) : 1;
  DeviceScratch partial(C * chunks * sizeof(double));
  if (per_channel > 0) {
    launch_kernel(channel_sum_partial_kernel, dim3((unsigned)chunks, (unsigned)C), kReduceThreads, 0,
                  current_stream(), x, per_channel, FastDiv((uint32_t)HW), HW, batch_stride, chunks,
                  partial.as<double>());
    CUDA_CHECK_LAUNCH("channel_sum");
  } else {
    CUDA_CHECK(cudaMemsetAsync(partial.as<double>(), 0, C * chunks * sizeof(double), current_stream()));
  }
  launch_kernel(channel_sum_finish_kernel, grid_for(C), kBlock, 0, current_stream(), partial.as<double>(), C,
                chunks, out, accumulate ? 1 : 0);
  CUDA_CHECK_LAUNCH("channel_sum");
}

void dot_to_device(const float* a, const float* b, int64_t n, double* result) {
  const int64_t blocks = n > 0 ? ceil_div(n, math::kLossBlock) : 0;
  if (blocks == 0) {
    CUDA_CHECK(cudaMemsetAsync(result, 0, sizeof(double), current_stream()));
    return;
  }
  SR_CHECK(blocks < (int64_t{1} << 31), "dot: ", n, " elements is too many");
  DeviceScratch partial(blocks * sizeof(double));
  launch_kernel(dot_partial_kernel, (unsigned)blocks, kReduceThreads, 0, current_stream(), a, b, n,
                partial.as<double>());
  CUDA_CHECK_LAUNCH("dot");
  sum_partials(partial.as<double>(), blocks, result);
}

}  // namespace sr::cuda
