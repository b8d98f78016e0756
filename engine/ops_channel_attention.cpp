// The channel attention ops spatial_mean and channel_scale (engine/ops.h): checks, kernel
// dispatch, autograd nodes. Together with two 1x1 convs and a sigmoid they are RCAN's CALayer,
// y = x * sigmoid(W2 relu(W1 mean_hw(x))), without the full-size broadcast map a composition of
// generic ops keeps for the backward: spatial_mean saves nothing, channel_scale saves x and s.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/channel_attention.h"
#include "kernels/cuda/channel_attention.h"

namespace sr {

Tensor spatial_mean(const Tensor& x_in) {
  check_dim("spatial_mean", x_in, 4, "input");
  const int64_t N = x_in.size(0), C = x_in.size(1), HW = x_in.size(2) * x_in.size(3);
  SR_CHECK(HW > 0, "spatial_mean: input ", x_in.shape().str(), " has no pixels to average");
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({N, C, 1, 1}, x.dtype(), x.device());
  dispatch("spatial_mean", x, [&](auto t) {
    using T = decltype(t);
    cpu::spatial_mean_forward<T>(x.data<T>(), y.data<T>(), N * C, HW);
  }, [&] { SR_CUDA(cuda::spatial_mean_forward(x.data<float>(), y.data<float>(), N * C, HW)); });
  const Shape shape = x.shape();
  return record("spatial_mean", y, {x_in}, [shape, N, C, HW](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty(shape, g.dtype(), g.device());
    dispatch("spatial_mean_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::spatial_mean_backward<T>(g.data<T>(), dx.data<T>(), N * C, HW);
    }, [&] { SR_CUDA(cuda::spatial_mean_backward(g.data<float>(), dx.data<float>(), N * C, HW)); });
    return std::vector<Tensor>{dx};
  });
}

Tensor channel_scale(const Tensor& x_in, const Tensor& s_in) {
  check_dim("channel_scale", x_in, 4, "input");
  check_dim("channel_scale", s_in, 4, "scale");
  check_same_device_dtype("channel_scale", x_in, s_in);
  const int64_t N = x_in.size(0), C = x_in.size(1), HW = x_in.size(2) * x_in.size(3);
  SR_CHECK(s_in.size(0) == N && s_in.size(1) == C && s_in.size(2) == 1 && s_in.size(3) == 1,
           "channel_scale: scale ", s_in.shape().str(), " must be (", N, ", ", C, ", 1, 1) for input ",
           x_in.shape().str());
  const Tensor x = x_in.contiguous(), s = s_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch("channel_scale", x, [&](auto t) {
    using T = decltype(t);
    cpu::channel_scale_forward<T>(x.data<T>(), s.data<T>(), y.data<T>(), N * C, HW);
  }, [&] { SR_CUDA(cuda::channel_scale_forward(x.data<float>(), s.data<float>(), y.data<float>(), N * C, HW)); });
  const bool gx = x_in.requires_grad(), gs = s_in.requires_grad();
  const Tensor xs = x.detach(), ss = s.detach();
  return record("channel_scale", y, {x_in, s_in}, [xs, ss, gx, gs, N, C, HW](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx, ds;
    if (gx) dx = Tensor::empty(xs.shape(), g.dtype(), g.device());
    if (gs) ds = Tensor::empty(ss.shape(), g.dtype(), g.device());
    dispatch("channel_scale_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::channel_scale_backward<T>(xs.data<T>(), ss.data<T>(), g.data<T>(), gx ? dx.data<T>() : nullptr,
                                     gs ? ds.data<T>() : nullptr, N * C, HW);
    }, [&] {
      SR_CUDA(cuda::channel_scale_backward(xs.data<float>(), ss.data<float>(), g.data<float>(),
                                           gx ? dx.data<float>() : nullptr, gs ? ds.data<float>() : nullptr, N * C,
                                           HW));
    });
    return std::vector<Tensor>{dx, ds};
  });
}

}  // namespace sr
