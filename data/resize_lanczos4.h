// Lanczos-4 resampling as OpenCV's cv2.resize(..., interpolation=cv2.INTER_LANCZOS4) defines
// it: Real-ESRGAN's `--outscale` resize, applied to the net's output after it has been
// quantised to 8 (16) bits. Per axis, output pixel d (of `out` from `in`) is centred on the
// source coordinate x = (d + 0.5) * in / out - 0.5; with s = floor(x) and f = x - s it reads
// the 8 source pixels s-3 .. s+4 (indices clamped to the image: edge replication) with
// weights L(f + 3 - i), i = 0..7, where L(t) = sinc(t) sinc(t / 4) (sinc(t) = sin(pi t) / (pi t),
// L(0) = 1), normalised to sum 1. The image is resampled along rows, then along columns.
// There is no anti-aliasing prefilter (like cv2): a large reduction aliases.
//
// Arithmetic: weights in float64 rounded to float32, sums in float32, results not clamped
// (the encoders clamp and round). cv2 uses the same weights in float for 16-bit images but
// 11-bit fixed-point weights for 8-bit ones, so 8-bit results can differ from cv2's by one
// level where a value lies near a rounding boundary.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "data/image.h"

namespace sr::data {

// One axis: for every output index, the first of its 8 source indices (before clamping) and
// the 8 weights.
struct Lanczos4Axis {
  int in_size = 0, out_size = 0;
  std::vector<int> first;      // out_size entries: s - 3
  std::vector<float> weights;  // out_size * 8
  int clamp(int i) const { return i < 0 ? 0 : i >= in_size ? in_size - 1 : i; }
};
Lanczos4Axis lanczos4_axis(int in_size, int out_size);

// The whole image (any channel count) to out_width x out_height.
Image resize_lanczos4(const Image& img, int out_width, int out_height);

// The same resize fed row by row, for images that never exist whole: input rows arrive top
// to bottom (push_rows), and each output row is handed to `sink` as soon as the input rows it
// reads have arrived. Holds at most ~8 horizontally resampled input rows.
class Lanczos4RowResizer {
 public:
  using Sink = std::function<void(const float* row)>;  // out_width * channels samples
  Lanczos4RowResizer(int in_width, int in_height, int out_width, int out_height, int channels, Sink sink);
  // `rows` rows of in_width * channels interleaved samples.
  void push_rows(const float* samples, int rows);
  int rows_received() const { return received_; }
  int rows_emitted() const { return next_out_; }

 private:
  void emit_ready();
  Lanczos4Axis ax_, ay_;
  int channels_;
  Sink sink_;
  std::vector<std::vector<float>> ring_;  // horizontally resampled input rows, by index % size
  std::vector<float> out_row_;
  int received_ = 0, next_out_ = 0;
};

}  // namespace sr::data
