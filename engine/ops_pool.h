// max_pool2d: nn.MaxPool2d(kernel, stride) without padding, floor mode; the pooling of
// the VGG19 feature extractor (2x2, stride 2). The gradient goes to each window's max.
#pragma once
#include "engine/tensor.h"

namespace sr {

Tensor max_pool2d(const Tensor& x, int kernel = 2, int stride = 2);

}  // namespace sr
