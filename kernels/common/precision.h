// The arithmetic precision of a convolution, chosen per network by the config's
// `precision` key and carried to the kernels in Conv2dShape / RdbShape (no process-wide
// switch). Tensors stay float32 whichever is chosen: the conv operands are rounded to the
// format inside the kernel and products are summed in float32.
//   device_default  the device's own math: the CPU's float32; on CUDA the conv variant
//                   the KernelChoice names (conv_impl native: TF32 tensor cores; cudnn:
//                   cuDNN's default math, TF32 allowed), as before the key existed;
//   fp32            float32 operands and FMA sums on every device;
//   tf32            operands rounded to TF32 (cvt.rna: nearest, ties away from zero);
//   bf16            operands rounded to bfloat16 (nearest even);
//   fp16            operands rounded to IEEE binary16 (nearest even, overflow to inf,
//                   subnormals kept); training needs loss scaling (train/loss_scaler.h).
// docs/PERFORMANCE.md ("Training precision") has the device x precision -> kernel table.
#pragma once
#include <cstdint>
#include <string>

namespace sr {

enum class Precision : uint8_t { fp32, bf16, tf32, fp16, device_default };

inline const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::tf32: return "tf32";
    case Precision::fp16: return "fp16";
    case Precision::device_default: return "default";
  }
  return "?";
}

// The config spelling (precision_name's inverse); false for an unknown name.
inline bool precision_from_name(const std::string& name, Precision* out) {
  for (Precision p : {Precision::fp32, Precision::bf16, Precision::tf32, Precision::fp16, Precision::device_default})
    if (name == precision_name(p)) {
      *out = p;
      return true;
    }
  return false;
}

// Whether the precision rounds the conv operands (tf32, bf16, fp16) rather than keeping float32.
inline bool precision_rounds_operands(Precision p) {
  return p == Precision::bf16 || p == Precision::tf32 || p == Precision::fp16;
}

}  // namespace sr
