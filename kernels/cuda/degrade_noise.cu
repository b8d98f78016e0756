// Noise + clamp (+ rounding) of the degradation model (see degrade_noise.h). CPU reference:
// data/degrade/noise.cpp (add_gaussian_noise, add_poisson_noise; quantize_u8 of planes.cpp).
//
// Gaussian: one thread per element; z = Box-Muller of Philox draw i (philox::normal_at,
// double), x = clamp(x + (sigma / 255) z, 0, 1) in float, as the CPU computes it.
// Poisson: the quantisation level V of a sample is 2^ceil(log2 n) for n distinct values of
// round(255 x) over the whole sample (gray: of the luma). degrade_noise_levels_kernel marks
// the levels present (shared-memory flags set by atomics, then one plain store of 1 per
// level and block: every writer stores the same value), degrade_noise_count_kernel counts
// them per sample with a ballot, degrade_noise_cdf_kernel writes the CDF of
// Poisson(V level / 255) for every (sample, level) (degrade_math.h's sums, the CPU's
// tables: at most 408 of 416 doubles each, 852 KB per sample, read from L2). The noise
// kernel draws P by a binary search of its level's CDF with a 53-bit uniform (about 9
// steps, where walking the CDF would take ~V level / 255), noise = P / V - level / 255,
// x = clamp(x + scale noise, 0, 1).
// Nothing here sums across threads, so the results are bitwise independent of the launch.
#include <algorithm>
#include <cmath>

#include "kernels/common/degrade_math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/degrade_noise.h"

namespace sr::cuda {

namespace {

constexpr int kLevels = 256;

// 8-bit level of a sample element for the level flags: colour reads the element, gray
// the luma of the pixel.
__device__ int element_level(const float* xs, int64_t hw, int64_t i, bool gray) {
  if (gray) return degrade_math::poisson_level(degrade_math::poisson_gray(xs[i], xs[hw + i], xs[2 * hw + i]));
  return degrade_math::poisson_level(xs[i]);
}

// grid (blocks, N), block kBlock: flags[n][level] = 1 for every level present in sample n
// (3 HW colour values, or HW gray ones). flags is zeroed by the host first.
__global__ void degrade_noise_levels_kernel(const float* __restrict__ x, int64_t hw,
                                            const DegradeNoiseSample* __restrict__ samples, int* __restrict__ flags) {
  SR_SHARED(int, seen, [kLevels]);
  const int n = blockIdx.y;
  const bool gray = samples[n].gray != 0;
  for (int l = threadIdx.x; l < kLevels; l += blockDim.x) seen[l] = 0;
  __syncthreads();
  const float* xs = x + (int64_t)n * 3 * hw;
  const int64_t count = gray ? hw : 3 * hw;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < count; i += (int64_t)gridDim.x * blockDim.x)
    atomicMax(&seen[element_level(xs, hw, i, gray)], 1);
  __syncthreads();
  for (int l = threadIdx.x; l < kLevels; l += blockDim.x)
    if (seen[l]) flags[n * kLevels + l] = 1;
}

// grid N, block 256: levels[n] = the smallest power of two >= the number of levels present.
__global__ void degrade_noise_count_kernel(const int* __restrict__ flags, int* __restrict__ levels) {
  SR_SHARED(int, warp_count, [kLevels / 32]);
  const int n = blockIdx.x, t = threadIdx.x;
  const unsigned ballot = __ballot_sync(0xffffffffu, flags[n * kLevels + t] != 0);
  if ((t & 31) == 0) warp_count[t >> 5] = __popc(ballot);
  __syncthreads();
  if (t == 0) {
    int distinct = 0;
    for (int w = 0; w < kLevels / 32; ++w) distinct += warp_count[w];
    int v = 1;  // 2^ceil(log2(distinct))
    while (v < distinct) v *= 2;
    levels[n] = v;
  }
}

// grid N, block 256 (one thread per level): the CDF of Poisson(V level / 255) of sample n
// into cdf[(n 256 + level) kPoissonCdfCapacity ...] and its length into cdf_len.
__global__ void degrade_noise_cdf_kernel(const int* __restrict__ levels, double* __restrict__ cdf,
                                         int* __restrict__ cdf_len) {
  const int n = blockIdx.x, level = threadIdx.x;
  const int64_t table = (int64_t)n * kLevels + level;
  cdf_len[table] = degrade_math::poisson_cdf(levels[n] * (level / 255.0),
                                             cdf + table * degrade_math::kPoissonCdfCapacity);
}

// (round(255 v) / 255, half to even, clamped: data/degrade/planes.cpp's quantize_u8.)
__device__ float round_u8(float v) {
  return degrade_math::quantize_u8_value(v);
}

__device__ float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

// grid-stride over N x 3 x H x W.
__global__ void degrade_noise_gaussian_kernel(float* __restrict__ x, int64_t hw, int64_t total,
                                              const DegradeNoiseSample* __restrict__ samples, uint64_t seed,
                                              uint64_t gray_stream, int round_to_u8) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / (3 * hw), e = i - n * 3 * hw;  // element of the sample: c * hw + pixel
    const DegradeNoiseSample s = samples[n];
    const double z = s.gray ? philox::normal_at(seed, gray_stream, (uint64_t)(e % hw), 0.0, 1.0)
                            : philox::normal_at(seed, s.stream, (uint64_t)e, 0.0, 1.0);
    const float sigma = (float)(s.amount / 255.0);
    float v = clamp01(x[i] + sigma * (float)z);
    x[i] = round_to_u8 ? round_u8(v) : v;
  }
}

