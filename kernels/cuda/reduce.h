// Deterministic reductions on CUDA: the building blocks of bias gradients, losses and the
// spectral norm. No atomics: every sum is a fixed tree over a fixed assignment of elements
// to threads, so a result is bitwise reproducible (run to run, GPU to GPU).
#pragma once
#include <cstdint>

namespace sr::cuda {

// Per-channel sums of an NCHW-like buffer: for c < C
//   out[c] = (accumulate ? out[c] : 0) + sum over n < N, i < HW of x[n*batch_stride + c*HW + i]
// Two passes: chunks of kChannelChunk elements per (channel, chunk) block summed in
// double, then the chunk sums added in chunk order. batch_stride 0 means C*HW.
// (Linear's bias gradient is the case HW = 1.)
constexpr int64_t kChannelChunk = 16384;
void channel_sum(const float* x, int64_t N, int64_t C, int64_t HW, int64_t batch_stride,
                 float* out, bool accumulate);

// sum_i a[i] * (b ? b[i] : 1) in double, as the CPU's loss_sum does it: blocks of
// math::kLossBlock elements, then the block sums in order. Writes the result to the device
// double *result (no host synchronisation).
void dot_to_device(const float* a, const float* b, int64_t n, double* result);

// *result = sum of the device doubles partial[0..count), in a fixed order (one block).
void sum_partials(const double* partial, int64_t count, double* result);

}  // namespace sr::cuda
