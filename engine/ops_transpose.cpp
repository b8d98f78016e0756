// transpose (engine/ops_transformer.h): torch.transpose(x, 1, 2) of a 3-d tensor as a copy
// (SwinIR's PatchEmbed / PatchUnEmbed layout change); its backward is the same transpose of
// the gradient. Kernels: kernels/{cpu,cuda}/transpose_tokens.h.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/transpose_tokens.h"
#include "kernels/cuda/transpose_tokens.h"

namespace sr {

Tensor transpose(const Tensor& x_in, int dim0, int dim1) {
  check_dim("transpose", x_in, 3, "input");
  SR_CHECK((dim0 == 1 && dim1 == 2) || (dim0 == 2 && dim1 == 1), "transpose: dims (", dim0, ", ", dim1,
           ") are not supported: only dims 1 and 2 of a 3-d tensor, got input ", x_in.shape().str());
  const int64_t B = x_in.size(0), M = x_in.size(1), N = x_in.size(2);
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({B, N, M}, x.dtype(), x.device());
  dispatch("transpose", x, [&](auto t) {
    using T = decltype(t);
    cpu::transpose_forward<T>(x.data<T>(), y.data<T>(), B, M, N);
  }, [&] { SR_CUDA(cuda::transpose_forward(x.data<float>(), y.data<float>(), B, M, N)); });
  return record("transpose", y, {x_in}, [B, M, N](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty({B, M, N}, g.dtype(), g.device());
    dispatch("transpose_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::transpose_backward<T>(g.data<T>(), dx.data<T>(), B, M, N);
    }, [&] { SR_CUDA(cuda::transpose_backward(g.data<float>(), dx.data<float>(), B, M, N)); });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace sr
