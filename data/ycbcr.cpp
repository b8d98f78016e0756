// BT.601 Y images for BasicSR's `color: y` (see ycbcr.h).
#include "data/ycbcr.h"

#include "engine/error.h"

namespace sr::data {

Image y_channel_image(const Image& img) {
  SR_CHECK(!img.empty(), "y_channel_image: empty image");
  Image out(img.width, img.height, 1, img.bit_depth);
  const int c = img.channels;
  const bool gray = c <= 2;  // gray, gray + alpha: R = G = B
  const int64_t n = img.pixel_count();
  for (int64_t i = 0; i < n; ++i) {
    const float* px = img.pixels.data() + i * c;
    out.pixels[i] = gray ? bt601_y(px[0], px[0], px[0]) : bt601_y(px[0], px[1], px[2]);
  }
  return out;
}

DataColor parse_data_color(const std::string& s, const std::string& key) {
  if (s == "rgb") return DataColor::rgb;
  if (s == "y") return DataColor::y;
  fail("dataset: '", key, "' must be 'rgb' (the images as they are) or 'y' (BasicSR's color: y, the BT.601 Y ",
       "channel), got '", s, "'");
}

const char* data_color_name(DataColor c) { return c == DataColor::y ? "y" : "rgb"; }

}  // namespace sr::data
