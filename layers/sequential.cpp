// Sequential and MaxPool2d (see sequential.h).
#include "layers/sequential.h"

#include "engine/ops_pool.h"

namespace sr {

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& m : items_) y = m->forward(y);
  return y;
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel, stride); }

}  // namespace sr
