// Gaussian and Poisson noise of the degradation model on CUDA, with the clamp to [0, 1]
// (and optionally the final rounding to k/255) fused in: the twin of data/degrade/noise.h
// for a batch. Every sample draws from its own Philox stream, element i of a field being
// draw i of the stream, so the kernel and the CPU reference use the same numbers.
#pragma once
#include <cstdint>

namespace sr::cuda {

// One sample's noise. Gaussian: `amount` is sigma in 0..255 units; colour noise reads draw
// c*H*W + y*W + x of (seed, stream), gray noise draw y*W + x of the batch's gray stream.
// Poisson: `amount` is the scale; draws from (seed, stream), index c*H*W + y*W + x in
// colour, y*W + x for gray.
struct DegradeNoiseSample {
  double amount = 0;
  int gray = 0;
  uint64_t stream = 0;
};

enum class DegradeNoiseKind : int { gaussian = 0, poisson = 1 };

// x: N x 3 x H x W, updated in place: x = clamp(x + noise, 0, 1), then, with `round_to_u8`,
// x = round(255 x) / 255 (half to even). `samples` is a host array of N entries;
// `gray_stream` is the stream of the gray Gaussian field the batch's gray samples share.
// Poisson needs each sample's number of distinct 8-bit levels: a first kernel marks them,
// a second counts them (V = 2^ceil(log2 count)), a third writes the CDF of every
// (sample, level) (N x 852 KB of scratch), then the noise kernel draws by binary search.
void degrade_noise(float* x, int64_t N, int64_t H, int64_t W, DegradeNoiseKind kind,
                   const DegradeNoiseSample* samples, uint64_t seed, uint64_t gray_stream, bool round_to_u8);

}  // namespace sr::cuda
