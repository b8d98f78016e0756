// prelu op: checks, kernel dispatch, autograd node.
#include "engine/ops_prelu.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/prelu.h"
#include "kernels/cuda/prelu.h"

namespace sr {

Tensor prelu(const Tensor& x_in, const Tensor& weight) {
  check_dim("prelu", x_in, 4, "input");
  check_dim("prelu", weight, 1, "weight");
  check_same_device_dtype("prelu", x_in, weight);
  const int64_t N = x_in.size(0), C = x_in.size(1), HW = x_in.size(2) * x_in.size(3);
  const bool shared = weight.size(0) == 1;
  SR_CHECK(shared || weight.size(0) == C, "prelu: weight ", weight.shape().str(),
           " must have 1 or ", C, " entries for input ", x_in.shape().str());
  Tensor x = x_in.contiguous(), a = weight.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch("prelu", x, [&](auto t) {
    using T = decltype(t);
    cpu::prelu_forward<T>(x.data<T>(), a.data<T>(), y.data<T>(), N, C, HW, shared);
  }, [&] {
    SR_CUDA(cuda::prelu_forward(x.data<float>(), a.data<float>(), y.data<float>(), N, C, HW, shared));
  });
  const bool gx = x_in.requires_grad(), ga = weight.requires_grad();
  Tensor xs = x.detach(), as = a.detach();
  return record("prelu", y, {x_in, weight}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    Tensor dx = gx ? Tensor::empty(xs.shape(), g.dtype(), g.device()) : Tensor();
    Tensor da = ga ? Tensor::zeros(as.shape(), g.dtype(), g.device()) : Tensor();
    dispatch("prelu_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::prelu_backward<T>(xs.data<T>(), as.data<T>(), g.data<T>(), gx ? dx.data<T>() : nullptr,
                             ga ? da.data<T>() : nullptr, N, C, HW, shared);
    }, [&] {
      SR_CUDA(cuda::prelu_backward(xs.data<float>(), as.data<float>(), g.data<float>(),
                                   gx ? dx.data<float>() : nullptr, ga ? da.data<float>() : nullptr,
                                   N, C, HW, shared));
    });
    return std::vector<Tensor>{dx, da};
  });
}

}  // namespace sr
