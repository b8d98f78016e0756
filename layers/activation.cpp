// Activation modules (see activation.h).
#include "layers/activation.h"

#include "engine/ops.h"
#include "engine/ops_prelu.h"

namespace sr {

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope); }

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

PReLU::PReLU(int64_t num_parameters, double init) {
  SR_CHECK(num_parameters > 0, "PReLU: num_parameters must be > 0, got ", num_parameters);
  weight = register_parameter("weight", Tensor::full({num_parameters}, init));
}

Tensor PReLU::forward(const Tensor& x) { return prelu(x, weight); }

}  // namespace sr
