// LayerNorm (see layer_norm.h).
#include "layers/layer_norm.h"

#include "engine/ops_transformer.h"

namespace sr {

LayerNorm::LayerNorm(int64_t dim, double eps_) : eps(eps_) {
  SR_CHECK(dim > 0, "LayerNorm: invalid size ", dim);
  weight = register_parameter("weight", Tensor::ones({dim}));
  bias = register_parameter("bias", Tensor::zeros({dim}));
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias, eps); }

}  // namespace sr
