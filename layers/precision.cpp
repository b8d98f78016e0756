// set_precision (see precision.h).
#include "layers/precision.h"

#include <cstdlib>

#include "engine/error.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "kernels/kernel_choice.h"
#include "kernels/registry.h"
#include "layers/conv2d.h"

namespace sr {

void set_precision(Module& root, Precision precision) {
  if (auto* conv = dynamic_cast<Conv2d*>(&root)) conv->precision = precision;
  for (auto& [name, child] : root.named_children()) set_precision(*child, precision);
}

Precision parse_precision(const std::string& name, const std::string& what) {
  Precision p;
  SR_CHECK(precision_from_name(name, &p), what, " expects default, fp32, tf32, bf16 or fp16, got '", name, "'");
  return p;
}

void check_precision_supported(Precision precision, Device device, const std::string& conv_impl,
                               const std::string& what) {
  if (!device.is_cpu()) {
    const kernels::ConvVariant chosen = kernels::kernel_choice(conv_impl, "fused").conv2d;
    try {
      kernels::conv_variant_for_precision(chosen, precision, "config");
    } catch (const Error&) {
      const char* env_name = kernels::override_env("conv2d");
      const char* env = std::getenv(env_name);
      if (env && *env)  // the environment chose the variant, whatever the caller's conv_impl
        fail(what, " '", precision_name(precision), "' is not supported on ", device.str(), " with ", env_name, "=",
             env, " (conv variant ", kernels::conv_variant_name(chosen), "): cuDNN runs only fp32 and tf32 here; "
             "unset ", env_name, " (or set it to native) for ", precision_name(precision));
      fail(what, " '", precision_name(precision), "' with conv_impl '", conv_impl, "' (conv variant ",
           kernels::conv_variant_name(chosen), ") is not supported on ", device.str(),
           ": cuDNN runs only fp32 and tf32 here; use conv_impl 'native' for ", precision_name(precision),
           " or precision 'fp32' / 'tf32' / 'default' with cudnn");
    }
    return;
  }
  if (precision != Precision::bf16) return;  // default, fp32, tf32, fp16: any CPU
  SR_CHECK(cpu::cpu_has_avx512_bf16(), what, " '", precision_name(precision),
           "' needs a CPU with AVX512-BF16 (vdpbf16ps); this CPU lacks avx512_bf16 (allowed here: default, "
           "fp32, tf32, fp16)");
}

}  // namespace sr
