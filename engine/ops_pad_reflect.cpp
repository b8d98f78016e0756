// pad_reflect and crop (engine/ops_transformer.h): checks, kernel dispatch, autograd nodes.
// SwinIR pads an image at its bottom and right to a multiple of the window (reflect, as
// F.pad(x, (0, right, 0, bottom), 'reflect')) and crops the result back. Neither saves a tensor
// for its backward: pad_reflect's folds the mirrored rows and columns of dy back onto their
// sources (a gather of at most four terms per element), crop's puts dy into a zero plane.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/pad_reflect.h"
#include "kernels/cuda/pad_reflect.h"

namespace sr {

Tensor pad_reflect(const Tensor& x_in, int bottom, int right) {
  check_dim("pad_reflect", x_in, 4, "input");
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  SR_CHECK(bottom >= 0 && right >= 0, "pad_reflect: bottom ", bottom, " and right ", right,
           " must not be negative");
  // Reflection mirrors about the last row without repeating it: at most H - 1 rows exist to
  // mirror (PyTorch refuses the same).
  SR_CHECK(bottom < H, "pad_reflect: bottom ", bottom, " must be less than the input's height ", H, " (input ",
           x_in.shape().str(), ")");
  SR_CHECK(right < W, "pad_reflect: right ", right, " must be less than the input's width ", W, " (input ",
           x_in.shape().str(), ")");
  const Tensor x = x_in.contiguous();
  const int64_t NC = N * C;
  Tensor y = Tensor::empty({N, C, H + bottom, W + right}, x.dtype(), x.device());
  dispatch("pad_reflect", x, [&](auto t) {
    using T = decltype(t);
    cpu::pad_reflect_forward<T>(x.data<T>(), y.data<T>(), NC, H, W, bottom, right);
  }, [&] { SR_CUDA(cuda::pad_reflect_forward(x.data<float>(), y.data<float>(), NC, H, W, bottom, right)); });
  const Shape shape = x.shape();
  return record("pad_reflect", y, {x_in}, [shape, NC, H, W, bottom, right](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty(shape, g.dtype(), g.device());
    dispatch("pad_reflect_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::pad_reflect_backward<T>(g.data<T>(), dx.data<T>(), NC, H, W, bottom, right);
    }, [&] { SR_CUDA(cuda::pad_reflect_backward(g.data<float>(), dx.data<float>(), NC, H, W, bottom, right)); });
    return std::vector<Tensor>{dx};
  });
}

Tensor crop(const Tensor& x_in, int64_t height, int64_t width) {
  check_dim("crop", x_in, 4, "input");
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  SR_CHECK(height >= 0 && height <= H, "crop: height ", height, " must be in [0, ", H, "] for input ",
           x_in.shape().str());
  SR_CHECK(width >= 0 && width <= W, "crop: width ", width, " must be in [0, ", W, "] for input ",
           x_in.shape().str());
  const Tensor x = x_in.contiguous();
  const int64_t NC = N * C;
  Tensor y = Tensor::empty({N, C, height, width}, x.dtype(), x.device());
  dispatch("crop", x, [&](auto t) {
    using T = decltype(t);
    cpu::crop_forward<T>(x.data<T>(), y.data<T>(), NC, H, W, height, width);
  }, [&] { SR_CUDA(cuda::crop_forward(x.data<float>(), y.data<float>(), NC, H, W, height, width)); });
  const Shape shape = x.shape();
  return record("crop", y, {x_in}, [shape, NC, H, W, height, width](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    Tensor dx = Tensor::empty(shape, g.dtype(), g.device());
    dispatch("crop_backward", g, [&](auto t) {
      using T = decltype(t);
      cpu::crop_backward<T>(g.data<T>(), dx.data<T>(), NC, H, W, height, width);
    }, [&] { SR_CUDA(cuda::crop_backward(g.data<float>(), dx.data<float>(), NC, H, W, height, width)); });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace sr
