// Reductions and losses: deterministic sums (kernels/cpu/loss.h) and their gradients.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/loss.h"
#include "kernels/cuda/loss.h"

namespace sr {

namespace {

using math::PointLoss;

// scale * sum_i point_loss(x_i, t_i) as a one-element tensor (shape [1]), with a node
// that gives dx = g * scale * point_loss'(x, t) and dt = -dx.
Tensor pointwise_loss(const char* op, PointLoss kind, const Tensor& x_in, const Tensor& t_in,
                      double param, double scale) {
  SR_CHECK(x_in.defined(), op, ": undefined input");
  if (t_in.defined()) check_same_shape(op, x_in, t_in);
  SR_CHECK(x_in.numel() > 0, op, ": empty input ", x_in.str());
  Tensor x = x_in.contiguous();
  Tensor t = t_in.defined() ? t_in.contiguous() : Tensor();
  // On CUDA the loss is written on the device and its gradient read there: a training step
  // does not wait on the GPU for its losses (the trainer reads them when it logs).
  Tensor y;
  dispatch(op, x, [&](auto tag) {
    using T = decltype(tag);
    const double total = cpu::loss_sum<T>(kind, x.data<T>(), t.defined() ? t.data<T>() : nullptr, x.numel(), param);
    y = Tensor::full({1}, total * scale, x.dtype(), x.device());
  }, [&] {
    y = Tensor::empty({1}, x.dtype(), x.device());
    SR_CUDA(cuda::loss_sum(kind, x.data<float>(), t.defined() ? t.data<float>() : nullptr, x.numel(), param,
                           scale, y.data<float>()));
  });
  const bool gx = x_in.requires_grad(), gt = t.defined() && t_in.requires_grad();
  Tensor xs = x.detach(), ts = t.defined() ? t.detach() : Tensor();
  return record(op, y, {x_in, t_in}, [=](const Tensor& g_in) {
    Tensor dx = gx ? Tensor::empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
    Tensor dt = gt ? Tensor::empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
    dispatch(op, xs, [&](auto tag) {
      using T = decltype(tag);
      const double gscale = g_in.item() * scale;
      cpu::loss_backward<T>(kind, xs.data<T>(), ts.defined() ? ts.data<T>() : nullptr,
                            dx.defined() ? dx.data<T>() : nullptr,
                            dt.defined() ? dt.data<T>() : nullptr, xs.numel(), param, gscale);
    }, [&] {
      const Tensor g = g_in.contiguous();
      SR_CUDA(cuda::loss_backward(kind, xs.data<float>(), ts.defined() ? ts.data<float>() : nullptr,
                                  dx.defined() ? dx.data<float>() : nullptr,
                                  dt.defined() ? dt.data<float>() : nullptr, xs.numel(), param,
                                  g.data<float>(), scale));
    });
    return std::vector<Tensor>{dx, dt};
  });
}

double inv_numel(const Tensor& x) {
  SR_CHECK(x.defined() && x.numel() > 0, "mean: empty input");
  return 1.0 / (double)x.numel();
}

}  // namespace

Tensor sum(const Tensor& x) { return pointwise_loss("sum", PointLoss::identity, x, Tensor(), 0, 1.0); }
Tensor mean(const Tensor& x) {
  return pointwise_loss("mean", PointLoss::identity, x, Tensor(), 0, inv_numel(x));
}
Tensor l1_loss(const Tensor& p, const Tensor& t) {
  return pointwise_loss("l1_loss", PointLoss::abs_diff, p, t, 0, inv_numel(p));
}
Tensor mse_loss(const Tensor& p, const Tensor& t) {
  return pointwise_loss("mse_loss", PointLoss::sq_diff, p, t, 0, inv_numel(p));
}
Tensor charbonnier_loss(const Tensor& p, const Tensor& t, double eps) {
  SR_CHECK(eps > 0, "charbonnier_loss: eps must be > 0, got ", eps);
  return pointwise_loss("charbonnier_loss", PointLoss::charbonnier, p, t, eps, inv_numel(p));
}
Tensor bce_with_logits(const Tensor& logits, double target) {
  SR_CHECK(target >= 0 && target <= 1, "bce_with_logits: target must be in [0, 1], got ", target);
  return pointwise_loss("bce_with_logits", PointLoss::bce, logits, Tensor(), target, inv_numel(logits));
}
Tensor hinge_real_loss(const Tensor& x) {
  return pointwise_loss("hinge_real_loss", PointLoss::hinge_real, x, Tensor(), 0, inv_numel(x));
}
Tensor hinge_fake_loss(const Tensor& x) {
  return pointwise_loss("hinge_fake_loss", PointLoss::hinge_fake, x, Tensor(), 0, inv_numel(x));
}
Tensor hinge_generator_loss(const Tensor& x) {
  return pointwise_loss("hinge_generator_loss", PointLoss::identity, x, Tensor(), 0, -inv_numel(x));
}

}  // namespace sr
