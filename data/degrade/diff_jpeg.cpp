// DiffJPEG on the CPU (see diff_jpeg.h).
#include "data/degrade/diff_jpeg.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "engine/error.h"
#include "kernels/common/degrade_math.h"

namespace sr::data::degrade {

namespace {


struct DctBasis {
  double b[8][8];  // b[x][u] = 1/2 a(u) cos((2x+1) u pi / 16): orthonormal, C = B^T P B
  DctBasis() {
    for (int x = 0; x < 8; ++x)
      for (int u = 0; u < 8; ++u)
        b[x][u] = 0.5 * (u == 0 ? 1 / std::numbers::sqrt2 : 1.0) * std::cos((2 * x + 1) * u * std::numbers::pi / 16);
  }
};
const DctBasis kBasis;

}  // namespace

void jpeg_quantize_plane(double* p, int h, int w, const double (&step)[8][8]) {
  SR_CHECK(h % 8 == 0 && w % 8 == 0, "jpeg_quantize_plane: sides must be multiples of 8, got ", w, "x", h);
  double blk[8][8], tmp[8][8], coef[8][8];
  for (int by = 0; by < h; by += 8)
    for (int bx = 0; bx < w; bx += 8) {
      for (int x = 0; x < 8; ++x)
        for (int y = 0; y < 8; ++y) blk[x][y] = p[(size_t)(by + x) * w + bx + y] - 128.0;
      // C = B^T blk B, then quantise.
      for (int u = 0; u < 8; ++u)
        for (int y = 0; y < 8; ++y) {
          double s = 0;
          for (int x = 0; x < 8; ++x) s += kBasis.b[x][u] * blk[x][y];
          tmp[u][y] = s;
        }
      for (int u = 0; u < 8; ++u)
        for (int v = 0; v < 8; ++v) {
          double s = 0;
          for (int y = 0; y < 8; ++y) s += tmp[u][y] * kBasis.b[y][v];
          coef[u][v] = std::nearbyint(s / step[u][v]) * step[u][v];  // half to even
        }
      // blk = B coef B^T.
      for (int x = 0; x < 8; ++x)
        for (int v = 0; v < 8; ++v) {
          double s = 0;
          for (int u = 0; u < 8; ++u) s += kBasis.b[x][u] * coef[u][v];
          tmp[x][v] = s;
        }
      for (int x = 0; x < 8; ++x)
        for (int y = 0; y < 8; ++y) {
          double s = 0;
          for (int v = 0; v < 8; ++v) s += tmp[x][v] * kBasis.b[y][v];
          p[(size_t)(by + x) * w + bx + y] = s + 128.0;
        }
    }
}

double jpeg_quality_factor(double q) {
  SR_CHECK(std::isfinite(q) && q > 0 && q < 100, "diff_jpeg: quality must be in (0, 100), got ", q,
           " (at 100 the table factor 2 - q/50 is 0)");
  return q < 50 ? 50.0 / q : 2.0 - q / 50.0;
}

void diff_jpeg(Planes& x, double quality) {
  SR_CHECK(x.channels == 3, "diff_jpeg: expected RGB planes, got ", x.channels, " channels");
  const double f = jpeg_quality_factor(quality);
  double luma_step[8][8], chroma_step[8][8];
  for (int u = 0; u < 8; ++u)
    for (int v = 0; v < 8; ++v) {
      luma_step[u][v] = degrade_math::kJpegLuma[v][u] * f;  // transposed, as in the original
      chroma_step[u][v] = degrade_math::jpeg_chroma_table(v, u) * f;
    }
  const int h = x.height, w = x.width;
  const int ph = (h + 15) / 16 * 16, pw = (w + 15) / 16 * 16;
  std::vector<double> Y((size_t)ph * pw), Cb((size_t)ph * pw / 4), Cr((size_t)ph * pw / 4);
  // Zero padding is black: Y = 0, Cb = Cr = 128 there.
  auto rgb = [&](int c, int yy, int xx) { return yy < h && xx < w ? 255.0 * x.at(c, yy, xx) : 0.0; };
  for (int yy = 0; yy < ph; ++yy)
    for (int xx = 0; xx < pw; ++xx)
      Y[(size_t)yy * pw + xx] = 0.299 * rgb(0, yy, xx) + 0.587 * rgb(1, yy, xx) + 0.114 * rgb(2, yy, xx);
  const int ch = ph / 2, cw = pw / 2;
  for (int yy = 0; yy < ch; ++yy)
    for (int xx = 0; xx < cw; ++xx) {
      double cb = 0, cr = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const double r = rgb(0, 2 * yy + dy, 2 * xx + dx), g = rgb(1, 2 * yy + dy, 2 * xx + dx),
                       b = rgb(2, 2 * yy + dy, 2 * xx + dx);
          cb += -0.168736 * r - 0.331264 * g + 0.5 * b + 128;
          cr += 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
        }
      Cb[(size_t)yy * cw + xx] = cb / 4;
      Cr[(size_t)yy * cw + xx] = cr / 4;
    }
  jpeg_quantize_plane(Y.data(), ph, pw, luma_step);
  jpeg_quantize_plane(Cb.data(), ch, cw, chroma_step);
  jpeg_quantize_plane(Cr.data(), ch, cw, chroma_step);
  for (int yy = 0; yy < h; ++yy)
    for (int xx = 0; xx < w; ++xx) {
      const double lum = Y[(size_t)yy * pw + xx];
      const double cb = Cb[(size_t)(yy / 2) * cw + xx / 2] - 128, cr = Cr[(size_t)(yy / 2) * cw + xx / 2] - 128;
      const double r = lum + 1.402 * cr, g = lum - 0.344136 * cb - 0.714136 * cr, b = lum + 1.772 * cb;
      x.at(0, yy, xx) = (float)(std::clamp(r, 0.0, 255.0) / 255.0);
      x.at(1, yy, xx) = (float)(std::clamp(g, 0.0, 255.0) / 255.0);
      x.at(2, yy, xx) = (float)(std::clamp(b, 0.0, 255.0) / 255.0);
    }
}

}  // namespace sr::data::degrade
