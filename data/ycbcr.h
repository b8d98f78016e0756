// BT.601 luma as BasicSR computes it (its bgr2ycbcr / rgb2ycbcr with y_only=True, MATLAB's
// rgb2ycbcr convention, "studio swing"), and the dataset option built on it: BasicSR's
// `color: y`, which trains and validates on the Y channel of every image.
#pragma once
#include <string>

#include "data/image.h"

namespace sr::data {

// Y of one pixel, R, G, B in [0, 1]:
//   Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255,  in [16/255, 235/255].
// The coefficients sum to 219, so a gray pixel v gives (16 + 219 v) / 255. As in BasicSR
// (np.dot of a float32 image with a list of Python floats), the sum is taken in float64, in
// BasicSR's BGR order, and the result rounded to float32 once. Inline, so that each caller
// (the metrics' to_y_channel, the datasets) compiles exactly this expression.
inline float bt601_y(float r, float g, float b) {
  const double y = (double)b * 24.966 + (double)g * 128.553 + (double)r * 65.481 + 16.0;
  return (float)(y / 255.0);
}

// A one-channel image of bt601_y per pixel, at the source's bit depth. A gray image counts
// as R = G = B (what BasicSR reads: cv2.imread with IMREAD_COLOR gives a gray file three
// equal channels), so it becomes (16 + 219 v) / 255 like any colour image; alpha is dropped.
Image y_channel_image(const Image& img);

// datasets.<name>.color: rgb (the images as they are, three channels) or y (BasicSR's
// `color: y`: each image replaced by y_channel_image after cropping and flipping, one channel).
enum class DataColor { rgb, y };
// "rgb" or "y"; anything else is an error naming `key` and the value.
DataColor parse_data_color(const std::string& s, const std::string& key = "color");
const char* data_color_name(DataColor c);
// The channels a network sees from such a dataset: 3 (rgb) or 1 (y).
inline int data_color_channels(DataColor c) { return c == DataColor::y ? 1 : 3; }

}  // namespace sr::data
