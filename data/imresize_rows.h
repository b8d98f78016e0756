// MATLAB bicubic upscaling of a whole image held at input size, produced one output row at a
// time: rows of an image too large to hold upscaled in float (the chroma planes of a photo
// upscaled by a Y network, infer/upscale_file.h) are made as the encoder needs them.
#pragma once
#include <vector>

#include "data/imresize.h"

namespace sr::data {

class ImresizeRows {
 public:
  // `src`: `channels` interleaved planes of h x w, kept by pointer (it must outlive this);
  // output ceil(h * scale) x ceil(w * scale), as imresize_interleaved with antialiasing.
  ImresizeRows(const float* src, int h, int w, int channels, double scale);
  int out_height() const { return wh_.out_length; }
  int out_width() const { return ww_.out_length; }
  // Output row i (0-based), out_width() x channels interleaved floats. The same sums in the
  // same order as imresize_interleaved (its row pass for row i, then its column pass), so
  // every value equals the whole-image resize bit for bit.
  void row(int i, float* out);

 private:
  const float* src_;
  int h_, w_, channels_;
  ResizeWeights wh_, ww_;
  std::vector<int> cols_;     // mirrored input column of each output column's taps
  std::vector<double> tmp_;   // the row pass's result for one output row (w x channels)
};

}  // namespace sr::data
