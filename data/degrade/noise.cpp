// Gaussian and Poisson noise (see noise.h).
#include "data/degrade/noise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/degrade/random_stream.h"
#include "engine/error.h"
#include "engine/philox.h"
#include "kernels/common/degrade_math.h"

namespace sr::data::degrade {

namespace {

// Poisson(lambda) by inversion of the CDF with one 53-bit uniform. The quantised image has
// at most 256 distinct values, so the CDF tables are built once per distinct lambda. The
// tables and the search are degrade_math's (kernels/common/degrade_math.h), which the CUDA
// kernel uses too, so both pick the same k for the same uniform.
class PoissonTables {
 public:
  explicit PoissonTables(int levels) : levels_(levels), cdf_(256) {}
  int draw(int level255, double u) {
    std::vector<double>& cdf = cdf_[level255];
    if (cdf.empty()) {
      cdf.resize(degrade_math::kPoissonCdfCapacity);
      cdf.resize(degrade_math::poisson_cdf(levels_ * (level255 / 255.0), cdf.data()));
    }
    return degrade_math::poisson_search(cdf.data(), (int)cdf.size(), u);
  }

 private:
  int levels_;
  std::vector<std::vector<double>> cdf_;
};

// noise[i] = (P_i / V - q_i) for the quantised values q (level index 0..255).
void poisson_noise(const std::vector<uint8_t>& level, int levels, const FieldKey& f, std::vector<float>& out) {
  PoissonTables tables(levels);
  out.resize(level.size());
  for (size_t i = 0; i < level.size(); ++i) {
    const int p = level[i] == 0 ? 0 : tables.draw(level[i], unit_at(f.seed, f.stream, i));
    out[i] = (float)((double)p / levels - level[i] / 255.0);
  }
}

}  // namespace

double normal_field_at(const FieldKey& f, uint64_t i) { return philox::normal_at(f.seed, f.stream, i, 0.0, 1.0); }

void add_gaussian_noise(Planes& x, double sigma, bool gray, const FieldKey& color, const FieldKey& gray_field) {
  const size_t n = x.plane_size();
  const float s = (float)(sigma / 255.0);
  for (int c = 0; c < x.channels; ++c) {
    float* p = x.plane(c);
    for (size_t i = 0; i < n; ++i) {
      const double z = gray ? normal_field_at(gray_field, i) : normal_field_at(color, c * n + i);
      p[i] = std::clamp(p[i] + s * (float)z, 0.0f, 1.0f);
    }
  }
}

int poisson_levels(const float* v, size_t n) {
  bool seen[256] = {};
  int distinct = 0;
  for (size_t i = 0; i < n; ++i) {
    const int q = degrade_math::poisson_level(v[i]);
    if (!seen[q]) {
      seen[q] = true;
      ++distinct;
    }
  }
  int levels = 1;  // 2^ceil(log2(distinct))
  while (levels < distinct) levels *= 2;
  return levels;
}

void add_poisson_noise(Planes& x, double scale, bool gray, const FieldKey& field) {
  SR_CHECK(x.channels == 3, "poisson noise: expected RGB planes, got ", x.channels, " channels");
  const size_t n = x.plane_size();
  std::vector<float> values, noise;
  if (gray) {
    values.resize(n);
    for (size_t i = 0; i < n; ++i)
      values[i] = degrade_math::poisson_gray(x.plane(0)[i], x.plane(1)[i], x.plane(2)[i]);
  } else {
    values = x.v;
  }
  std::vector<uint8_t> level(values.size());
  for (size_t i = 0; i < values.size(); ++i) level[i] = (uint8_t)degrade_math::poisson_level(values[i]);
  poisson_noise(level, poisson_levels(values.data(), values.size()), field, noise);
  const float s = (float)scale;
  for (int c = 0; c < 3; ++c) {
    float* p = x.plane(c);
    for (size_t i = 0; i < n; ++i) p[i] = std::clamp(p[i] + s * noise[gray ? i : c * n + i], 0.0f, 1.0f);
  }
}

}  // namespace sr::data::degrade
