// Multi-tensor optimizer kernels on CUDA (see optimizer.h).
//
// The host cuts every tensor into chunks of kChunk elements and writes one small record per
// chunk (its pointers and length) into a table; one H2D copy moves the table to the pool,
// and one launch runs a block per chunk (grid-stride within the chunk). So the whole model
// is updated by a single kernel, whether it has 10 or 1,000 parameter tensors, without
// kernel-argument size limits. Each element is touched by one thread: deterministic.
// The step's scalars are read from device memory (adam_step_gated writes them there, from the
// device's step count, learning rate and gate), so no per-iteration value is a kernel argument.
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/optimizer.h"
#include "engine/cuda_retained_copy.h"

namespace sr::cuda {

namespace {

constexpr int64_t kChunk = 1 << 16;
constexpr int kOptThreads = 256;

struct AdamChunk {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
};

struct EmaChunk {
  float* e;
  const float* p;
  int64_t n;
};

__global__ void adam_step_gated_kernel(AdamConfig c, const double* lr, const float* gate, double* step,
                                       AdamStep* out) {
  *out = adam_step_gated(c, *lr, *gate, *step);
}

__global__ void __launch_bounds__(kOptThreads)
    adam_kernel(const AdamChunk* __restrict__ chunks, const AdamStep* __restrict__ sp) {
  const AdamStep s = *sp;
  if (s.skip != 0.f) return;
  const AdamChunk c = chunks[blockIdx.x];
  for (int64_t i = threadIdx.x; i < c.n; i += kOptThreads) {
    float p = c.p[i], m = c.m[i], v = c.v[i];
    adam_update_element(s, p, c.g[i], m, v);
    c.p[i] = p;
    c.m[i] = m;
    c.v[i] = v;
  }
}

__global__ void __launch_bounds__(kOptThreads)
    ema_kernel(const EmaChunk* __restrict__ chunks, float decay, float one_minus_decay, const float* gate) {
  if (gate && !(*gate - *gate == 0.f)) return;  // not finite
  const EmaChunk c = chunks[blockIdx.x];
  for (int64_t i = threadIdx.x; i < c.n; i += kOptThreads) {
    float e = c.e[i];
    ema_update_element(decay, one_minus_decay, e, c.p[i]);
    c.e[i] = e;
  }
}

struct UnscaleChunk {
  float* g;
  int64_t n;
};

__global__ void loss_scale_update_kernel(LossScaleRule r, const float* found, LossScaleState* s,
                                         float* scale_f32) {
  loss_scale_update(r, *found, *s);
  *scale_f32 = (float)s->scale;
}

// Every thread that meets a non-finite product writes the same NaN to *found: which one
// lands does not matter, and a finite run writes nothing.
__global__ void __launch_bounds__(kOptThreads)
    loss_unscale_kernel(const UnscaleChunk* __restrict__ chunks, const LossScaleState* s, float* found) {
  const float inv = (float)s->inv_scale;
  const UnscaleChunk c = chunks[blockIdx.x];
  bool bad = false;
  for (int64_t i = threadIdx.x; i < c.n; i += kOptThreads) {
    const float g = c.g[i] * inv;
    c.g[i] = g;
    bad = bad || !(g - g == 0.f);
  }
  if (bad) *found = __int_as_float(0x7fc00000);
}

// Copies the chunk table to the device and launches `kernel` over it. The copy owns its host
// bytes (engine/cuda_retained_copy.h): a captured step's replays read the table again.
template <typename ChunkT, typename Launch>
void run_table(const std::vector<ChunkT>& table, const char* op, Launch&& launch) {
  if (table.empty()) return;
  SR_CHECK(table.size() < (size_t{1} << 31), op, ": too many chunks");
  DeviceScratch dev(table.size() * sizeof(ChunkT));
  const char* first = reinterpret_cast<const char*>(table.data());
  memcpy_to_device_retained(dev.as<void>(), std::vector<char>(first, first + table.size() * sizeof(ChunkT)));
  launch(dev.as<ChunkT>(), (unsigned)table.size());
  CUDA_CHECK_LAUNCH(op);
}

}  // namespace

void adam_step_gated(const AdamConfig& c, const double* lr, const float* gate, double* step,
                     AdamStep* out) {
  launch_kernel(adam_step_gated_kernel, 1, 1, 0, current_stream(), c, lr, gate, step, out);
  CUDA_CHECK_LAUNCH("adam_step_gated");
}

void adam_update(const AdamStep& s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count) {
  DeviceScratch dev(sizeof(AdamStep));
  const char* first = reinterpret_cast<const char*>(&s);
  memcpy_to_device_retained(dev.as<void>(), std::vector<char>(first, first + sizeof s));
  adam_update(dev.as<AdamStep>(), params, grads, exp_avg, exp_avg_sq, sizes, count);
}

void adam_update(const AdamStep* s, float* const* params, const float* const* grads,
                 float* const* exp_avg, float* const* exp_avg_sq, const int64_t* sizes, int count) {
  std::vector<AdamChunk> table;
  for (int i = 0; i < count; ++i) {
    if (!grads[i]) continue;
    for (int64_t b = 0; b < sizes[i]; b += kChunk)
      table.push_back({params[i] + b, grads[i] + b, exp_avg[i] + b, exp_avg_sq[i] + b,
                       b + kChunk < sizes[i] ? kChunk : sizes[i] - b});
  }
  run_table(table, "adam_update", [&](const AdamChunk* t, unsigned blocks) {
    launch_kernel(adam_kernel, blocks, kOptThreads, 0, current_stream(), t, s);
  });
}

void ema_update(double decay, float* const* ema, const float* const* params, const int64_t* sizes,
                int count, const float* gate) {
  std::vector<EmaChunk> table;
  for (int i = 0; i < count; ++i)
    for (int64_t b = 0; b < sizes[i]; b += kChunk)
      table.push_back({ema[i] + b, params[i] + b, b + kChunk < sizes[i] ? kChunk : sizes[i] - b});
  run_table(table, "ema_update", [&](const EmaChunk* t, unsigned blocks) {
    launch_kernel(ema_kernel, blocks, kOptThreads, 0, current_stream(), t, (float)decay, (float)(1.0 - decay), gate);
  });
}

void loss_scale_update(const LossScaleRule& r, const float* found, LossScaleState* s, float* scale_f32) {
  launch_kernel(loss_scale_update_kernel, 1, 1, 0, current_stream(), r, found, s, scale_f32);
  CUDA_CHECK_LAUNCH("loss_scale_update");
}

void loss_unscale(const LossScaleState* s, float* const* grads, const int64_t* sizes, int count, float* found) {
  std::vector<UnscaleChunk> table;
  for (int i = 0; i < count; ++i) {
    if (!grads[i]) continue;
    for (int64_t b = 0; b < sizes[i]; b += kChunk) table.push_back({grads[i] + b, b + kChunk < sizes[i] ? kChunk : sizes[i] - b});
  }
  run_table(table, "loss_unscale", [&](const UnscaleChunk* t, unsigned blocks) {
    launch_kernel(loss_unscale_kernel, blocks, kOptThreads, 0, current_stream(), t, s, found);
  });
}

}  // namespace sr::cuda
