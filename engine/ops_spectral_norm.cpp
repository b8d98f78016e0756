// Spectral normalisation of a weight (torch.nn.utils.spectral_norm semantics, dim 0).
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/spectral_norm.h"
#include "kernels/cuda/spectral_norm.h"

namespace sr {

Tensor spectral_norm(const Tensor& weight, Tensor& u, Tensor& v, bool training,
                     int power_iterations, double eps) {
  SR_CHECK(weight.defined() && weight.dim() >= 2, "spectral_norm: weight must be at least 2-D, got ",
           weight.defined() ? weight.shape().str() : "undefined");
  const int64_t rows = weight.size(0), cols = weight.numel() / rows;
  SR_CHECK(u.defined() && u.dim() == 1 && u.size(0) == rows, "spectral_norm: u ",
           u.defined() ? u.shape().str() : "undefined", " must have length ", rows, " for weight ",
           weight.shape().str());
  SR_CHECK(v.defined() && v.dim() == 1 && v.size(0) == cols, "spectral_norm: v ",
           v.defined() ? v.shape().str() : "undefined", " must have length ", cols, " for weight ",
           weight.shape().str());
  check_same_device_dtype("spectral_norm", weight, u);
  check_same_device_dtype("spectral_norm", weight, v);
  SR_CHECK(u.is_contiguous() && v.is_contiguous(), "spectral_norm: u and v must be contiguous");
  SR_CHECK(power_iterations >= 0, "spectral_norm: power_iterations must be >= 0, got ",
           power_iterations);
  Tensor w = weight.contiguous();
  // sigma stays where the weight is: a host double for the CPU, one device double for CUDA
  // (reading it back would cost a host sync per SN layer per forward).
  double sigma = 0;
  Tensor sigma_dev;
  Tensor y;
  dispatch("spectral_norm", w, [&](auto t) {
    using T = decltype(t);
    if (training)
      cpu::spectral_norm_power_iteration<T>(w.data<T>(), u.data<T>(), v.data<T>(), rows, cols,
                                            power_iterations, eps);
    sigma = cpu::spectral_norm_sigma<T>(w.data<T>(), u.data<T>(), v.data<T>(), rows, cols);
    SR_CHECK(sigma != 0, "spectral_norm: sigma is zero for weight ", weight.shape().str());
    NoGradGuard no_grad;
    y = scale(w, 1.0 / sigma);
  }, [&] {
    // A zero sigma is not checked here (that needs the value on the host): it makes the
    // weight inf/NaN, and so the loss, which the trainer's non-finite check catches.
    if (training)
      SR_CUDA(cuda::spectral_norm_power_iteration(w.data<float>(), u.data<float>(), v.data<float>(),
                                                  rows, cols, power_iterations, eps));
    sigma_dev = Tensor::empty({1}, DType::f64, w.device());
    y = Tensor::empty(w.shape(), w.dtype(), w.device());
    SR_CUDA(cuda::spectral_norm_sigma(w.data<float>(), u.data<float>(), v.data<float>(), rows, cols,
                                      sigma_dev.data<double>()));
    SR_CUDA(cuda::spectral_norm_divide(w.data<float>(), sigma_dev.data<double>(), y.data<float>(), w.numel()));
  });

  // u and v are constants for autograd: snapshot them (they change at the next forward).
  Tensor ws = w.detach(), us = u.clone(), vs = v.clone();
  return record("spectral_norm", y, {weight}, [=](const Tensor& g) {
    Tensor dw = Tensor::empty(ws.shape(), ws.dtype(), ws.device());
    dispatch("spectral_norm_backward", ws, [&](auto t) {
      using T = decltype(t);
      cpu::spectral_norm_backward<T>(ws.data<T>(), g.data<T>(), us.data<T>(), vs.data<T>(), sigma,
                                     dw.data<T>(), rows, cols);
    }, [&] {
      SR_CUDA(cuda::spectral_norm_backward(ws.data<float>(), g.data<float>(), us.data<float>(),
                                           vs.data<float>(), sigma_dev.data<double>(), dw.data<float>(), rows,
                                           cols));
    });
    return std::vector<Tensor>{dw};
  });
}

}  // namespace sr
