// cv2.INTER_LINEAR resampling of float planes (see resize_linear.h).
#include "data/resize_linear.h"

#include <cmath>

#include "engine/error.h"

namespace sr::data {

LinearAxis linear_axis(int in_size, int out_size) {
  SR_CHECK(in_size > 0 && out_size > 0, "resize_linear: sizes must be positive, got ", in_size, " -> ", out_size);
  LinearAxis a;
  a.in_size = in_size;
  a.first.resize(out_size);
  a.fraction.resize(out_size);
  // cv2's arithmetic: the scale in double, the coordinate rounded to float, then split.
  const double scale = 1.0 / ((double)out_size / in_size);
  for (int d = 0; d < out_size; ++d) {
    float x = (float)((d + 0.5) * scale - 0.5);
    int s = (int)std::floor(x);
    x -= (float)s;
    if (s < 0) s = 0, x = 0.0f;
    if (s >= in_size - 1) s = in_size - 1, x = 0.0f;
    a.first[d] = s;
    a.fraction[d] = x;
  }
  return a;
}

namespace {

// One source row resampled horizontally: out[d] = row[s] (1 - f) + row[s + 1] f, or row[s]
// alone where the axis pinned the coordinate to an edge (f = 0 there).
void resample_row(const float* row, const LinearAxis& ax, float* out) {
  for (size_t d = 0; d < ax.first.size(); ++d) {
    const int s = ax.first[d];
    const float f = ax.fraction[d];
    out[d] = s + 1 < ax.in_size ? row[s] * (1.0f - f) + row[s + 1] * f : row[s] * (1.0f - f);
  }
}

}  // namespace

void resize_linear_row(const float* plane, int in_width, int in_height, const LinearAxis& x_axis,
                       const LinearAxis& y_axis, int out_y, float* out_row) {
  SR_CHECK(x_axis.in_size == in_width && y_axis.in_size == in_height && out_y >= 0 &&
               out_y < (int)y_axis.first.size(),
           "resize_linear_row: row ", out_y, " of a resize whose axes do not fit the ", in_width, "x", in_height,
           " plane");
  const int s = y_axis.first[out_y];
  const float f = y_axis.fraction[out_y];
  const size_t out_w = x_axis.first.size();
  std::vector<float> upper(out_w), lower(out_w);
  resample_row(plane + (size_t)s * in_width, x_axis, upper.data());
  if (s + 1 >= in_height) {
    for (size_t d = 0; d < out_w; ++d) out_row[d] = upper[d] * (1.0f - f);
    return;
  }
  resample_row(plane + (size_t)(s + 1) * in_width, x_axis, lower.data());
  for (size_t d = 0; d < out_w; ++d) out_row[d] = upper[d] * (1.0f - f) + lower[d] * f;
}

}  // namespace sr::data
