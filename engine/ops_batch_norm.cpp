// batch_norm op: checks, statistics, running-stat update, autograd node.
#include "engine/ops_batch_norm.h"

#include <cmath>
#include <memory>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cuda/batch_norm.h"

namespace sr {

namespace {

void check_channel_vector(const char* what, const Tensor& t, const Tensor& x) {
  if (!t.defined()) return;
  SR_CHECK(t.dim() == 1 && t.size(0) == x.size(1), "batch_norm: ", what, " ", t.shape().str(),
           " does not match the ", x.size(1), " channels of input ", x.shape().str());
  check_same_device_dtype("batch_norm", x, t);
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum, double eps) {
  check_dim("batch_norm", x_in, 4, "input");
  check_channel_vector("weight", weight, x_in);
  check_channel_vector("bias", bias, x_in);
  check_channel_vector("running_mean", running_mean, x_in);
  check_channel_vector("running_var", running_var, x_in);
  SR_CHECK(training || (running_mean.defined() && running_var.defined()),
           "batch_norm: eval mode needs running_mean and running_var");
  SR_CHECK(running_mean.defined() == running_var.defined(),
           "batch_norm: running_mean and running_var must both be given or both be undefined");
  const int64_t N = x_in.size(0), C = x_in.size(1), HW = x_in.size(2) * x_in.size(3);
  const int64_t M = N * HW;
  SR_CHECK(!training || M > 1, "batch_norm: training needs more than 1 value per channel, input is ",
           x_in.shape().str());
  Tensor x = x_in.contiguous();
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  // The statistics the backward reads: host doubles for the CPU kernels; on a GPU (or simt)
  // 2C doubles on the device, so that nothing is read back.
  auto mean = std::make_shared<std::vector<double>>(x.device().is_cpu() ? C : 0);
  auto invstd = std::make_shared<std::vector<double>>(x.device().is_cpu() ? C : 0);
  const Tensor dev_stats = x.device().is_cpu() ? Tensor() : Tensor::empty({2 * C}, DType::f64, x.device());
  std::vector<double> var(C);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch("batch_norm", x, [&](auto t) {
    using T = decltype(t);
    if (training) {
      cpu::batch_norm_stats<T>(x.data<T>(), N, C, HW, mean->data(), var.data());
      if (running_mean.defined()) {
        SR_CHECK(running_mean.is_contiguous() && running_var.is_contiguous(),
                 "batch_norm: running statistics must be contiguous");
        T* rm = running_mean.data<T>();
        T* rv = running_var.data<T>();
        for (int64_t c = 0; c < C; ++c) {
          rm[c] = T((1 - momentum) * rm[c] + momentum * (*mean)[c]);
          rv[c] = T((1 - momentum) * rv[c] + momentum * var[c] * double(M) / double(M - 1));
        }
      }
    } else {
      const Tensor rm = running_mean.contiguous(), rv = running_var.contiguous();
      for (int64_t c = 0; c < C; ++c) {
        (*mean)[c] = rm.data<T>()[c];
        var[c] = rv.data<T>()[c];
      }
    }
    for (int64_t c = 0; c < C; ++c) (*invstd)[c] = 1.0 / std::sqrt(var[c] + eps);
    cpu::batch_norm_apply<T>(x.data<T>(), mean->data(), invstd->data(), w.defined() ? w.data<T>() : nullptr,
                             b.defined() ? b.data<T>() : nullptr, y.data<T>(), N, C, HW);
  }, [&] {
    SR_CHECK(!running_mean.defined() || (running_mean.is_contiguous() && running_var.is_contiguous()),
             "batch_norm: running statistics must be contiguous");
    SR_CUDA(cuda::batch_norm_forward(x.data<float>(), w.defined() ? w.data<float>() : nullptr,
                                     b.defined() ? b.data<float>() : nullptr, y.data<float>(),
                                     running_mean.defined() ? running_mean.data<float>() : nullptr,
                                     running_var.defined() ? running_var.data<float>() : nullptr, N, C,
                                     HW, training, momentum, eps, dev_stats.data<double>(),
                                     dev_stats.data<double>() + C));
  });

  const bool gx = x_in.requires_grad(), gw = weight.defined() && weight.requires_grad(),
             gb = bias.defined() && bias.requires_grad();
  Tensor xs = x.detach(), ws = w.defined() ? w.detach() : Tensor();
  return record("batch_norm", y, {x_in, weight, bias}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    Tensor dx = gx ? Tensor::empty(xs.shape(), g.dtype(), g.device()) : Tensor();
    Tensor dw = gw ? Tensor::zeros({C}, g.dtype(), g.device()) : Tensor();
    Tensor db = gb ? Tensor::zeros({C}, g.dtype(), g.device()) : Tensor();
    dispatch("batch_norm_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::batch_norm_backward<T>(xs.data<T>(), g.data<T>(), mean->data(), invstd->data(),
                                  ws.defined() ? ws.data<T>() : nullptr, gx ? dx.data<T>() : nullptr,
                                  gw ? dw.data<T>() : nullptr, gb ? db.data<T>() : nullptr, N, C, HW,
                                  training);
    }, [&] {
      SR_CUDA(cuda::batch_norm_backward(xs.data<float>(), g.data<float>(), dev_stats.data<double>(),
                                        dev_stats.data<double>() + C,
                                        ws.defined() ? ws.data<float>() : nullptr,
                                        gx ? dx.data<float>() : nullptr, gw ? dw.data<float>() : nullptr,
                                        gb ? db.data<float>() : nullptr, N, C, HW, training));
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace sr
