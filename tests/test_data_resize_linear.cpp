// data/resize_linear: cv2.INTER_LINEAR's float arithmetic (Real-ESRGAN's alpha resize), on a
// hand-worked 2x2 -> 4x4 case and against a float64 formulation of the same definition.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "data/resize_linear.h"

using namespace sr;

namespace {

// The whole resize through resize_linear_row.
std::vector<float> resize_linear_plane(const std::vector<float>& in, int w, int h, int ow, int oh) {
  const data::LinearAxis ax = data::linear_axis(w, ow), ay = data::linear_axis(h, oh);
  std::vector<float> out((size_t)ow * oh);
  for (int y = 0; y < oh; ++y) data::resize_linear_row(in.data(), w, h, ax, ay, y, out.data() + (size_t)y * ow);
  return out;
}

// The definition in float64: coordinate (d + 0.5) in / out - 0.5, clamped to the edge pixels.
double linear_reference_at(const std::vector<float>& in, int w, int h, int ow, int oh, int x, int y) {
  const auto tap = [](int d, int n_in, int n_out, int& s, double& f) {
    const double c = (d + 0.5) * n_in / n_out - 0.5;
    s = (int)std::floor(c);
    f = c - s;
    if (s < 0) s = 0, f = 0;
    if (s >= n_in - 1) s = n_in - 1, f = 0;
  };
  int sx = 0, sy = 0;
  double fx = 0, fy = 0;
  tap(x, w, ow, sx, fx);
  tap(y, h, oh, sy, fy);
  const auto at = [&](int yy, int xx) { return (double)in[(size_t)std::min(yy, h - 1) * w + std::min(xx, w - 1)]; };
  const auto row = [&](int yy) { return at(yy, sx) * (1 - fx) + at(yy, sx + 1) * fx; };
  return row(sy) * (1 - fy) + row(sy + 1) * fy;
}

}  // namespace

TEST_CASE("data/resize_linear_is_cv2_inter_linear") {
  // cv2.resize(np.float32([[0, 1], [2, 3]]), (4, 4), interpolation=cv2.INTER_LINEAR), worked by
  // hand: source coordinates -0.25 (pinned to 0), 0.25, 0.75, 1.25 (pinned to 1) per axis.
  const std::vector<float> want = {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f,
                                   1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
  CHECK(resize_linear_plane({0, 1, 2, 3}, 2, 2, 4, 4) == want);
  // Up, down, odd ratios and one-pixel sides against the float64 definition (float32 sums:
  // within a few ulp of values in [0, 1]).
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int sizes[][4] = {{7, 5, 28, 20}, {13, 11, 26, 33}, {9, 6, 5, 4}, {1, 1, 4, 4}, {1, 5, 3, 15}, {6, 1, 24, 2}};
  for (const auto& s : sizes) {
    std::vector<float> in((size_t)s[0] * s[1]);
    for (float& v : in) v = u(rng);
    const std::vector<float> out = resize_linear_plane(in, s[0], s[1], s[2], s[3]);
    double worst = 0;
    for (int y = 0; y < s[3]; ++y)
      for (int x = 0; x < s[2]; ++x)
        worst = std::max(worst, std::abs(out[(size_t)y * s[2] + x] -
                                         linear_reference_at(in, s[0], s[1], s[2], s[3], x, y)));
    INFO(s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3]);
    CHECK(worst < 1e-6);
  }
}
