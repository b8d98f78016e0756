// set_precision (see precision.h).
#include "layers/precision.h"

#include "engine/error.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "layers/conv2d.h"

namespace sr {

void set_precision(Module& root, Precision precision) {
  if (auto* conv = dynamic_cast<Conv2d*>(&root)) conv->precision = precision;
  for (auto& [name, child] : root.named_children()) set_precision(*child, precision);
}

void check_precision_supported(Precision precision, Device device) {
  if (precision == Precision::fp32) return;
  SR_CHECK(device.is_cpu(), "config: precision '", precision_name(precision),
           "' is implemented for the CPU only; on device ", device.str(), " use precision 'fp32'");
  SR_CHECK(cpu::cpu_has_avx512_bf16(), "config: precision '", precision_name(precision),
           "' needs a CPU with AVX512-BF16 (vdpbf16ps); this CPU lacks avx512_bf16 (allowed here: fp32)");
}

}  // namespace sr
