// layer_norm (engine/ops_transformer.h): checks, kernel dispatch, autograd node. The forward
// keeps each row's mean and 1/std (M values each, as PyTorch's native_layer_norm does), so
// the backward reads x, dy and those instead of recomputing the statistics.
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/cuda/layer_norm.h"

namespace sr {

Tensor layer_norm(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, double eps) {
  SR_CHECK(x_in.defined(), "layer_norm: undefined input");
  SR_CHECK(x_in.dim() >= 2, "layer_norm: input must have at least 2 dims (rows of C), got ", x_in.shape().str());
  SR_CHECK(std::isfinite(eps) && eps >= 0, "layer_norm: eps must be finite and >= 0, got ", eps);
  const int64_t C = x_in.size(x_in.dim() - 1);
  SR_CHECK(C > 0, "layer_norm: input ", x_in.shape().str(), " has no values to normalise over");
  const int64_t M = x_in.numel() / C;
  for (const auto& [t, what] : {std::pair<const Tensor*, const char*>{&w_in, "weight"}, {&b_in, "bias"}}) {
    if (!t->defined()) continue;
    check_dim("layer_norm", *t, 1, what);
    SR_CHECK(t->size(0) == C, "layer_norm: ", what, " ", t->shape().str(), " must be (", C, ") for input ",
             x_in.shape().str());
    check_same_device_dtype("layer_norm", x_in, *t);
  }
  const Tensor x = x_in.contiguous();
  const Tensor w = w_in.defined() ? w_in.contiguous() : Tensor(), b = b_in.defined() ? b_in.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({M}, x.dtype(), x.device()), rstd = Tensor::empty({M}, x.dtype(), x.device());
  dispatch("layer_norm", x, [&](auto t) {
    using T = decltype(t);
    cpu::layer_norm_forward<T>(x.data<T>(), w.defined() ? w.data<T>() : nullptr, b.defined() ? b.data<T>() : nullptr,
                               y.data<T>(), mean.data<T>(), rstd.data<T>(), M, C, eps);
  }, [&] {
    SR_CUDA(cuda::layer_norm_forward(x.data<float>(), w.defined() ? w.data<float>() : nullptr,
                                     b.defined() ? b.data<float>() : nullptr, y.data<float>(), mean.data<float>(),
                                     rstd.data<float>(), M, C, eps));
  });
  const bool gx = x_in.requires_grad(), gw = w_in.defined() && w_in.requires_grad(),
             gb = b_in.defined() && b_in.requires_grad();
  const Tensor xs = x.detach(), ws = w.defined() ? w.detach() : Tensor();
  return record("layer_norm", y, {x_in, w_in, b_in}, [=](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx, dw, db;
    if (gx) dx = Tensor::empty(xs.shape(), g.dtype(), g.device());
    if (gw) dw = Tensor::empty({C}, g.dtype(), g.device());
    if (gb) db = Tensor::empty({C}, g.dtype(), g.device());
    dispatch("layer_norm_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::layer_norm_backward<T>(xs.data<T>(), ws.defined() ? ws.data<T>() : nullptr, mean.data<T>(), rstd.data<T>(),
                                  g.data<T>(), gx ? dx.data<T>() : nullptr, gw ? dw.data<T>() : nullptr,
                                  gb ? db.data<T>() : nullptr, M, C);
    }, [&] {
      SR_CUDA(cuda::layer_norm_backward(xs.data<float>(), ws.defined() ? ws.data<float>() : nullptr,
                                        mean.data<float>(), rstd.data<float>(), g.data<float>(),
                                        gx ? dx.data<float>() : nullptr, gw ? dw.data<float>() : nullptr,
                                        gb ? db.data<float>() : nullptr, M, C));
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace sr
