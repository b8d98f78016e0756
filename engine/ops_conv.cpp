// conv2d and linear: shape checks, kernels, and their autograd nodes.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/upsample_nearest2x_conv2d.h"

namespace sr {

namespace {

// NCHW with unit stride inside each image's (C, H, W) block; the batch stride is free,
// which is what a channel-range view of a larger activation buffer looks like.
bool conv_readable(const Tensor& x) {
  const int64_t H = x.size(2), W = x.size(3);
  return (x.size(3) == 1 || x.stride(3) == 1) && (x.size(2) == 1 || x.stride(2) == W) &&
         (x.size(1) == 1 || x.stride(1) == H * W);
}

Conv2dShape conv_shape(const Tensor& x, const Tensor& w, int stride, int padding) {
  Conv2dShape s = make_conv2d_shape(x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2),
                                              w.size(3), stride, padding);
  if (x.size(0) > 1) s.x_batch_stride = x.stride(0);  // a channel-range view
  return s;
}

// The argument checks of conv2d and upsample_nearest2x_conv2d (`upsampled`: the convolution
// reads x through a nearest x2 upsampling, so its input is 2H x 2W).
void check_conv_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, int padding,
                     bool upsampled) {
  check_dim(op, x, 4, "input");
  check_dim(op, weight, 4, "weight");
  check_same_device_dtype(op, x, weight);
  SR_CHECK(weight.is_contiguous(), op, ": weight ", weight.str(), " must be contiguous");
  SR_CHECK(x.size(1) == weight.size(1), op, ": input ", x.shape().str(), " has ", x.size(1),
           " channels but weight ", weight.shape().str(), " expects ", weight.size(1));
  SR_CHECK(weight.size(2) >= 1 && weight.size(2) <= 7 && weight.size(3) >= 1 && weight.size(3) <= 7, op,
           ": kernel size must be 1..7, weight is ", weight.shape().str());
  SR_CHECK(padding >= 0 && padding < weight.size(2) && padding < weight.size(3), op, ": padding ", padding,
           " invalid for weight ", weight.shape().str());
  const int64_t f = upsampled ? 2 : 1;
  SR_CHECK(f * x.size(2) + 2 * padding >= weight.size(2) && f * x.size(3) + 2 * padding >= weight.size(3), op, ": ",
           upsampled ? "upsampled input of " : "input ", x.shape().str(), " is smaller than kernel ",
           weight.shape().str(), " with padding ", padding);
  if (bias.defined()) {
    check_same_device_dtype(op, x, bias);
    SR_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), op, ": bias ", bias.shape().str(),
             " does not match weight ", weight.shape().str());
  }
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& weight, const Tensor& bias, int stride, int padding,
              const kernels::KernelChoice& choice, Precision precision) {
  SR_CHECK(stride == 1 || stride == 2, "conv2d: stride must be 1 or 2, got ", stride);
  check_conv_args("conv2d", x_in, weight, bias, padding, /*upsampled=*/false);
  Tensor x = conv_readable(x_in) ? x_in : x_in.contiguous();
  Conv2dShape s = conv_shape(x, weight, stride, padding);
  s.precision = precision;
  Tensor y = Tensor::empty({s.N, s.K, s.P, s.Q}, x.dtype(), x.device());
  Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  // The CUDA variant of the precision (kernel_choice.h); the backward runs the same one. The
  // CPU kernels read s.precision (float64 ignores it: gradient checks stay exact).
  [[maybe_unused]] const kernels::ConvVariant v =
      x.device().is_cpu() ? choice.conv2d : kernels::conv_variant_for_precision(choice.conv2d, precision, "conv2d");
  dispatch("conv2d", x, [&](auto t) {
    using T = decltype(t);
    cpu::conv2d_forward<T>(s, x.data<T>(), weight.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                           y.data<T>());
  }, [&] {
    SR_CUDA(cuda::conv2d_forward(v, s, x.data<float>(), weight.data<float>(),
                                 bc.defined() ? bc.data<float>() : nullptr, y.data<float>()));
  });

  const bool gx = x_in.requires_grad(), gw = weight.requires_grad(),
             gb = bias.defined() && bias.requires_grad();
  Tensor xs = x.detach(), ws = weight.detach();
  return record("conv2d", y, {x_in, weight, bias}, [=](const Tensor& g) {
    Tensor dx, dw, db;
    if (gx) dx = Tensor::empty({s.N, s.C, s.H, s.W}, g.dtype(), g.device());
    if (gw) dw = Tensor::zeros(ws.shape(), g.dtype(), g.device());
    if (gb) db = Tensor::zeros({s.K}, g.dtype(), g.device());
    dispatch("conv2d_backward", g, [&](auto t) {
      using T = decltype(t);
      if (gx) cpu::conv2d_backward_data<T>(s, g.data<T>(), ws.data<T>(), dx.data<T>());
      if (gw || gb)
        cpu::conv2d_backward_weight<T>(s, xs.data<T>(), g.data<T>(), gw ? dw.data<T>() : nullptr,
                                       gb ? db.data<T>() : nullptr);
    }, [&] {
      if (gx) SR_CUDA(cuda::conv2d_backward_data(v, s, g.data<float>(), ws.data<float>(), dx.data<float>()));
      if (gw || gb)
        SR_CUDA(cuda::conv2d_backward_weight(v, s, xs.data<float>(), g.data<float>(),
                                             gw ? dw.data<float>() : nullptr,
                                             gb ? db.data<float>() : nullptr));
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

Tensor upsample_nearest2x_conv2d(const Tensor& x_in, const Tensor& weight, const Tensor& bias, int padding,
                                 const kernels::KernelChoice& choice, Precision precision) {
  const char* op = "upsample_nearest2x_conv2d";
  check_conv_args(op, x_in, weight, bias, padding, /*upsampled=*/true);
  Tensor x = x_in.contiguous();
  Conv2dShape s = cpu::make_upsample_nearest2x_conv2d_shape(
      x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3), padding);
  s.precision = precision;
  Tensor y = Tensor::empty({s.N, s.K, s.P, s.Q}, x.dtype(), x.device());
  Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  [[maybe_unused]] const kernels::ConvVariant v =
      x.device().is_cpu() ? choice.conv2d : kernels::conv_variant_for_precision(choice.conv2d, precision, op);
  dispatch(op, x, [&](auto t) {
    using T = decltype(t);
    cpu::upsample_nearest2x_conv2d_forward<T>(s, x.data<T>(), weight.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                                              y.data<T>());
  }, [&] {
    SR_CUDA(cuda::upsample_nearest2x_conv2d_forward(v, s, x.data<float>(), weight.data<float>(),
                                                    bc.defined() ? bc.data<float>() : nullptr, y.data<float>()));
  });

  // Saved for the backward: x at its own size (not the 4x larger upsampled tensor).
  const bool gx = x_in.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  Tensor xs = x.detach(), ws = weight.detach();
  return record(op, y, {x_in, weight, bias}, [=](const Tensor& g_in) {
    Tensor g = g_in.contiguous();
    Tensor dx, dw, db;
    if (gx) dx = Tensor::empty(xs.shape(), g.dtype(), g.device());
    if (gw) dw = Tensor::zeros(ws.shape(), g.dtype(), g.device());
    if (gb) db = Tensor::zeros({s.K}, g.dtype(), g.device());
    dispatch("upsample_nearest2x_conv2d_backward", g, [&](auto t) {
      using T = decltype(t);
      if (gx) cpu::upsample_nearest2x_conv2d_backward_data<T>(s, g.data<T>(), ws.data<T>(), dx.data<T>());
      if (gw || gb)
        cpu::upsample_nearest2x_conv2d_backward_weight<T>(s, xs.data<T>(), g.data<T>(), gw ? dw.data<T>() : nullptr,
                                                          gb ? db.data<T>() : nullptr);
    }, [&] {
      if (gx)
        SR_CUDA(cuda::upsample_nearest2x_conv2d_backward_data(v, s, g.data<float>(), ws.data<float>(),
                                                              dx.data<float>()));
      if (gw || gb)
        SR_CUDA(cuda::upsample_nearest2x_conv2d_backward_weight(v, s, xs.data<float>(), g.data<float>(),
                                                                gw ? dw.data<float>() : nullptr,
                                                                gb ? db.data<float>() : nullptr));
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

Tensor linear(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const kernels::KernelChoice& choice) {
  check_dim("linear", x_in, 2, "input");
  check_dim("linear", weight, 2, "weight");
  check_same_device_dtype("linear", x_in, weight);
  SR_CHECK(x_in.size(1) == weight.size(1), "linear: input ", x_in.shape().str(),
           " does not match weight ", weight.shape().str());
  const int64_t N = x_in.size(0), In = x_in.size(1), Out = weight.size(0);
  if (bias.defined())
    SR_CHECK(bias.dim() == 1 && bias.size(0) == Out, "linear: bias ", bias.shape().str(),
             " does not match weight ", weight.shape().str());
  Tensor x = x_in.contiguous(), w = weight.contiguous();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty({N, Out}, x.dtype(), x.device());
  [[maybe_unused]] const kernels::GemmVariant v = choice.gemm;  // the backward runs the same variant
  dispatch("linear", x, [&](auto t) {
    using T = decltype(t);
    // The bias goes on after the whole sum, in the GEMM's store for float32 (a separate pass over
    // y had cost 2% of SwinIR's inference, and ran on one thread).
    if (b.defined())
      cpu::gemm_bias<T>(false, true, N, Out, In, x.data<T>(), In, w.data<T>(), In, y.data<T>(), Out, false,
                        b.data<T>());
    else
      cpu::gemm<T>(false, true, N, Out, In, x.data<T>(), In, w.data<T>(), In, y.data<T>(), Out, false);
  }, [&] {
    SR_CUDA(cuda::linear_forward(v, x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr,
                                 y.data<float>(), N, In, Out));
  });
  const bool gx = x_in.requires_grad(), gw = weight.requires_grad(),
             gb = bias.defined() && bias.requires_grad();
  Tensor xs = x.detach(), ws = w.detach();
  return record("linear", y, {x_in, weight, bias}, [=](const Tensor& g) {
    Tensor dx, dw, db;
    dispatch("linear_backward", g, [&](auto t) {
      using T = decltype(t);
      if (gx) {
        dx = Tensor::empty({N, In}, g.dtype(), g.device());
        cpu::gemm<T>(false, false, N, In, Out, g.data<T>(), Out, ws.data<T>(), In, dx.data<T>(), In, false);
      }
      if (gw) {
        dw = Tensor::empty({Out, In}, g.dtype(), g.device());
        cpu::gemm<T>(true, false, Out, In, N, g.data<T>(), Out, xs.data<T>(), In, dw.data<T>(), In, false);
      }
      if (gb) {
        db = Tensor::zeros({Out}, g.dtype(), g.device());
        T* dbp = db.data<T>();
        const T* gp = g.data<T>();
        for (int64_t n = 0; n < N; ++n)
          for (int64_t o = 0; o < Out; ++o) dbp[o] += gp[n * Out + o];
      }
    }, [&] {
      if (gx) dx = Tensor::empty({N, In}, g.dtype(), g.device());
      if (gw) dw = Tensor::empty({Out, In}, g.dtype(), g.device());
      if (gb) db = Tensor::zeros({Out}, g.dtype(), g.device());
      SR_CUDA(cuda::linear_backward(v, g.data<float>(), xs.data<float>(), ws.data<float>(),
                                    gx ? dx.data<float>() : nullptr, gw ? dw.data<float>() : nullptr,
                                    gb ? db.data<float>() : nullptr, N, In, Out));
    });
    return std::vector<Tensor>{dx, dw, db};
  });
}

}  // namespace sr
