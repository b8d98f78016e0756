// Bilinear resampling as OpenCV's cv2.resize(..., interpolation=cv2.INTER_LINEAR) defines it
// for float32 images: what Real-ESRGAN's RealESRGANer does to the alpha channel when its
// alpha_upsampler is not 'realesrgan' (the whole alpha plane, before any pre-pad). Per axis,
// output pixel d (of `out` from `in`) is centred on the source coordinate
// x = (d + 0.5) * in / out - 0.5; with s = floor(x) and f = x - s it reads pixels s and s + 1
// with weights 1 - f and f, except that a coordinate left of pixel 0 reads pixel 0 alone and
// one at or right of the last pixel reads the last alone (f = 0: edge replication, no
// extrapolation). Rows are resampled first, then the two resampled rows are mixed; all in
// float32, as cv2 computes float images.
#pragma once
#include <vector>

namespace sr::data {

// One axis: for every output index, its first source index and the weight f of the second.
struct LinearAxis {
  int in_size = 0;
  std::vector<int> first;
  std::vector<float> fraction;
};
LinearAxis linear_axis(int in_size, int out_size);

// Output row `out_y` of the in_width x in_height single-channel `plane` resized to
// out_width x out_height, written to out_row (out_width floats). Rows are independent, so a
// caller that streams its output asks for exactly the rows it is about to write.
void resize_linear_row(const float* plane, int in_width, int in_height, const LinearAxis& x_axis,
                       const LinearAxis& y_axis, int out_y, float* out_row);

}  // namespace sr::data
