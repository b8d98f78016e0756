// Multi-tensor Adam/AdamW, EMA and the fp16 gradient unscale on the CPU (see optimizer.h). All tensors are cut into
// chunks of kChunk elements and one OpenMP loop runs over the chunk list, so a model of many
// small tensors (biases) and a few large ones (3x3 weights) still spreads evenly over the
// threads with a single parallel region per step. Each element is updated by exactly one
// thread: the result does not depend on the thread count.
#include "kernels/cpu/optimizer.h"

#include <cmath>
#include <vector>

namespace sr::cpu {

namespace {

constexpr int64_t kChunk = 1 << 14;

struct Chunk {
  int tensor;
  int64_t begin, end;
};

std::vector<Chunk> make_chunks(const int64_t* sizes, int count, const float* const* skip_if_null) {
  std::vector<Chunk> chunks;
  for (int i = 0; i < count; ++i) {
    if (skip_if_null && !skip_if_null[i]) continue;
    for (int64_t b = 0; b < sizes[i]; b += kChunk)
      chunks.push_back({i, b, b + kChunk < sizes[i] ? b + kChunk : sizes[i]});
  }
  return chunks;
}

}  // namespace

void adam_update(const AdamStep& s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count) {
  if (s.skip != 0.f) return;
  const std::vector<Chunk> chunks = make_chunks(sizes, count, grads);
  const int64_t n = (int64_t)chunks.size();
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t c = 0; c < n; ++c) {
    const Chunk& ch = chunks[c];
    float* p = params[ch.tensor];
    const float* g = grads[ch.tensor];
    float* m = exp_avg[ch.tensor];
    float* v = exp_avg_sq[ch.tensor];
#pragma omp simd
    for (int64_t i = ch.begin; i < ch.end; ++i) adam_update_element(s, p[i], g[i], m[i], v[i]);
  }
}

void ema_update(double decay, float* const* ema, const float* const* params, const int64_t* sizes,
                int count, const float* gate) {
  if (gate && !(*gate - *gate == 0.f)) return;  // not finite
  const std::vector<Chunk> chunks = make_chunks(sizes, count, nullptr);
  const float d = (float)decay, omd = (float)(1.0 - decay);
  const int64_t n = (int64_t)chunks.size();
#pragma omp parallel for schedule(static) if (n > 1)
  for (int64_t c = 0; c < n; ++c) {
    const Chunk& ch = chunks[c];
    float* e = ema[ch.tensor];
    const float* p = params[ch.tensor];
#pragma omp simd
    for (int64_t i = ch.begin; i < ch.end; ++i) ema_update_element(d, omd, e[i], p[i]);
  }
}

void loss_unscale(const LossScaleState& s, float* const* grads, const int64_t* sizes, int count, float* found) {
  const std::vector<Chunk> chunks = make_chunks(sizes, count, grads);
  const float inv = (float)s.inv_scale;
  const int64_t n = (int64_t)chunks.size();
  bool bad = false;
#pragma omp parallel for schedule(static) reduction(|| : bad) if (n > 1)
  for (int64_t c = 0; c < n; ++c) {
    const Chunk& ch = chunks[c];
    float* g = grads[ch.tensor];
    bool chunk_bad = false;
#pragma omp simd reduction(|| : chunk_bad)
    for (int64_t i = ch.begin; i < ch.end; ++i) {
      g[i] *= inv;
      chunk_bad = chunk_bad || !(g[i] - g[i] == 0.f);
    }
    bad = bad || chunk_bad;
  }
  if (bad) *found = NAN;
}

}  // namespace sr::cpu
