// Random initialisation driven by Philox (engine/philox.h). A Generator is a seed plus a
// stream counter: each fill takes the next stream, and element i of a fill depends only
// on (seed, stream, i), so CPU and CUDA produce the same tensor.
#pragma once
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace sr {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t next_stream() { return stream_++; }
  uint64_t stream() const { return stream_; }
  void set_state(uint64_t seed, uint64_t stream) {
    seed_ = seed;
    stream_ = stream;
  }

 private:
  uint64_t seed_ = 0;
  uint64_t stream_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

void uniform_(Tensor& t, double lo, double hi, Generator& gen = default_generator());
void normal_(Tensor& t, double mean, double std, Generator& gen = default_generator());

// PyTorch's fan conventions: fan_in = size(1) * receptive field, fan_out = size(0) * rf.
enum class FanMode { fan_in, fan_out };
int64_t compute_fan(const Tensor& weight, FanMode mode);
// gain for leaky_relu with negative slope a: sqrt(2 / (1 + a^2)); a = 0 is ReLU's sqrt(2).
// kaiming_normal_: std = gain / sqrt(fan); kaiming_uniform_: bound = gain * sqrt(3 / fan).
void kaiming_normal_(Tensor& w, double a = 0.0, FanMode mode = FanMode::fan_in,
                     Generator& gen = default_generator());
void kaiming_uniform_(Tensor& w, double a = 0.0, FanMode mode = FanMode::fan_in,
                      Generator& gen = default_generator());

}  // namespace sr
