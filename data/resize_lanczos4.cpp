// Lanczos-4 resampling with cv2.resize's geometry (see resize_lanczos4.h).
#include "data/resize_lanczos4.h"

#include <cmath>

#include "engine/error.h"

namespace sr::data {

namespace {

constexpr int kTaps = 8;

// sinc(t) sinc(t / 4); the caller normalises, so constant factors do not matter.
double lanczos4(double t) {
  if (std::fabs(t) < 1e-9) return 1.0;
  const double a = M_PI * t, b = a / 4;
  return std::sin(a) * std::sin(b) / (a * b);
}

// One output row of samples from one input row (interleaved channels).
void resample_row(const Lanczos4Axis& ax, int channels, const float* in, float* out) {
  for (int d = 0; d < ax.out_size; ++d) {
    const float* w = ax.weights.data() + (size_t)d * kTaps;
    for (int c = 0; c < channels; ++c) {
      float acc = 0;
      for (int k = 0; k < kTaps; ++k) acc += w[k] * in[(size_t)ax.clamp(ax.first[d] + k) * channels + c];
      out[(size_t)d * channels + c] = acc;
    }
  }
}

}  // namespace

Lanczos4Axis lanczos4_axis(int in_size, int out_size) {
  SR_CHECK(in_size >= 1 && out_size >= 1, "Lanczos-4 resize: sizes must be >= 1, got ", in_size, " -> ", out_size);
  Lanczos4Axis a;
  a.in_size = in_size;
  a.out_size = out_size;
  a.first.resize(out_size);
  a.weights.resize((size_t)out_size * kTaps);
  // cv2 keeps the inverse of out/in, and rounds the source coordinate to float before
  // splitting it.
  const double scale = 1.0 / ((double)out_size / in_size);
  for (int d = 0; d < out_size; ++d) {
    const float x = (float)((d + 0.5) * scale - 0.5);
    const int s = (int)std::floor(x);
    const double f = (double)x - s;
    double w[kTaps], sum = 0;
    for (int i = 0; i < kTaps; ++i) sum += (w[i] = lanczos4(f + 3 - i));
    a.first[d] = s - 3;
    for (int i = 0; i < kTaps; ++i) a.weights[(size_t)d * kTaps + i] = (float)(w[i] / sum);
  }
  return a;
}

Image resize_lanczos4(const Image& img, int out_width, int out_height) {
  Image out(out_width, out_height, img.channels, img.bit_depth);
  int y = 0;
  Lanczos4RowResizer r(img.width, img.height, out_width, out_height, img.channels, [&](const float* row) {
    std::copy(row, row + (size_t)out_width * img.channels, out.pixels.begin() + (size_t)y * out_width * img.channels);
    ++y;
  });
  r.push_rows(img.pixels.data(), img.height);
  SR_CHECK(y == out_height, "Lanczos-4 resize: produced ", y, " of ", out_height, " rows");
  return out;
}

Lanczos4RowResizer::Lanczos4RowResizer(int in_width, int in_height, int out_width, int out_height, int channels,
                                       Sink sink)
    : ax_(lanczos4_axis(in_width, out_width)),
      ay_(lanczos4_axis(in_height, out_height)),
      channels_(channels),
      sink_(std::move(sink)),
      ring_(kTaps, std::vector<float>((size_t)out_width * channels)),
      out_row_((size_t)out_width * channels) {
  SR_CHECK(channels >= 1, "Lanczos-4 resize: channels must be >= 1, got ", channels);
}

void Lanczos4RowResizer::push_rows(const float* samples, int rows) {
  for (int r = 0; r < rows; ++r) {
    SR_CHECK(received_ < ay_.in_size, "Lanczos-4 resize: more than the ", ay_.in_size, " input rows announced");
    resample_row(ax_, channels_, samples + (size_t)r * ax_.in_size * channels_, ring_[received_ % kTaps].data());
    ++received_;
    emit_ready();
  }
}

// An output row is ready once the last source row it reads has arrived; the ring then holds
// every row it reads (the 8 rows up to that one, or all rows when the image is shorter).
void Lanczos4RowResizer::emit_ready() {
  const size_t n = out_row_.size();
  while (next_out_ < ay_.out_size) {
    const int first = ay_.first[next_out_];
    if (ay_.clamp(first + kTaps - 1) >= received_) return;
    const float* w = ay_.weights.data() + (size_t)next_out_ * kTaps;
    std::fill(out_row_.begin(), out_row_.end(), 0.0f);
    for (int k = 0; k < kTaps; ++k) {
      const float* src = ring_[ay_.clamp(first + k) % kTaps].data();
      for (size_t i = 0; i < n; ++i) out_row_[i] += w[k] * src[i];
    }
    sink_(out_row_.data());
    ++next_out_;
  }
}

}  // namespace sr::data