// One thread per pixel, grid-stride over N x H x W: the gray branch reads the pixel's three
// channels before writing them, so one thread owns all three.
__global__ void degrade_noise_poisson_kernel(float* __restrict__ x, int64_t hw, int64_t pixels,
                                             const DegradeNoiseSample* __restrict__ samples,
                                             const int* __restrict__ levels, const double* __restrict__ cdf,
                                             const int* __restrict__ cdf_len, uint64_t seed, int round_to_u8) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < pixels; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / hw, p = i - n * hw;
    const DegradeNoiseSample s = samples[n];
    const int v_levels = levels[n];
    const float scale = (float)s.amount;
    float* xs = x + n * 3 * hw + p;
    const float in[3] = {xs[0], xs[hw], xs[2 * hw]};
    // noise of one quantised value: P / V - level / 255 with P ~ Poisson(V level / 255);
    // level 0 has lambda 0 and no noise (the CPU does not draw for it either).
    auto noise_of = [&](int level, uint64_t index) -> float {
      const int64_t table = n * kLevels + level;
      const int P = level == 0 ? 0
                               : degrade_math::poisson_search(cdf + table * degrade_math::kPoissonCdfCapacity,
                                                              cdf_len[table],
                                                              degrade_math::unit53_at(seed, s.stream, index));
      return (float)((double)P / v_levels - level / 255.0);
    };
    float noise[3];
    if (s.gray) {
      noise[0] = noise[1] = noise[2] =
          noise_of(degrade_math::poisson_level(degrade_math::poisson_gray(in[0], in[1], in[2])), (uint64_t)p);
    } else {
      for (int c = 0; c < 3; ++c) noise[c] = noise_of(degrade_math::poisson_level(in[c]), (uint64_t)(c * hw + p));
    }
    for (int c = 0; c < 3; ++c) {
      const float v = clamp01(in[c] + scale * noise[c]);
      xs[c * hw] = round_to_u8 ? round_u8(v) : v;
    }
  }
}

}  // namespace

void degrade_noise(float* x, int64_t N, int64_t H, int64_t W, DegradeNoiseKind kind,
                   const DegradeNoiseSample* samples, uint64_t seed, uint64_t gray_stream, bool round_to_u8) {
  SR_CHECK(N >= 0 && H >= 1 && W >= 1, "degrade_noise: bad shape N ", N, " H ", H, " W ", W);
  SR_CHECK(kind == DegradeNoiseKind::gaussian || kind == DegradeNoiseKind::poisson, "degrade_noise: unknown kind ",
           (int)kind);
  if (N == 0) return;
  SR_CHECK(N <= 65535, "degrade_noise: batch ", N, " exceeds 65535 samples");
  for (int64_t n = 0; n < N; ++n)
    SR_CHECK(std::isfinite(samples[n].amount) && samples[n].amount >= 0, "degrade_noise: sample ", n, " has ",
             kind == DegradeNoiseKind::gaussian ? "sigma " : "scale ", samples[n].amount,
             " (must be finite and >= 0)");
  const int64_t hw = H * W;
  DeviceScratch params(N * sizeof(DegradeNoiseSample));
  memcpy(params.as<void>(), samples, N * sizeof(DegradeNoiseSample), CopyKind::host_to_device);
  const DegradeNoiseSample* dev_samples = params.as<DegradeNoiseSample>();
  if (kind == DegradeNoiseKind::gaussian) {
    const int64_t total = N * 3 * hw;
    launch_kernel(degrade_noise_gaussian_kernel, grid_for(total), kBlock, 0, current_stream(), x, hw, total,
                  dev_samples, seed, gray_stream, round_to_u8 ? 1 : 0);
    CUDA_CHECK_LAUNCH("degrade_noise (gaussian)");
    return;
  }
  DeviceScratch flags(N * kLevels * sizeof(int)), levels(N * sizeof(int));
  memset_zero(flags.as<void>(), N * kLevels * sizeof(int));
  // Blocks per sample: enough to fill a GPU at batch 12..48, never more than the elements need.
  const unsigned blocks = (unsigned)std::min<int64_t>(ceil_div(3 * hw, kBlock), 64);
  launch_kernel(degrade_noise_levels_kernel, dim3(blocks, (unsigned)N), kBlock, 0, current_stream(),
                (const float*)x, hw, dev_samples, flags.as<int>());
  CUDA_CHECK_LAUNCH("degrade_noise (levels)");
  launch_kernel(degrade_noise_count_kernel, (unsigned)N, kLevels, 0, current_stream(), (const int*)flags.as<int>(),
                levels.as<int>());
  CUDA_CHECK_LAUNCH("degrade_noise (count levels)");
  DeviceScratch cdf(N * kLevels * degrade_math::kPoissonCdfCapacity * sizeof(double)),
      cdf_len(N * kLevels * sizeof(int));
  launch_kernel(degrade_noise_cdf_kernel, (unsigned)N, kLevels, 0, current_stream(), (const int*)levels.as<int>(),
                cdf.as<double>(), cdf_len.as<int>());
  CUDA_CHECK_LAUNCH("degrade_noise (poisson tables)");
  const int64_t pixels = N * hw;
  launch_kernel(degrade_noise_poisson_kernel, grid_for(pixels), kBlock, 0, current_stream(), x, hw, pixels,
                dev_samples, (const int*)levels.as<int>(), (const double*)cdf.as<double>(),
                (const int*)cdf_len.as<int>(), seed, round_to_u8 ? 1 : 0);
  CUDA_CHECK_LAUNCH("degrade_noise (poisson)");
}

}  // namespace sr::cuda
