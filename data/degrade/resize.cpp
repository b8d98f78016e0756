// PyTorch-semantics resizing (see resize.h).
#include "data/degrade/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"
#include "kernels/common/degrade_math.h"

namespace sr::data::degrade {

namespace {

// Output d of one axis reads in[idx[d * taps + m]] with weight w[d * taps + m].
struct AxisWeights {
  int taps = 0;
  std::vector<int> idx;
  std::vector<double> w;
};

AxisWeights axis_weights(int in, int out, double r, ResizeMode mode) {
  AxisWeights a;
  if (mode == ResizeMode::area) {
    // Bins have at most ceil(in/out) + 1 pixels; unused taps get weight 0.
    a.taps = (in + out - 1) / out + 1;
    a.idx.assign((size_t)out * a.taps, 0);
    a.w.assign((size_t)out * a.taps, 0.0);
    for (int d = 0; d < out; ++d) {
      const int64_t start = (int64_t)d * in / out, end = ((int64_t)(d + 1) * in + out - 1) / out;
      for (int64_t i = start; i < end; ++i) {
        a.idx[(size_t)d * a.taps + (i - start)] = (int)i;
        a.w[(size_t)d * a.taps + (i - start)] = 1.0 / (double)(end - start);
      }
    }
    return a;
  }
  const bool cubic = mode == ResizeMode::bicubic;
  a.taps = cubic ? 4 : 2;
  a.idx.resize((size_t)out * a.taps);
  a.w.resize((size_t)out * a.taps);
  for (int d = 0; d < out; ++d) {
    double s = r * (d + 0.5) - 0.5;
    int* idx = a.idx.data() + (size_t)d * a.taps;
    double* w = a.w.data() + (size_t)d * a.taps;
    if (!cubic) {
      s = std::max(0.0, s);
      const int i0 = std::min((int)s, in - 1);
      const double l = s - i0;
      idx[0] = i0;
      idx[1] = std::min(i0 + 1, in - 1);
      w[0] = 1.0 - l;
      w[1] = l;
    } else {
      const int i = (int)std::floor(s);
      const double t = s - i;
      for (int m = -1; m <= 2; ++m) {
        idx[m + 1] = std::clamp(i + m, 0, in - 1);
        w[m + 1] = cubic_weight_a075(t - m);
      }
    }
  }
  return a;
}

Planes resize_with(const Planes& x, int oh, int ow, double ry, double rx, ResizeMode mode) {
  SR_CHECK(oh >= 1 && ow >= 1, "resize: a ", x.width, "x", x.height, " image would become ", ow, "x", oh);
  const AxisWeights ax = axis_weights(x.width, ow, rx, mode), ay = axis_weights(x.height, oh, ry, mode);
  Planes out(x.channels, oh, ow);
  std::vector<double> rows((size_t)x.height * ow);
  for (int c = 0; c < x.channels; ++c) {
    const float* src = x.plane(c);
    for (int y = 0; y < x.height; ++y)
      for (int d = 0; d < ow; ++d) {
        double acc = 0;
        for (int m = 0; m < ax.taps; ++m)
          acc += ax.w[(size_t)d * ax.taps + m] * src[(size_t)y * x.width + ax.idx[(size_t)d * ax.taps + m]];
        rows[(size_t)y * ow + d] = acc;
      }
    float* dst = out.plane(c);
    for (int d = 0; d < oh; ++d)
      for (int xx = 0; xx < ow; ++xx) {
        double acc = 0;
        for (int m = 0; m < ay.taps; ++m)
          acc += ay.w[(size_t)d * ay.taps + m] * rows[(size_t)ay.idx[(size_t)d * ay.taps + m] * ow + xx];
        dst[(size_t)d * ow + xx] = (float)acc;
      }
  }
  return out;
}

}  // namespace

const char* resize_mode_name(ResizeMode m) {
  return m == ResizeMode::area ? "area" : m == ResizeMode::bilinear ? "bilinear" : "bicubic";
}

double cubic_weight_a075(double z) { return degrade_math::cubic_weight_a075(z); }

Planes resize_by_factor(const Planes& x, double f, ResizeMode mode) {
  SR_CHECK(std::isfinite(f) && f > 0, "resize: scale factor must be positive, got ", f);
  const int oh = (int)std::floor(x.height * f), ow = (int)std::floor(x.width * f);
  return resize_with(x, oh, ow, 1.0 / f, 1.0 / f, mode);
}

Planes resize_to(const Planes& x, int oh, int ow, ResizeMode mode) {
  SR_CHECK(oh >= 1 && ow >= 1, "resize: output size must be positive, got ", ow, "x", oh);
  return resize_with(x, oh, ow, (double)x.height / oh, (double)x.width / ow, mode);
}

}  // namespace sr::data::degrade
