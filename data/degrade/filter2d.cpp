// Reflect-padded 2-D correlation (see filter2d.h).
#include "data/degrade/filter2d.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine/error.h"

namespace sr::data::degrade {

Planes filter2d(const Planes& x, const float* kernel, int k) {
  SR_CHECK(k >= 1 && k % 2 == 1, "filter2d: kernel size must be odd, got ", k);
  const int pad = k / 2, h = x.height, w = x.width;
  // The kernel's non-zero taps, with their offsets. Only these read the padding, so the
  // size check uses their reach: a 7 x 7 kernel padded to 21 gives what the original's
  // pad-10 filter gives, and also works on images of side 4..10 where that one fails.
  struct Tap {
    int dy, dx;
    double w;
  };
  std::vector<Tap> taps;
  int reach = 0;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j)
      if (kernel[i * k + j] != 0.0f) {
        taps.push_back({i - pad, j - pad, (double)kernel[i * k + j]});
        reach = std::max({reach, std::abs(i - pad), std::abs(j - pad)});
      }
  SR_CHECK(reach < h && reach < w, "filter2d: a ", w, "x", h, " image is too small for reflect padding ", reach,
           " (a kernel reaching ", reach, " pixels from its centre needs sides > ", reach, ")");
  std::vector<int> col(w + 2 * pad);
  for (int j = 0; j < w + 2 * pad; ++j) col[j] = reflect101(j - pad, w);
  Planes out(x.channels, h, w);
  for (int c = 0; c < x.channels; ++c) {
    const float* src = x.plane(c);
    float* dst = out.plane(c);
    for (int y = 0; y < h; ++y) {
      std::vector<double> acc(w, 0.0);
      for (const Tap& t : taps) {
        const float* row = src + (size_t)reflect101(y + t.dy, h) * w;
        const int* cx = col.data() + pad + t.dx;
        for (int xx = 0; xx < w; ++xx) acc[xx] += t.w * row[cx[xx]];
      }
      for (int xx = 0; xx < w; ++xx) dst[(size_t)y * w + xx] = (float)acc[xx];
    }
  }
  return out;
}

}  // namespace sr::data::degrade
