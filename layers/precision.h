// The conv precision of a whole network: set_precision walks the module tree and sets
// every Conv2d's precision (the fused residual dense blocks read their convs'), so the
// network builder's callers choose it once from the config's `precision` key. Spectral-norm
// convs (discriminators) and the VGG feature extractor stay fp32.
#pragma once
#include "kernels/common/precision.h"
#include "layers/module.h"

namespace sr {

void set_precision(Module& root, Precision precision);

// An error naming the config key `precision`, its value and what is missing when `device`
// cannot run `precision`: bf16 needs the CPU and AVX512-BF16 (no silent fallback).
void check_precision_supported(Precision precision, Device device);

}  // namespace sr
