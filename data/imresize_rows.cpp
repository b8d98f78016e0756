// Row-at-a-time MATLAB bicubic (see imresize_rows.h).
#include "data/imresize_rows.h"

#include <algorithm>

#include "engine/error.h"

namespace sr::data {

ImresizeRows::ImresizeRows(const float* src, int h, int w, int channels, double scale)
    : src_(src), h_(h), w_(w), channels_(channels) {
  SR_CHECK(src && h > 0 && w > 0 && channels > 0, "ImresizeRows: bad image ", w, "x", h, "x", channels);
  wh_ = resize_weights(h, resized_length(h, scale), scale, true);
  ww_ = resize_weights(w, resized_length(w, scale), scale, true);
  cols_.resize((size_t)ww_.out_length * ww_.taps);
  for (int j = 0; j < ww_.out_length; ++j)
    for (int k = 0; k < ww_.taps; ++k) cols_[(size_t)j * ww_.taps + k] = mirror_index(ww_.first[j] + k, w);
  tmp_.resize((size_t)w * channels);
}

void ImresizeRows::row(int i, float* out) {
  SR_CHECK(i >= 0 && i < wh_.out_length, "ImresizeRows: row ", i, " outside 0..", wh_.out_length - 1);
  const size_t row = (size_t)w_ * channels_;
  // Row pass: tmp = sum_k wh[i][k] * src[mirror(first + k)], in double, taps in order.
  std::fill(tmp_.begin(), tmp_.end(), 0.0);
  for (int k = 0; k < wh_.taps; ++k) {
    const double wk = wh_.weights[(size_t)i * wh_.taps + k];
    if (wk == 0.0) continue;
    const float* in = src_ + (size_t)mirror_index(wh_.first[i] + k, h_) * row;
    for (size_t x = 0; x < row; ++x) tmp_[x] += wk * (double)in[x];
  }
  // Column pass: out[j] = sum_k ww[j][k] * tmp[mirror(first + k)].
  for (int j = 0; j < ww_.out_length; ++j)
    for (int c = 0; c < channels_; ++c) {
      double acc = 0.0;
      for (int k = 0; k < ww_.taps; ++k)
        acc += ww_.weights[(size_t)j * ww_.taps + k] * tmp_[(size_t)cols_[(size_t)j * ww_.taps + k] * channels_ + c];
      out[(size_t)j * channels_ + c] = (float)acc;
    }
}

}  // namespace sr::data
