// The conv precision of a whole network: set_precision walks the module tree and sets
// every Conv2d's precision (the fused residual dense blocks read their convs'), so the
// network builder's callers choose it once from the config's `precision` key. Spectral-norm
// convs (discriminators) and the VGG feature extractor stay at Precision::device_default.
#pragma once
#include "kernels/common/precision.h"
#include "layers/module.h"

namespace sr {

void set_precision(Module& root, Precision precision);

// `name` as a precision (default, fp32, tf32, bf16, fp16); anything else is an error naming
// `what` (a flag, a parameter), the value and the names.
Precision parse_precision(const std::string& name, const std::string& what);

// An error naming the setting (`what`: the config key `precision` by default, or a command's
// flag), its value and what is missing when `device` cannot run `precision` with the conv
// variant `conv_impl` selects (no silent fallback):
//   CPU            default and fp32: float32; tf32, fp16: rounded operands on every CPU;
//                  bf16: needs AVX512-BF16. conv_impl is ignored (the CPU has one conv).
//   CUDA / simt    kernels::conv_variant_for_precision: bf16 and fp16 with conv_impl cudnn
//                  are refused, naming both keys and values.
void check_precision_supported(Precision precision, Device device, const std::string& conv_impl = "native",
                               const std::string& what = "config: precision");

}  // namespace sr
