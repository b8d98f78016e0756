// Training transforms as BasicSR applies them: modcrop, the paired random crop on the
// LQ grid, and the dihedral augmentation (hflip, vflip, transpose, each p = 0.5, in
// that order). Random choices come from a counter-based draw, never from thread state.
#pragma once
#include <cstdint>
#include <string>

#include "data/image.h"

namespace sr::data {

// Crops to the largest size that is a multiple of `scale` (top-left kept), as
// BasicSR's modcrop.
Image modcrop(const Image& img, int scale);
// A rectangular crop; an error naming `what` when it does not fit.
Image crop(const Image& img, int top, int left, int height, int width, const std::string& what = "crop");

struct Augment {
  bool hflip = false;  // reverse columns
  bool vflip = false;  // reverse rows
  bool rot90 = false;  // transpose (BasicSR's "rot90" is img.transpose(1, 0, 2))
};

// The random choices of one training sample: a crop position on the LQ grid and the
// dihedral flags, all from one Philox draw keyed by (seed, epoch, position).
struct SampleDraw {
  uint32_t top_bits = 0, left_bits = 0;
  Augment aug;
  // Uniform integer in [0, range) from 32 random bits (range >= 1).
  static int pick(uint32_t bits, int range) { return (int)(((uint64_t)bits * (uint64_t)range) >> 32); }
};
SampleDraw draw_sample(uint64_t seed, int64_t epoch, int64_t position, bool use_hflip, bool use_rot);

// Writes the size x size patch of `img` at (top, left), augmented, as planar float RGB
// (3 x size x size, gray replicated, alpha dropped) into dst: out(y, x) reads the crop
// at (a, b) with (a, b) = rot90 ? (x, y) : (y, x), then a -> size-1-a under vflip and
// b -> size-1-b under hflip (the composition of BasicSR's flips then transpose).
// planes 1: one plane (1 x size x size) of a one-channel image (a `color: y` sample's Y).
void crop_augment_planar(const Image& img, int top, int left, int size, const Augment& aug, float* dst,
                         int planes = 3);

// Applies the same augmentation to a whole square or rectangular image (for tests and
// tools); the result has swapped sides under rot90.
Image augment_image(const Image& img, const Augment& aug);

}  // namespace sr::data
