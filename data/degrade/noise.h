// Additive Gaussian and Poisson noise of the degradation model (Real-ESRGAN Sec. 3.1,
// "Noise"), on [0, 1] RGB planes, clamped to [0, 1] afterwards.
//
// Gaussian: noise = sigma/255 * n with n standard normal per element (colour), or one
// H x W field copied to the three channels (gray). In a batch all gray samples share one
// gray field (each scaled by its own sigma), as in the original.
// Poisson: x_q = clamp(round(255 x), 0, 255)/255 per sample, V = 2^ceil(log2(number of
// distinct x_q values)), P ~ Poisson(V x_q), noise = scale (P/V - x_q): mean 0, variance
// scale^2 x_q / V. Gray: the same on y = 0.2989 R + 0.587 G + 0.114 B, copied to all
// channels. The noise is added to the unquantised x.
//
// Fields are counter-based: element i of a field is Philox draw i of the field's stream,
// so the result does not depend on the order or thread the elements are computed in.
#pragma once
#include <cstdint>

#include "data/degrade/planes.h"

namespace sr::data::degrade {

// The Philox stream of one noise field: (seed, stream).
struct FieldKey {
  uint64_t seed = 0, stream = 0;
};

// Element i of a standard normal field.
double normal_field_at(const FieldKey& f, uint64_t i);

// sigma in 0..255 units. Colour noise reads `color` (indices c*H*W + y*W + x), gray noise
// reads `gray` (indices y*W + x). Clamps to [0, 1].
void add_gaussian_noise(Planes& x, double sigma, bool gray, const FieldKey& color, const FieldKey& gray_field);
void add_poisson_noise(Planes& x, double scale, bool gray, const FieldKey& field);

// The Poisson quantisation level V of a set of values (1, 2, 4, ..., 256).
int poisson_levels(const float* v, size_t n);

}  // namespace sr::data::degrade
