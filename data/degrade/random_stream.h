// Random draws of the degradation model, all from the engine's Philox generator
// (engine/philox.h). A Stream is (seed, stream number, counter): draw n of a stream is
// philox::draw(seed, stream, n), so a sample's parameters depend only on the seed and on
// the identifiers mixed into its stream number (epoch, position in the epoch, batch),
// never on which thread or worker made it. Noise fields use the counter-based form
// directly: element i of a field is draw i of the field's own stream.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sr::data::degrade {

// Domains of stream numbers, so streams made for different purposes never coincide.
enum class StreamTag : uint64_t {
  sample = 1,        // a dataset sample: flip, crop, its three kernels (epoch, position)
  batch = 2,         // per-batch decisions of the pipeline (batch key)
  batch_sample = 3,  // per-sample draws inside a batch (batch key, sample)
  noise_field = 4,   // one noise field (batch key, field number)
  train_batch = 5,   // a training batch's key (epoch, batch index and rank)
  batch_crop = 6,    // a training batch's patch position (batch key)
  pair_pool = 7,     // the training-pair pool's shuffles (stage, rank, iteration)
};

// A 64-bit stream number from a domain and two identifiers (a Philox hash of them).
uint64_t stream_id(StreamTag tag, uint64_t a, uint64_t b = 0);

// Uniform double in [0, 1) with 53 random bits from the first two words of a draw.
double unit_at(uint64_t seed, uint64_t stream, uint64_t index);

class Stream {
 public:
  Stream(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  double uniform01() { return unit_at(seed_, stream_, counter_++); }
  // U[lo, hi); U(a, a) is exactly a (Real-ESRGAN's betap_range [1, 2] relies on it).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
  // Integer in [lo, hi], both ends included (Python's random.randint).
  int randint(int lo, int hi);
  // Index i with probability w[i] / sum(w) (random.choices with weights).
  size_t weighted_choice(const std::vector<double>& w);
  bool bernoulli(double p) { return uniform01() < p; }
  uint64_t draws() const { return counter_; }

 private:
  uint64_t seed_, stream_, counter_ = 0;
};

}  // namespace sr::data::degrade
