// Test-time augmentation (realesrgan-ncnn-vulkan's -x): the net runs on the 8 flips and
// rotations of its input (the dihedral group of the square), each result is turned back,
// and the 8 are averaged. A net that is itself symmetric under these transforms gives its
// plain output; a trained one usually gains a little PSNR for 8x the work.
#pragma once
#include <functional>

#include "engine/tensor.h"

namespace sr::infer {

constexpr int kDihedralTransforms = 8;

// Transform k of a (1, C, H, W) float32 CPU tensor, k in 0..7: bit 0 flips left-right,
// bit 1 flips top-bottom, bit 2 then transposes H and W (so k = 4..7 give (1, C, W, H)).
Tensor dihedral_transform(const Tensor& x, int k);
// Its inverse: dihedral_inverse(dihedral_transform(x, k), k) == x.
Tensor dihedral_inverse(const Tensor& y, int k);

// mean over k of dihedral_inverse(fn(dihedral_transform(x, k)), k); fn maps (1, C, h, w) CPU
// float32 to (1, C', s h, s w) CPU float32.
Tensor tta_apply(const Tensor& x, const std::function<Tensor(const Tensor&)>& fn);

}  // namespace sr::infer
