// USM sharpening (see usm_sharp.h).
#include "data/degrade/usm_sharp.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/degrade/filter2d.h"
#include "engine/error.h"

namespace sr::data::degrade {

namespace {

// Separable Gaussian blur of one plane with reflect-101 padding, in double.
std::vector<double> blur_plane(const double* src, int h, int w, const std::vector<double>& g) {
  const int k = (int)g.size(), pad = k / 2;
  std::vector<double> rows((size_t)h * w), out((size_t)h * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double s = 0;
      for (int t = 0; t < k; ++t) s += g[t] * src[(size_t)y * w + reflect101(x + t - pad, w)];
      rows[(size_t)y * w + x] = s;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double s = 0;
      for (int t = 0; t < k; ++t) s += g[t] * rows[(size_t)reflect101(y + t - pad, h) * w + x];
      out[(size_t)y * w + x] = s;
    }
  return out;
}

}  // namespace

Planes usm_sharp(const Planes& img, int radius, double weight, double threshold) {
  if (radius % 2 == 0) radius += 1;
  const int pad = radius / 2;
  SR_CHECK(pad < img.height && pad < img.width, "usm_sharp: a ", img.width, "x", img.height,
           " image is too small for radius ", radius, " (sides must exceed ", pad, ")");
  const double sigma = 0.3 * ((radius - 1) * 0.5 - 1) + 0.8;
  std::vector<double> g(radius);
  double sum = 0;
  for (int t = 0; t < radius; ++t) sum += g[t] = std::exp(-(t - pad) * (t - pad) / (2 * sigma * sigma));
  for (double& v : g) v /= sum;
  const int h = img.height, w = img.width;
  Planes out(img.channels, h, w);
  std::vector<double> in((size_t)h * w), mask((size_t)h * w);
  for (int c = 0; c < img.channels; ++c) {
    const float* p = img.plane(c);
    for (size_t i = 0; i < in.size(); ++i) in[i] = p[i];
    const std::vector<double> blurred = blur_plane(in.data(), h, w, g);
    for (size_t i = 0; i < in.size(); ++i) mask[i] = std::fabs(in[i] - blurred[i]) * 255 > threshold ? 1.0 : 0.0;
    const std::vector<double> soft = blur_plane(mask.data(), h, w, g);
    float* o = out.plane(c);
    for (size_t i = 0; i < in.size(); ++i) {
      const double sharp = std::clamp(in[i] + weight * (in[i] - blurred[i]), 0.0, 1.0);
      o[i] = (float)(soft[i] * sharp + (1 - soft[i]) * in[i]);
    }
  }
  return out;
}

}  // namespace sr::data::degrade
