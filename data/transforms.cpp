// Crops, modcrop and the dihedral augmentation of training samples.
#include "data/transforms.h"

#include "engine/error.h"
#include "engine/philox.h"

namespace sr::data {

Image crop(const Image& img, int top, int left, int height, int width, const std::string& what) {
  SR_CHECK(top >= 0 && left >= 0 && height > 0 && width > 0 && top + height <= img.height &&
               left + width <= img.width,
           what, ": cannot take ", width, "x", height, " at (x=", left, ", y=", top, ") from a ", img.size_str(),
           " image");
  Image out(width, height, img.channels, img.bit_depth);
  const size_t row = (size_t)width * img.channels;
  for (int y = 0; y < height; ++y) {
    const float* src = img.pixels.data() + ((size_t)(top + y) * img.width + left) * img.channels;
    std::copy(src, src + row, out.pixels.data() + (size_t)y * row);
  }
  return out;
}

Image modcrop(const Image& img, int scale) {
  SR_CHECK(scale >= 1, "modcrop: scale must be >= 1, got ", scale);
  const int h = img.height - img.height % scale, w = img.width - img.width % scale;
  SR_CHECK(h > 0 && w > 0, "modcrop: a ", img.size_str(), " image is smaller than the scale ", scale);
  if (h == img.height && w == img.width) return img;
  return crop(img, 0, 0, h, w, "modcrop");
}

SampleDraw draw_sample(uint64_t seed, int64_t epoch, int64_t position, bool use_hflip, bool use_rot) {
  // Stream = epoch, counter = position in the epoch's global order; bits of the fourth
  // word decide the flips (each p = 1/2), so no two decisions share a bit.
  const philox::U32x4 r = philox::draw(seed, (uint64_t)epoch, (uint64_t)position);
  SampleDraw d;
  d.top_bits = r.v[0];
  d.left_bits = r.v[1];
  d.aug.hflip = use_hflip && (r.v[3] & 1u);
  d.aug.vflip = use_rot && (r.v[3] & 2u);
  d.aug.rot90 = use_rot && (r.v[3] & 4u);
  return d;
}

void crop_augment_planar(const Image& img, int top, int left, int size, const Augment& aug, float* dst,
                         int planes) {
  SR_CHECK(top >= 0 && left >= 0 && top + size <= img.height && left + size <= img.width,
           "crop_augment: ", size, "x", size, " patch at (x=", left, ", y=", top, ") does not fit a ",
           img.size_str(), " image");
  SR_CHECK(planes == 3 || (planes == 1 && img.channels == 1), "crop_augment: ", planes, " output plane(s) from a ",
           img.channels, "-channel image (one plane needs a one-channel image)");
  const int c = img.channels;
  const size_t plane = (size_t)size * size;
  const bool gray = c <= 2;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      int a = aug.rot90 ? x : y, b = aug.rot90 ? y : x;
      if (aug.vflip) a = size - 1 - a;
      if (aug.hflip) b = size - 1 - b;
      const float* px = img.pixels.data() + ((size_t)(top + a) * img.width + (left + b)) * c;
      const size_t o = (size_t)y * size + x;
      dst[o] = px[0];
      if (planes == 1) continue;
      dst[plane + o] = gray ? px[0] : px[1];
      dst[2 * plane + o] = gray ? px[0] : px[2];
    }
  }
}

Image augment_image(const Image& img, const Augment& aug) {
  const int oh = aug.rot90 ? img.width : img.height, ow = aug.rot90 ? img.height : img.width;
  Image out(ow, oh, img.channels, img.bit_depth);
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      int a = aug.rot90 ? x : y, b = aug.rot90 ? y : x;  // (row, col) in the flipped image
      if (aug.vflip) a = img.height - 1 - a;
      if (aug.hflip) b = img.width - 1 - b;
      for (int k = 0; k < img.channels; ++k) out.at(y, x, k) = img.at(a, b, k);
    }
  return out;
}

}  // namespace sr::data
