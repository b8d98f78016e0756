// BasicSR-identical PSNR/SSIM on 8-bit-rounded images (see metrics.h for the formulas).
#include "data/metrics.h"

#include <cmath>
#include <limits>

#include "data/ycbcr.h"
#include "engine/error.h"

namespace sr::data {

MetricPlanes quantize_for_metrics(const Image& img) {
  SR_CHECK(!img.empty(), "metrics: empty image");
  // Gray (and gray + alpha) images give one plane, colour ones three (alpha dropped): metric()
  // decides how a one-plane image meets a three-plane one.
  MetricPlanes p;
  p.channels = img.channels <= 2 ? 1 : 3;
  p.height = img.height;
  p.width = img.width;
  const int64_t plane = img.pixel_count();
  p.v.resize(p.channels * plane);
  for (int64_t i = 0; i < plane; ++i) {
    const float* px = img.pixels.data() + i * img.channels;
    for (int c = 0; c < p.channels; ++c) {
      const float s = px[c];
      SR_CHECK(std::isfinite(s), "metrics: non-finite sample ", s, " at pixel ", i);
      p.v[c * plane + i] = quantize_u8(s);
    }
  }
  return p;
}

MetricPlanes quantize_for_metrics(const Tensor& rgb) {
  SR_CHECK(rgb.defined(), "metrics: undefined tensor");
  // RGB, or one channel (a `color: y` dataset's Y images, measured as BasicSR measures a
  // one-channel tensor2img result).
  const int64_t c = rgb.dim() == 4 ? rgb.size(1) : rgb.dim() == 3 ? rgb.size(0) : 0;
  const bool ok = (rgb.dim() == 4 && rgb.size(0) == 1) || rgb.dim() == 3;
  SR_CHECK(ok && (c == 3 || c == 1), "metrics: expected an RGB tensor (1, 3, H, W) or (3, H, W), or a one-channel ",
           "(1, 1, H, W) or (1, H, W), got ", rgb.str());
  const Tensor h = rgb.to(Device::cpu()).to(DType::f32).contiguous();
  MetricPlanes p;
  p.channels = (int)c;
  p.height = (int)h.size(h.dim() - 2);
  p.width = (int)h.size(h.dim() - 1);
  const float* src = h.data<float>();
  p.v.resize(h.numel());
  for (size_t i = 0; i < p.v.size(); ++i) {
    SR_CHECK(std::isfinite(src[i]), "metrics: non-finite value ", src[i], " at element ", i);
    p.v[i] = quantize_u8(src[i]);
  }
  return p;
}

void check_metric_size(int width, int height, const MetricOptions& opt, bool ssim) {
  const int b = opt.crop_border;
  SR_CHECK(b >= 0, "metrics: crop_border must be >= 0, got ", b);
  SR_CHECK(height > 2 * b && width > 2 * b, "metrics: crop_border ", b, " leaves nothing of a ", width, "x", height,
           " image");
  if (ssim)
    SR_CHECK(height - 2 * b >= 11 && width - 2 * b >= 11, "metrics: SSIM needs at least 11x11 pixels after cropping, got ",
             width - 2 * b, "x", height - 2 * b, " (a ", width, "x", height, " image with crop_border ", b, ")");
}

MetricPlanes prepare_planes(const MetricPlanes& p, const MetricOptions& opt) {
  check_metric_size(p.width, p.height, opt, false);
  const int b = opt.crop_border;
  MetricPlanes out;
  out.height = p.height - 2 * b;
  out.width = p.width - 2 * b;
  const size_t plane_in = (size_t)p.height * p.width, plane = (size_t)out.height * out.width;
  auto in_at = [&](int c, int y, int x) { return p.v[c * plane_in + (size_t)(y + b) * p.width + (x + b)]; };
  if (opt.test_y_channel && p.channels == 3) {
    // BasicSR's to_y_channel: v/255 in float32, Y = 16 + dot in float64, then /255 and
    // back to float32 (bt601_y), finally *255 in float32. The float32 steps are kept so the Y
    // values are bit-identical to BasicSR's. A one-channel image is measured as it is, as
    // to_y_channel leaves it (a `color: y` dataset's images are Y already).
    out.channels = 1;
    out.v.resize(plane);
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x) {
        const float r = (float)in_at(0, y, x) / 255.0f, g = (float)in_at(1, y, x) / 255.0f,
                    bl = (float)in_at(2, y, x) / 255.0f;
        const float y01 = bt601_y(r, g, bl);
        out.v[(size_t)y * out.width + x] = (double)(y01 * 255.0f);
      }
    return out;
  }
  out.channels = p.channels;
  out.v.resize(plane * p.channels);
  for (int c = 0; c < p.channels; ++c)
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x) out.v[c * plane + (size_t)y * out.width + x] = in_at(c, y, x);
  return out;
}

