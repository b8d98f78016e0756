// Reflect padding for inference: the index mirror the tiler uses to pad virtually, and
// explicit padded copies (reflect_pad, pad_to_multiple) for callers that want a tensor.
// "Reflect" is numpy's / PyTorch's mode: the edge sample is not repeated (a b c | b a),
// and pads longer than the image keep mirroring back and forth.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace sr::infer {

inline int64_t round_up(int64_t v, int64_t multiple) { return (v + multiple - 1) / multiple * multiple; }

// Maps any integer coordinate onto [0, n) by reflection about the first and last sample.
inline int64_t reflect_index(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// (N, C, H, W) float32 CPU -> (N, C, H + top + bottom, W + left + right), reflected.
Tensor reflect_pad(const Tensor& x, int64_t top, int64_t bottom, int64_t left, int64_t right);

// Reflect-pads bottom and right so H and W become multiples of `multiple` (e.g. 4 for
// RRDBNet x1, 16 for an encoder-decoder with four 2x downsamplings); crop the result
// back with narrow(2, 0, H*scale).narrow(3, 0, W*scale).
Tensor pad_to_multiple(const Tensor& x, int64_t multiple);

}  // namespace sr::infer
