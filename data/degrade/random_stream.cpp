// Philox streams of the degradation model.
#include "data/degrade/random_stream.h"

#include <cmath>

#include "engine/error.h"
#include "engine/philox.h"
#include "kernels/common/degrade_math.h"

namespace sr::data::degrade {

uint64_t stream_id(StreamTag tag, uint64_t a, uint64_t b) {
  // Ten Philox rounds keyed by the tag scramble (a, b) into a well-spread 64-bit number;
  // the key constant keeps these apart from the engine's weight-initialisation streams.
  const philox::U32x4 r = philox::draw(0x5245414c45534741ull ^ (uint64_t)tag, a, b);
  return (uint64_t)r.v[0] | ((uint64_t)r.v[1] << 32);
}

double unit_at(uint64_t seed, uint64_t stream, uint64_t index) { return degrade_math::unit53_at(seed, stream, index); }

int Stream::randint(int lo, int hi) {
  SR_CHECK(lo <= hi, "randint: empty range [", lo, ", ", hi, "]");
  const double span = (double)hi - (double)lo + 1.0;
  const int v = lo + (int)std::floor(uniform01() * span);
  return v > hi ? hi : v;
}

size_t Stream::weighted_choice(const std::vector<double>& w) {
  SR_CHECK(!w.empty(), "weighted_choice: no weights");
  double total = 0;
  for (double x : w) total += x;
  const double u = uniform01() * total;
  double acc = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    acc += w[i];
    if (u < acc) return i;
  }
  // u == total only through rounding: the last index with a positive weight.
  for (size_t i = w.size(); i-- > 0;)
    if (w[i] > 0) return i;
  return w.size() - 1;
}

}  // namespace sr::data::degrade
