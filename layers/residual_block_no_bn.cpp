// BasicSR's ResidualBlockNoBN (see residual_block_no_bn.h).
#include "layers/residual_block_no_bn.h"

#include "engine/ops.h"
#include "layers/rrdb.h"

namespace sr {

ResidualBlockNoBN::ResidualBlockNoBN(int64_t nf, double res_scale_, const LayerOptions& options)
    : res_scale(res_scale_) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(nf, nf, 3, 1, 1, true, options));
  // BasicSR's ResidualBlockNoBN (pytorch_init False): kaiming normal scaled by 0.1, zero bias, so
  // that each block starts near the identity.
  scaled_kaiming_init_(*conv1, 0.1);
  scaled_kaiming_init_(*conv2, 0.1);
}

Tensor ResidualBlockNoBN::forward(const Tensor& x) {
  Tensor out = conv2->forward(relu(conv1->forward(x)));
  return res_scale == 1.0 ? add(x, out) : axpby(1.0, x, res_scale, out);
}

}  // namespace sr
