// Philox fills and PyTorch-convention initialisers.
#include "engine/random.h"

#include <cmath>

#include "engine/philox.h"

namespace sr {

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }

namespace {
// Fills a contiguous tensor from value(i). CUDA tensors are filled on the host and
// copied: the values are identical by construction (the device kernel is an
// optimisation for large tensors, not a different stream).
template <typename F>
void fill_from(Tensor& t, const char* op, F&& value) {
  SR_CHECK(t.defined(), op, ": undefined tensor");
  SR_CHECK(t.is_contiguous(), op, ": tensor ", t.str(), " must be contiguous");
  Tensor host = !t.device().is_cpu() ? Tensor::empty(t.shape(), t.dtype(), Device::cpu()) : t;
  const int64_t n = t.numel();
  if (host.dtype() == DType::f32) {
    float* p = host.data<float>();
#pragma omp parallel for if (n >= (1 << 16))
    for (int64_t i = 0; i < n; ++i) p[i] = (float)value(i);
  } else {
    double* p = host.data<double>();
#pragma omp parallel for if (n >= (1 << 16))
    for (int64_t i = 0; i < n; ++i) p[i] = value(i);
  }
  if (!t.device().is_cpu()) t.copy_(host);
}
}  // namespace

void uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  SR_CHECK(lo <= hi, "uniform_: lo ", lo, " > hi ", hi);
  const uint64_t seed = gen.seed(), stream = gen.next_stream();
  fill_from(t, "uniform_", [&](int64_t i) { return philox::uniform_at(seed, stream, i, lo, hi); });
}

void normal_(Tensor& t, double mean, double std, Generator& gen) {
  SR_CHECK(std >= 0, "normal_: std must be >= 0, got ", std);
  const uint64_t seed = gen.seed(), stream = gen.next_stream();
  fill_from(t, "normal_", [&](int64_t i) { return philox::normal_at(seed, stream, i, mean, std); });
}

int64_t compute_fan(const Tensor& w, FanMode mode) {
  SR_CHECK(w.dim() >= 2, "kaiming init: weight must be at least 2-D, got ", w.shape().str());
  int64_t receptive = 1;
  for (int d = 2; d < w.dim(); ++d) receptive *= w.size(d);
  return (mode == FanMode::fan_in ? w.size(1) : w.size(0)) * receptive;
}

void kaiming_normal_(Tensor& w, double a, FanMode mode, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  normal_(w, 0.0, gain / std::sqrt((double)compute_fan(w, mode)), gen);
}

void kaiming_uniform_(Tensor& w, double a, FanMode mode, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / (double)compute_fan(w, mode));
  uniform_(w, -bound, bound, gen);
}

}  // namespace sr
