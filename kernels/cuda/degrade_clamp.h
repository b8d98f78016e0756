// The clamps of the degradation model on CUDA: [0, 1] before a JPEG stage whose input a
// resize or blur may have pushed out of range, and the final rounding to k/255: the twin of
// data/degrade/planes.h's clamp01 and quantize_u8 for a batch.
#pragma once
#include <cstdint>

namespace sr::cuda {

// x (n floats), in place: x = clamp(x, 0, 1), or with `round_to_u8`
// x = clamp(round(255 x), 0, 255) / 255 (half to even).
void degrade_clamp(float* x, int64_t n, bool round_to_u8);

}  // namespace sr::cuda
