// MATLAB-compatible bicubic resize: weight tables (resize_weights) and the two
// separable passes. Sums are accumulated in double so the float32 result is the
// correctly rounded MATLAB (double) value up to a few ulps.
#include "data/imresize.h"

#include <cmath>

#include "data/image_io.h"
#include "engine/error.h"

namespace sr::data {

double cubic_kernel(double x) {
  const double a = std::fabs(x), a2 = a * a, a3 = a2 * a;
  if (a <= 1.0) return 1.5 * a3 - 2.5 * a2 + 1.0;
  if (a <= 2.0) return -0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0;
  return 0.0;
}

int mirror_index(int i, int length) {
  // MATLAB: aux = [1:L, L:-1:1]; idx = aux(mod(i, 2L) + 1) in 0-based form.
  const int period = 2 * length;
  int m = i % period;
  if (m < 0) m += period;
  return m < length ? m : period - 1 - m;
}

int resized_length(int length, double scale) {
  SR_CHECK(std::isfinite(scale) && scale > 0, "imresize: scale must be a positive number, got ", scale);
  // Below half a pixel the antialiasing kernel (4/scale taps) outgrows the image without
  // changing the 1-pixel result: 1e-9 would ask for billions of taps.
  SR_CHECK((double)length * scale >= 0.5, "imresize: scale ", scale, " shrinks a side of ", length,
           " pixels to ", (double)length * scale, " pixels (less than half a pixel)");
  const double out = std::ceil((double)length * scale);
  SR_CHECK(out >= 1 && out <= 1e9, "imresize: ", length, " pixels at scale ", scale, " gives ", out,
           " output pixels");
  return (int)out;
}

namespace {

// The output of one plane must stay within the decoders' pixel limit (a x9999 resize of a
// photo is a typo, not a request for 3e11 pixels).
void check_output_pixels(int h, int w, int oh, int ow, double scale) {
  const int64_t pixels = (int64_t)oh * ow;
  SR_CHECK(pixels <= kDefaultMaxPixels, "imresize: a ", w, "x", h, " image at scale ", scale, " would be ", ow, "x",
           oh, " = ", pixels, " pixels, over the limit of ", kDefaultMaxPixels);
}

}  // namespace

ResizeWeights resize_weights(int in_length, int out_length, double scale, bool antialiasing) {
  SR_CHECK(in_length > 0 && out_length > 0, "imresize: lengths must be positive, got ", in_length, " -> ",
           out_length);
  const bool shrink = scale < 1.0 && antialiasing;
  const double width = shrink ? 4.0 / scale : 4.0;
  const int p = (int)std::ceil(width) + 2;
  std::vector<double> w((size_t)out_length * p);
  std::vector<int> left(out_length);
  for (int i = 0; i < out_length; ++i) {
    const double u = (i + 1) / scale + 0.5 * (1.0 - 1.0 / scale);  // 1-based input coordinate
    const double l = std::floor(u - width / 2.0);
    left[i] = (int)l - 1;  // 0-based index of tap 0
    double sum = 0.0;
    for (int k = 0; k < p; ++k) {
      const double d = u - (l + k);
      const double v = shrink ? scale * cubic_kernel(d * scale) : cubic_kernel(d);
      w[(size_t)i * p + k] = v;
      sum += v;
    }
    for (int k = 0; k < p; ++k) w[(size_t)i * p + k] /= sum;
  }
  // Drop leading and trailing tap columns that are zero in every row (MATLAB does the
  // same; a zero weight contributes nothing, so this only saves work).
  auto column_zero = [&](int k) {
    for (int i = 0; i < out_length; ++i)
      if (w[(size_t)i * p + k] != 0.0) return false;
    return true;
  };
  int lo = 0, hi = p;
  while (lo < hi - 1 && column_zero(lo)) ++lo;
  while (hi - 1 > lo && column_zero(hi - 1)) --hi;
  ResizeWeights r;
  r.in_length = in_length;
  r.out_length = out_length;
  r.taps = hi - lo;
  r.first.resize(out_length);
  r.weights.resize((size_t)out_length * r.taps);
  for (int i = 0; i < out_length; ++i) {
    r.first[i] = left[i] + lo;
    for (int k = 0; k < r.taps; ++k) r.weights[(size_t)i * r.taps + k] = w[(size_t)i * p + lo + k];
  }
  return r;
}

namespace {

template <typename T>
void resize_interleaved(const T* src, int h, int w, int channels, double scale, bool antialiasing, T* dst) {
  const int oh = resized_length(h, scale), ow = resized_length(w, scale);
  const ResizeWeights wh = resize_weights(h, oh, scale, antialiasing);
  const ResizeWeights ww = resize_weights(w, ow, scale, antialiasing);
  const size_t row = (size_t)w * channels;
  // Pass 1 (rows): tmp[i] = sum_k wh[i][k] * src[mirror(first + k)], a whole row at a time.
  std::vector<double> tmp((size_t)oh * row, 0.0);
  for (int i = 0; i < oh; ++i) {
    double* out = tmp.data() + (size_t)i * row;
    for (int k = 0; k < wh.taps; ++k) {
      const double wk = wh.weights[(size_t)i * wh.taps + k];
      if (wk == 0.0) continue;
      const T* in = src + (size_t)mirror_index(wh.first[i] + k, h) * row;
      for (size_t x = 0; x < row; ++x) out[x] += wk * (double)in[x];
    }
  }
  // Pass 2 (columns), with the mirrored column indices precomputed.
  std::vector<int> cols((size_t)ow * ww.taps);
  for (int j = 0; j < ow; ++j)
    for (int k = 0; k < ww.taps; ++k) cols[(size_t)j * ww.taps + k] = mirror_index(ww.first[j] + k, w);
  std::vector<double> acc(channels);
  for (int i = 0; i < oh; ++i) {
    const double* in = tmp.data() + (size_t)i * row;
    T* out = dst + (size_t)i * ow * channels;
    for (int j = 0; j < ow; ++j) {
      for (int c = 0; c < channels; ++c) acc[c] = 0.0;
      for (int k = 0; k < ww.taps; ++k) {
        const double wk = ww.weights[(size_t)j * ww.taps + k];
        const double* px = in + (size_t)cols[(size_t)j * ww.taps + k] * channels;
        for (int c = 0; c < channels; ++c) acc[c] += wk * px[c];
      }
      for (int c = 0; c < channels; ++c) out[(size_t)j * channels + c] = (T)acc[c];
    }
  }
}

}  // namespace

void imresize_interleaved(const float* src, int h, int w, int channels, double scale, bool antialiasing,
                          float* dst) {
  resize_interleaved(src, h, w, channels, scale, antialiasing, dst);
}

Image imresize(const Image& img, double scale, bool antialiasing) {
  SR_CHECK(!img.empty(), "imresize: empty image");
  check_output_pixels(img.height, img.width, resized_length(img.height, scale), resized_length(img.width, scale),
                      scale);
  Image out(resized_length(img.width, scale), resized_length(img.height, scale), img.channels, img.bit_depth);
  resize_interleaved(img.pixels.data(), img.height, img.width, img.channels, scale, antialiasing,
                     out.pixels.data());
  return out;
}

Tensor imresize(const Tensor& t, double scale, bool antialiasing) {
  SR_CHECK(t.defined() && (t.dim() == 3 || t.dim() == 4), "imresize: expected a (N, C, H, W) or (C, H, W) tensor, got ",
           t.defined() ? t.str() : std::string("undefined"));
  SR_CHECK(t.device().is_cpu(), "imresize: runs on the CPU; got ", t.str());
  const Tensor c = t.contiguous();
  const int h = (int)c.size(c.dim() - 2), w = (int)c.size(c.dim() - 1);
  const int oh = resized_length(h, scale), ow = resized_length(w, scale);
  check_output_pixels(h, w, oh, ow, scale);
  Shape shape = c.shape();
  shape[c.dim() - 2] = oh;
  shape[c.dim() - 1] = ow;
  Tensor out = Tensor::empty(shape, c.dtype());
  const int64_t planes = c.numel() / ((int64_t)h * w);
  for (int64_t p = 0; p < planes; ++p) {
    if (c.dtype() == DType::f32) {
      resize_interleaved(c.data<float>() + p * h * w, h, w, 1, scale, antialiasing,
                         out.data<float>() + p * oh * ow);
    } else if (c.dtype() == DType::f64) {
      resize_interleaved(c.data<double>() + p * h * w, h, w, 1, scale, antialiasing,
                         out.data<double>() + p * oh * ow);
    } else {
      fail("imresize: float32 or float64 tensors only, got ", dtype_name(c.dtype()));
    }
  }
  return out;
}

}  // namespace sr::data
