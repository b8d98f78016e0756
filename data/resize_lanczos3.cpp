// Pillow-exact antialiased Lanczos-3 resampling (see resize_lanczos3.h).
#include "data/resize_lanczos3.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/error.h"

namespace sr::data {

namespace {

constexpr double kSupport = 3.0;
constexpr int kFractionBits = 22;  // 32 bits - 8 for the sample - 2 of headroom for the sum

// sin(pi t) / (pi t), evaluated in this order so the weights match Pillow's to the last bit.
double sinc(double t) {
  if (t == 0.0) return 1.0;
  t = t * M_PI;
  return std::sin(t) / t;
}

double lanczos3(double t) { return -kSupport <= t && t < kSupport ? sinc(t) * sinc(t / kSupport) : 0.0; }

// A normalised weight in fixed point, rounded half away from zero.
int32_t fixed_point(double w) {
  const double s = w * (1 << kFractionBits);
  return (int32_t)(w < 0 ? s - 0.5 : s + 0.5);
}

// sum in fixed point (started at one half) back to a sample: shifted and clamped to [0, 255].
uint8_t to_u8(int32_t sum) {
  if (sum <= 0) return 0;
  if (sum >= (255 << kFractionBits)) return 255;  // also covers 256 << bits and above
  return (uint8_t)(sum >> kFractionBits);
}

// Resamples `lines` lines of `len_in` samples spaced by `step_in` into lines of ax.out_size
// samples spaced by `step_out`, for one axis. A line is a row (samples `channels` apart) or a
// column (samples a row apart); `line_in` / `line_out` are the distances between lines.
struct Pass {
  const Lanczos3Axis& ax;
  int64_t lines, line_in, line_out, step_in, step_out;
};

void run_u8(const Pass& p, const std::vector<int32_t>& k, const uint8_t* in, uint8_t* out) {
#pragma omp parallel for if (p.lines * p.ax.out_size * p.ax.taps >= (1 << 16))
  for (int64_t l = 0; l < p.lines; ++l)
    for (int d = 0; d < p.ax.out_size; ++d) {
      const int32_t* w = k.data() + (size_t)d * p.ax.taps;
      const uint8_t* src = in + l * p.line_in + (int64_t)p.ax.first[d] * p.step_in;
      int32_t sum = 1 << (kFractionBits - 1);
      for (int i = 0; i < p.ax.count[d]; ++i) sum += src[i * p.step_in] * w[i];
      out[l * p.line_out + d * p.step_out] = to_u8(sum);
    }
}

// 16-bit levels as Pillow's 32-bit integer images (mode I) resample them: float64 weights and
// sums, each pass rounded half away from zero, not clamped until the end.
void run_levels(const Pass& p, const double* in, double* out) {
#pragma omp parallel for if (p.lines * p.ax.out_size * p.ax.taps >= (1 << 16))
  for (int64_t l = 0; l < p.lines; ++l)
    for (int d = 0; d < p.ax.out_size; ++d) {
      const double* w = p.ax.weights.data() + (size_t)d * p.ax.taps;
      const double* src = in + l * p.line_in + (int64_t)p.ax.first[d] * p.step_in;
      double sum = 0;
      for (int i = 0; i < p.ax.count[d]; ++i) sum += src[i * p.step_in] * w[i];
      out[l * p.line_out + d * p.step_out] = sum >= 0 ? std::floor(sum + 0.5) : -std::floor(std::fabs(sum) + 0.5);
    }
}

// Pillow's premultiplication of 8-bit colour by alpha, round(c a / 255) in integers.
uint8_t premultiply_u8(int c, int a) {
  const int t = c * a + 128;
  return (uint8_t)(((t >> 8) + t) >> 8);
}

// Its inverse after the resize: kept where alpha is 0 or 255, else 255 c / a truncated and
// clamped to 255.
uint8_t unpremultiply_u8(int c, int a) {
  if (a == 0 || a == 255) return (uint8_t)c;
  return (uint8_t)std::min(255, 255 * c / a);
}

// Rows (x axis) then columns (y axis), each only where the size changes, as Pillow does.
template <typename T, typename RunFn>
std::vector<T> resize_planes(std::vector<T> src, int w, int h, int c, int ow, int oh, RunFn run) {
  if (ow != w) {
    const Lanczos3Axis ax = lanczos3_axis(w, ow);
    std::vector<T> dst((size_t)h * ow * c);
    for (int ch = 0; ch < c; ++ch)
      run(Pass{ax, h, (int64_t)w * c, (int64_t)ow * c, c, c}, src.data() + ch, dst.data() + ch);
    src.swap(dst);
    w = ow;
  }
  if (oh != h) {
    const Lanczos3Axis ax = lanczos3_axis(h, oh);
    std::vector<T> dst((size_t)oh * w * c);
    // One "line" per (column, channel): the samples of a column are a row apart.
    run(Pass{ax, (int64_t)w * c, 1, 1, (int64_t)w * c, (int64_t)w * c}, src.data(), dst.data());
    src.swap(dst);
  }
  return src;
}

}  // namespace

Lanczos3Axis lanczos3_axis(int in_size, int out_size) {
  SR_CHECK(in_size >= 1 && out_size >= 1, "Lanczos-3 resize: sizes must be >= 1, got ", in_size, " -> ", out_size);
  Lanczos3Axis a;
  a.in_size = in_size;
  a.out_size = out_size;
  const double scale = (double)in_size / out_size, stretch = std::max(scale, 1.0);
  const double support = kSupport * stretch;
  a.taps = (int)std::ceil(support) * 2 + 1;
  a.first.resize(out_size);
  a.count.resize(out_size);
  a.weights.assign((size_t)out_size * a.taps, 0.0);
  for (int d = 0; d < out_size; ++d) {
    const double centre = (d + 0.5) * scale;
    // int() truncates toward zero, as the C cast in Pillow; a negative start is then clamped.
    const int lo = std::max((int)(centre - support + 0.5), 0);
    const int hi = std::min((int)(centre + support + 0.5), in_size);
    double* w = a.weights.data() + (size_t)d * a.taps;
    double total = 0;
    for (int i = lo; i < hi; ++i) total += (w[i - lo] = lanczos3((i - centre + 0.5) * (1.0 / stretch)));
    if (total != 0.0)
      for (int i = 0; i < hi - lo; ++i) w[i] /= total;
    a.first[d] = lo;
    a.count[d] = hi - lo;
  }
  return a;
}

Image resize_lanczos3(const Image& img, int out_width, int out_height) {
  SR_CHECK(out_width >= 1 && out_height >= 1, "Lanczos-3 resize: output size must be >= 1, got ", out_width, "x",
           out_height);
  const int w = img.width, h = img.height, c = img.channels;
  const int alpha = img.has_alpha() ? c - 1 : -1;  // the alpha channel's index
  Image out(out_width, out_height, c, img.bit_depth);
  if (img.bit_depth == 8) {
    std::vector<uint8_t> src(img.pixels.size());
    for (size_t i = 0; i < src.size(); ++i) src[i] = quantize_u8(img.pixels[i]);
    if (alpha >= 0)  // Pillow resizes RGBA as RGBa and LA as La: colour premultiplied by alpha
      for (size_t px = 0; px < src.size(); px += c)
        for (int ch = 0; ch < alpha; ++ch) src[px + ch] = premultiply_u8(src[px + ch], src[px + alpha]);
    std::vector<uint8_t> r = resize_planes(std::move(src), w, h, c, out_width, out_height,
                                           [](const Pass& p, const uint8_t* in, uint8_t* o) {
      std::vector<int32_t> k(p.ax.weights.size());
      for (size_t i = 0; i < k.size(); ++i) k[i] = fixed_point(p.ax.weights[i]);
      run_u8(p, k, in, o);
    });
    if (alpha >= 0)
      for (size_t px = 0; px < r.size(); px += c)
        for (int ch = 0; ch < alpha; ++ch) r[px + ch] = unpremultiply_u8(r[px + ch], r[px + alpha]);
    for (size_t i = 0; i < r.size(); ++i) out.pixels[i] = r[i] / 255.0f;
  } else {
    constexpr double kTop = 65535;
    std::vector<double> src(img.pixels.size());
    for (size_t i = 0; i < src.size(); ++i) src[i] = quantize_u16(img.pixels[i]);
    if (alpha >= 0)  // premultiplied as the 8-bit path, without rounding
      for (size_t px = 0; px < src.size(); px += c)
        for (int ch = 0; ch < alpha; ++ch) src[px + ch] *= src[px + alpha] / kTop;
    std::vector<double> r = resize_planes(std::move(src), w, h, c, out_width, out_height, &run_levels);
    for (size_t px = 0; px < r.size(); px += c)
      for (int ch = 0; ch < c; ++ch) {
        double v = std::clamp(r[px + ch], 0.0, kTop);
        const double a = alpha >= 0 ? std::clamp(r[px + alpha], 0.0, kTop) : kTop;
        if (ch != alpha && a > 0 && a < kTop) v = std::min(kTop, std::round(v * kTop / a));
        out.pixels[px + ch] = (float)(v / kTop);
      }
  }
  return out;
}

}  // namespace sr::data
