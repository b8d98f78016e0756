// Planar images for the degradation pipeline.
#include "data/degrade/planes.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "kernels/common/degrade_math.h"

namespace sr::data::degrade {

Planes planes_from_image(const Image& img) {
  SR_CHECK(!img.empty(), "degrade: empty image");
  Planes p(3, img.height, img.width);
  const int cc = img.channels;
  const bool gray = cc <= 2;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c) p.at(c, y, x) = img.at(y, x, gray ? 0 : c);
  return p;
}

Image image_from_planes(const Planes& p) {
  SR_CHECK(p.channels == 3, "degrade: expected 3 planes, got ", p.channels);
  Image img(p.width, p.height, 3, 8);
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x)
      for (int c = 0; c < 3; ++c) img.at(y, x, c) = p.at(c, y, x);
  return img;
}

void clamp01(Planes& p) {
  for (float& v : p.v) v = degrade_math::clamp01_value(v);
}

void quantize_u8(Planes& p) {
  for (float& v : p.v) v = degrade_math::quantize_u8_value(v);
}

}  // namespace sr::data::degrade
