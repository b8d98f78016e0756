// max_pool2d op: checks, kernel dispatch, autograd node (saves the argmax indices: int64 in
// host memory for the CPU, int32 in device memory for CUDA, so nothing crosses PCIe).
#include "engine/ops_pool.h"

#include <memory>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/storage.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/pool.h"

namespace sr {

Tensor max_pool2d(const Tensor& x_in, int kernel, int stride) {
  check_dim("max_pool2d", x_in, 4, "input");
  SR_CHECK(kernel >= 1 && stride >= 1, "max_pool2d: kernel ", kernel, " and stride ", stride,
           " must be >= 1");
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  SR_CHECK(H >= kernel && W >= kernel, "max_pool2d: input ", x_in.shape().str(),
           " is smaller than the ", kernel, "x", kernel, " window");
  const int64_t P = (H - kernel) / stride + 1, Q = (W - kernel) / stride + 1;
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({N, C, P, Q}, x.dtype(), x.device());
  const int64_t n = N * C * P * Q;
  std::shared_ptr<std::vector<int64_t>> argmax;  // CPU
  std::shared_ptr<Storage> argmax_dev;           // CUDA, simt: n int32 on x's device
  if (!x.device().is_cpu())
    argmax_dev = std::make_shared<Storage>(n * sizeof(int32_t), x.device());
  else
    argmax = std::make_shared<std::vector<int64_t>>(n);
  dispatch("max_pool2d", x, [&](auto t) {
    using T = decltype(t);
    cpu::max_pool2d_forward<T>(x.data<T>(), y.data<T>(), argmax->data(), N * C, H, W, kernel, stride);
  }, [&] {
    SR_CUDA(cuda::max_pool2d_forward(x.data<float>(), y.data<float>(), static_cast<int32_t*>(argmax_dev->data()),
                                     N * C, H, W, kernel, stride));
  });
  return record("max_pool2d", y, {x_in}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty({N, C, H, W}, g.dtype(), g.device());
    dispatch("max_pool2d_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::max_pool2d_backward<T>(g.data<T>(), argmax->data(), dx.data<T>(), N * C, H, W, P, Q);
    }, [&] {
      SR_CUDA(cuda::max_pool2d_backward(g.data<float>(), static_cast<const int32_t*>(argmax_dev->data()),
                                        dx.data<float>(), N * C, H, W, P, Q, kernel, stride));
    });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace sr
