// LayerNorm: nn.LayerNorm(dim) over the last dim of its input, with PyTorch's parameter names
// (weight initialised to 1, bias to 0) and eps 1e-5; the op is layer_norm (engine/ops_transformer.h).
#pragma once
#include "layers/module.h"

namespace sr {

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);
  std::string type_name() const override { return "LayerNorm"; }
  Tensor forward(const Tensor& x) override;  // x (..., dim)

  Tensor weight;  // (dim)
  Tensor bias;    // (dim)
  double eps;
};

}  // namespace sr
