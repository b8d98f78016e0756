// Elementwise ops and activations: forward kernels plus autograd nodes.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/elementwise.h"

namespace sr {

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  SR_CHECK(a.defined() && b.defined(), op, ": undefined input");
  SR_CHECK(a.shape() == b.shape(), op, ": shape mismatch, ", a.shape().str(), " vs ",
           b.shape().str());
  check_same_device_dtype(op, a, b);
}

void check_same_device_dtype(const char* op, const Tensor& a, const Tensor& b) {
  SR_CHECK(a.device() == b.device(), op, ": device mismatch, ", a.str(), " vs ", b.str());
  SR_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch, ", a.str(), " vs ", b.str());
}

void check_dim(const char* op, const Tensor& x, int ndim, const char* what) {
  SR_CHECK(x.defined(), op, ": undefined ", what);
  SR_CHECK(x.dim() == ndim, op, ": ", what, " must be ", ndim, "-D, got ", x.shape().str());
}

namespace {

Tensor empty_like(const Tensor& x) { return Tensor::empty(x.shape(), x.dtype(), x.device()); }

// y = a*x + b*z on contiguous inputs of one shape.
Tensor axpby_raw(double a, const Tensor& x, double b, const Tensor& z) {
  Tensor xc = x.contiguous(), zc = z.contiguous(), y = empty_like(x);
  dispatch("axpby", x, [&](auto t) {
    using T = decltype(t);
    cpu::axpby<T>((T)a, xc.data<T>(), (T)b, zc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::axpby((float)a, xc.data<float>(), (float)b, zc.data<float>(), y.data<float>(), y.numel())); });
  return y;
}

Tensor scale_raw(const Tensor& x, double s) {
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("scale", x, [&](auto t) {
    using T = decltype(t);
    cpu::scale<T>(xc.data<T>(), (T)s, y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::scale(xc.data<float>(), (float)s, y.data<float>(), y.numel())); });
  return y;
}

Tensor mul_raw(const Tensor& a, const Tensor& b) {
  Tensor ac = a.contiguous(), bc = b.contiguous(), y = empty_like(a);
  dispatch("mul", a, [&](auto t) {
    using T = decltype(t);
    cpu::mul<T>(ac.data<T>(), bc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::mul(ac.data<float>(), bc.data<float>(), y.data<float>(), y.numel())); });
  return y;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_same_shape("add", a, b);
  return record("add", axpby_raw(1, a, 1, b), {a, b},
                [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_same_shape("sub", a, b);
  return record("sub", axpby_raw(1, a, -1, b), {a, b},
                [](const Tensor& g) { return std::vector<Tensor>{g, scale_raw(g, -1)}; });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_same_shape("mul", a, b);
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  Tensor ad = a.detach(), bd = b.detach();
  return record("mul", mul_raw(a, b), {a, b}, [ad, bd, ga, gb](const Tensor& g) {
    return std::vector<Tensor>{ga ? mul_raw(g, bd) : Tensor(), gb ? mul_raw(g, ad) : Tensor()};
  });
}

Tensor scale(const Tensor& x, double s) {
  SR_CHECK(x.defined(), "scale: undefined input");
  return record("scale", scale_raw(x, s), {x},
                [s](const Tensor& g) { return std::vector<Tensor>{scale_raw(g, s)}; });
}

Tensor axpby(double a, const Tensor& x, double b, const Tensor& y) {
  check_same_shape("axpby", x, y);
  return record("axpby", axpby_raw(a, x, b, y), {x, y}, [a, b](const Tensor& g) {
    return std::vector<Tensor>{scale_raw(g, a), scale_raw(g, b)};
  });
}

Tensor abs(const Tensor& x) {
  SR_CHECK(x.defined(), "abs: undefined input");
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("abs", x, [&](auto t) {
    using T = decltype(t);
    cpu::abs_forward<T>(xc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::abs_forward(xc.data<float>(), y.data<float>(), y.numel())); });
  Tensor xs = xc.detach();
  return record("abs", y, {x}, [xs](const Tensor& g) {
    Tensor dx = empty_like(xs);
    dispatch("abs_backward", xs, [&](auto t) {
      using T = decltype(t);
      cpu::abs_backward<T>(xs.data<T>(), g.data<T>(), dx.data<T>(), dx.numel());
    }, [&] { SR_CUDA(cuda::abs_backward(xs.data<float>(), g.data<float>(), dx.data<float>(), dx.numel())); });
    return std::vector<Tensor>{dx};
  });
}

Tensor relu(const Tensor& x) {
  SR_CHECK(x.defined(), "relu: undefined input");
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("relu", x, [&](auto t) {
    using T = decltype(t);
    cpu::relu_forward<T>(xc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::relu_forward(xc.data<float>(), y.data<float>(), y.numel())); });
  Tensor ys = y.detach();
  return record("relu", y, {x}, [ys](const Tensor& g) {
    Tensor dx = empty_like(ys);
    dispatch("relu_backward", ys, [&](auto t) {
      using T = decltype(t);
      cpu::relu_backward<T>(ys.data<T>(), g.data<T>(), dx.data<T>(), dx.numel());
    }, [&] { SR_CUDA(cuda::relu_backward(ys.data<float>(), g.data<float>(), dx.data<float>(), dx.numel())); });
    return std::vector<Tensor>{dx};
  });
}

Tensor sigmoid(const Tensor& x) {
  SR_CHECK(x.defined(), "sigmoid: undefined input");
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("sigmoid", x, [&](auto t) {
    using T = decltype(t);
    cpu::sigmoid_forward<T>(xc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::sigmoid_forward(xc.data<float>(), y.data<float>(), y.numel())); });
  Tensor ys = y.detach();
  return record("sigmoid", y, {x}, [ys](const Tensor& g) {
    Tensor dx = empty_like(ys);
    dispatch("sigmoid_backward", ys, [&](auto t) {
      using T = decltype(t);
      cpu::sigmoid_backward<T>(ys.data<T>(), g.data<T>(), dx.data<T>(), dx.numel());
    }, [&] { SR_CUDA(cuda::sigmoid_backward(ys.data<float>(), g.data<float>(), dx.data<float>(), dx.numel())); });
    return std::vector<Tensor>{dx};
  });
}

// The exact erf GELU (engine/ops_transformer.h); its backward needs x, not the output.
Tensor gelu(const Tensor& x) {
  SR_CHECK(x.defined(), "gelu: undefined input");
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("gelu", x, [&](auto t) {
    using T = decltype(t);
    cpu::gelu_forward<T>(xc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::gelu_forward(xc.data<float>(), y.data<float>(), y.numel())); });
  Tensor xs = xc.detach();
  return record("gelu", y, {x}, [xs](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = empty_like(xs);
    dispatch("gelu_backward", xs, [&](auto t) {
      using T = decltype(t);
      cpu::gelu_backward<T>(xs.data<T>(), g.data<T>(), dx.data<T>(), dx.numel());
    }, [&] { SR_CUDA(cuda::gelu_backward(xs.data<float>(), g.data<float>(), dx.data<float>(), dx.numel())); });
    return std::vector<Tensor>{dx};
  });
}

Tensor square_root(const Tensor& x) {
  SR_CHECK(x.defined(), "square_root: undefined input");
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("square_root", x, [&](auto t) {
    using T = decltype(t);
    cpu::square_root_forward<T>(xc.data<T>(), y.data<T>(), y.numel());
  }, [&] { SR_CUDA(cuda::square_root_forward(xc.data<float>(), y.data<float>(), y.numel())); });
  Tensor ys = y.detach();
  return record("square_root", y, {x}, [ys](const Tensor& g) {
    Tensor dx = empty_like(ys);
    dispatch("square_root_backward", ys, [&](auto t) {
      using T = decltype(t);
      cpu::square_root_backward<T>(ys.data<T>(), g.data<T>(), dx.data<T>(), dx.numel());
    }, [&] {
      SR_CUDA(cuda::square_root_backward(ys.data<float>(), g.data<float>(), dx.data<float>(), dx.numel()));
    });
    return std::vector<Tensor>{dx};
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  SR_CHECK(x.defined(), "leaky_relu: undefined input");
  SR_CHECK(slope > 0, "leaky_relu: slope must be > 0, got ", slope);
  Tensor xc = x.contiguous(), y = empty_like(x);
  dispatch("leaky_relu", x, [&](auto t) {
    using T = decltype(t);
    cpu::leaky_relu_forward<T>(xc.data<T>(), y.data<T>(), y.numel(), (T)slope);
  }, [&] { SR_CUDA(cuda::leaky_relu_forward(xc.data<float>(), y.data<float>(), y.numel(), (float)slope)); });
  Tensor ys = y.detach();
  return record("leaky_relu", y, {x}, [ys, slope](const Tensor& g) {
    Tensor dx = empty_like(ys);
    dispatch("leaky_relu_backward", ys, [&](auto t) {
      using T = decltype(t);
      cpu::leaky_relu_backward<T>(ys.data<T>(), g.data<T>(), dx.data<T>(), dx.numel(), (T)slope);
    }, [&] { SR_CUDA(cuda::leaky_relu_backward(ys.data<float>(), g.data<float>(), dx.data<float>(), dx.numel(), (float)slope)); });
    return std::vector<Tensor>{dx};
  });
}

Tensor bias_leaky_relu(const Tensor& x, const Tensor& bias, double slope, double gain) {
  check_dim("bias_leaky_relu", x, 4, "input");
  SR_CHECK(slope > 0 && gain > 0, "bias_leaky_relu: slope and gain must be > 0, got ", slope,
           " and ", gain);
  const int64_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  if (bias.defined()) {
    SR_CHECK(bias.dim() == 1 && bias.size(0) == C, "bias_leaky_relu: bias ", bias.shape().str(),
             " does not match the ", C, " channels of input ", x.shape().str());
    check_same_device_dtype("bias_leaky_relu", x, bias);
  }
  Tensor xc = x.contiguous(), y = empty_like(x);
  Tensor bc = bias.defined() ? bias.contiguous() : Tensor();
  dispatch("bias_leaky_relu", x, [&](auto t) {
    using T = decltype(t);
    cpu::bias_leaky_relu_forward<T>(xc.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                                    y.data<T>(), N, C, HW, (T)slope, (T)gain);
  }, [&] {
    SR_CUDA(cuda::bias_leaky_relu_forward(xc.data<float>(), bc.defined() ? bc.data<float>() : nullptr,
                                          y.data<float>(), N, C, HW, (float)slope, (float)gain));
  });
  Tensor ys = y.detach();
  const bool want_bias = bias.defined() && bias.requires_grad();
  return record("bias_leaky_relu", y, {x, bias}, [=](const Tensor& g) {
    Tensor dx = empty_like(ys);
    Tensor db = want_bias ? Tensor::zeros({C}, ys.dtype(), ys.device()) : Tensor();
    dispatch("bias_leaky_relu_backward", ys, [&](auto t) {
      using T = decltype(t);
      cpu::bias_leaky_relu_backward<T>(ys.data<T>(), g.data<T>(), dx.data<T>(),
                                       db.defined() ? db.data<T>() : nullptr, N, C, HW, (T)slope,
                                       (T)gain);
    }, [&] {
      SR_CUDA(cuda::bias_leaky_relu_backward(ys.data<float>(), g.data<float>(), dx.data<float>(),
                                             db.defined() ? db.data<float>() : nullptr, N, C, HW,
                                             (float)slope, (float)gain));
    });
    return std::vector<Tensor>{dx, db};
  });
}

void add_(Tensor& dst, const Tensor& src) { axpy_(dst, 1.0, src); }

void axpy_(Tensor& dst, double a, const Tensor& x) {
  check_same_shape("axpy_", dst, x);
  SR_CHECK(dst.is_contiguous(), "axpy_: destination ", dst.str(), " must be contiguous");
  Tensor xc = x.contiguous();
  dispatch("axpy_", dst, [&](auto t) {
    using T = decltype(t);
    cpu::axpy_inplace<T>(dst.data<T>(), (T)a, xc.data<T>(), dst.numel());
  }, [&] { SR_CUDA(cuda::axpy_inplace(dst.data<float>(), (float)a, xc.data<float>(), dst.numel())); });
}

void scale_(Tensor& dst, double s) {
  SR_CHECK(dst.is_contiguous(), "scale_: destination ", dst.str(), " must be contiguous");
  dispatch("scale_", dst, [&](auto t) {
    using T = decltype(t);
    cpu::scale<T>(dst.data<T>(), (T)s, dst.data<T>(), dst.numel());
  }, [&] { SR_CUDA(cuda::scale(dst.data<float>(), (float)s, dst.data<float>(), dst.numel())); });
}

}  // namespace sr