namespace {

void check_same(const MetricPlanes& a, const MetricPlanes& b) {
  SR_CHECK(a.channels == b.channels && a.height == b.height && a.width == b.width,
           "metrics: image sizes differ: ", a.width, "x", a.height, "x", a.channels, " vs ", b.width, "x",
           b.height, "x", b.channels);
}

// cv2.getGaussianKernel(11, 1.5): exp(-(i-5)^2 / (2 sigma^2)) normalised to sum 1.
std::vector<double> gaussian_window() {
  std::vector<double> g(11);
  double sum = 0;
  for (int i = 0; i < 11; ++i) {
    g[i] = std::exp(-((i - 5.0) * (i - 5.0)) / (2.0 * 1.5 * 1.5));
    sum += g[i];
  }
  for (double& v : g) v /= sum;
  return g;
}

// 'valid' 11x11 Gaussian filtering of one plane: columns then rows (the window is the
// outer product g g^T, so this equals cv2.filter2D followed by the 5-pixel crop).
std::vector<double> filter_valid(const double* src, int h, int w, const std::vector<double>& g) {
  const int oh = h - 10, ow = w - 10;
  std::vector<double> tmp((size_t)oh * w, 0.0), out((size_t)oh * ow, 0.0);
  for (int y = 0; y < oh; ++y)
    for (int k = 0; k < 11; ++k) {
      const double* in = src + (size_t)(y + k) * w;
      double* t = tmp.data() + (size_t)y * w;
      for (int x = 0; x < w; ++x) t[x] += g[k] * in[x];
    }
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      double s = 0;
      const double* t = tmp.data() + (size_t)y * w + x;
      for (int k = 0; k < 11; ++k) s += g[k] * t[k];
      out[(size_t)y * ow + x] = s;
    }
  return out;
}

double ssim_plane(const double* a, const double* b, int h, int w) {
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  static const std::vector<double> g = gaussian_window();
  const size_t n = (size_t)h * w;
  std::vector<double> aa(n), bb(n), ab(n);
  for (size_t i = 0; i < n; ++i) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const std::vector<double> mu1 = filter_valid(a, h, w, g), mu2 = filter_valid(b, h, w, g);
  const std::vector<double> f11 = filter_valid(aa.data(), h, w, g), f22 = filter_valid(bb.data(), h, w, g),
                            f12 = filter_valid(ab.data(), h, w, g);
  double sum = 0;
  for (size_t i = 0; i < mu1.size(); ++i) {
    const double m11 = mu1[i] * mu1[i], m22 = mu2[i] * mu2[i], m12 = mu1[i] * mu2[i];
    const double s11 = f11[i] - m11, s22 = f22[i] - m22, s12 = f12[i] - m12;
    sum += ((2 * m12 + c1) * (2 * s12 + c2)) / ((m11 + m22 + c1) * (s11 + s22 + c2));
  }
  return sum / (double)mu1.size();
}

}  // namespace

double psnr_planes(const MetricPlanes& a, const MetricPlanes& b) {
  check_same(a, b);
  double sum = 0;
  for (size_t i = 0; i < a.v.size(); ++i) {
    const double d = a.v[i] - b.v[i];
    sum += d * d;
  }
  const double mse = sum / (double)a.v.size();
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double ssim_planes(const MetricPlanes& a, const MetricPlanes& b) {
  check_same(a, b);
  SR_CHECK(a.height >= 11 && a.width >= 11, "metrics: SSIM needs at least 11x11 pixels after cropping, got ",
           a.width, "x", a.height);
  const size_t plane = (size_t)a.height * a.width;
  double sum = 0;
  for (int c = 0; c < a.channels; ++c) sum += ssim_plane(a.v.data() + c * plane, b.v.data() + c * plane, a.height, a.width);
  return sum / a.channels;
}

namespace {

// A one-plane image as three equal planes (R = G = B).
MetricPlanes replicate_to_rgb(const MetricPlanes& p) {
  MetricPlanes out = p;
  out.channels = 3;
  out.v.reserve(3 * p.v.size());
  for (int c = 1; c < 3; ++c) out.v.insert(out.v.end(), p.v.begin(), p.v.end());
  return out;
}

template <typename In>
double metric(const In& a, const In& b, const MetricOptions& opt, double (*fn)(const MetricPlanes&, const MetricPlanes&)) {
  MetricPlanes qa = quantize_for_metrics(a), qb = quantize_for_metrics(b);
  // A gray image beside a colour one. Without test_y_channel the gray one counts as R = G = B, as
  // cv2.imread in colour mode (BasicSR's datasets) reads it. With it there is no one right range:
  // the colour image's Y is studio swing (16..235 of 255) while a gray image is measured on its
  // own values (full range for a gray photo, Y for a one-channel network's saved result), so the
  // pair would be scored on two ranges without a word. BasicSR's calculate_psnr_ssim.py stops
  // there too, on the shapes.
  SR_CHECK(qa.channels == qb.channels || !opt.test_y_channel, "metrics: test_y_channel (--y-channel) with a ",
           qa.channels == 1 ? "gray" : "colour", " image and a ", qb.channels == 1 ? "gray" : "colour",
           " one: a colour image is measured on its BT.601 Y (studio swing, 16..235 of 255) and a gray one on its "
           "own values, two different ranges; give both in colour or both gray, or measure RGB without "
           "test_y_channel (gray then counts as R = G = B)");
  if (qa.channels != qb.channels) {
    if (qa.channels == 1) qa = replicate_to_rgb(qa);
    if (qb.channels == 1) qb = replicate_to_rgb(qb);
  }
  SR_CHECK(qa.height == qb.height && qa.width == qb.width, "metrics: image sizes differ: ", qa.width, "x", qa.height,
           "x", qa.channels, " vs ", qb.width, "x", qb.height, "x", qb.channels);  // before cropping: the real sizes
  return fn(prepare_planes(qa, opt), prepare_planes(qb, opt));
}

}  // namespace

double calculate_psnr(const Image& a, const Image& b, const MetricOptions& opt) {
  return metric(a, b, opt, psnr_planes);
}
double calculate_ssim(const Image& a, const Image& b, const MetricOptions& opt) {
  return metric(a, b, opt, ssim_planes);
}
double calculate_psnr(const Tensor& a, const Tensor& b, const MetricOptions& opt) {
  return metric(a, b, opt, psnr_planes);
}
double calculate_ssim(const Tensor& a, const Tensor& b, const MetricOptions& opt) {
  return metric(a, b, opt, ssim_planes);
}

}  // namespace sr::data
