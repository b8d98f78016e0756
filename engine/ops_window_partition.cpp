// Swin's shifted windows, window_partition and window_merge (engine/ops_transformer.h): checks,
// kernel dispatch, autograd nodes. Both are permutations of token rows, each the other's
// inverse; the backward of a permutation is its inverse, so each op's backward runs the other
// op's kernel on the incoming gradient and saves nothing.
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/window_partition.h"
#include "kernels/cuda/window_partition.h"

namespace sr {

namespace {

struct WindowDims {
  int64_t B, H, W, C;
  int ws, shift;
  int64_t windows_per_image() const { return (H / ws) * (W / ws); }
};

void check_window_args(const char* op, int64_t H, int64_t W, int ws, int shift) {
  SR_CHECK(ws >= 1, op, ": window_size ", ws, " must be at least 1");
  SR_CHECK(H >= 1 && W >= 1, op, ": H ", H, " and W ", W, " must be positive");
  SR_CHECK(H % ws == 0 && W % ws == 0, op, ": H ", H, " and W ", W, " must be multiples of window_size ", ws,
           " (pad the image first: pad_reflect)");
  SR_CHECK(shift >= 0 && shift < ws, op, ": shift ", shift, " must be in [0, window_size ", ws, ")");
}

// tokens (B, H*W, C) -> windows (B*nW, ws*ws, C) when partition, else windows -> tokens.
Tensor window_rows(const char* name, const Tensor& src_in, const WindowDims& d, bool partition) {
  const Tensor src = src_in.contiguous();
  const Shape out = partition ? Shape{d.B * d.windows_per_image(), (int64_t)d.ws * d.ws, d.C}
                              : Shape{d.B, d.H * d.W, d.C};
  Tensor dst = Tensor::empty(out, src.dtype(), src.device());
  dispatch(name, src, [&](auto t) {
    using T = decltype(t);
    if (partition)
      cpu::window_partition_forward<T>(src.data<T>(), dst.data<T>(), d.B, d.H, d.W, d.C, d.ws, d.shift);
    else
      cpu::window_partition_backward<T>(src.data<T>(), dst.data<T>(), d.B, d.H, d.W, d.C, d.ws, d.shift);
  }, [&] {
    if (partition)
      SR_CUDA(cuda::window_partition_forward(src.data<float>(), dst.data<float>(), d.B, d.H, d.W, d.C, d.ws, d.shift));
    else
      SR_CUDA(cuda::window_partition_backward(src.data<float>(), dst.data<float>(), d.B, d.H, d.W, d.C, d.ws, d.shift));
  });
  return dst;
}

}  // namespace

Tensor window_partition(const Tensor& x, int64_t H, int64_t W, int window_size, int shift) {
  check_dim("window_partition", x, 3, "input");
  check_window_args("window_partition", H, W, window_size, shift);
  SR_CHECK(x.size(1) == H * W, "window_partition: input ", x.shape().str(), " has ", x.size(1),
           " tokens, not H * W = ", H, " * ", W, " = ", H * W);
  const WindowDims d{x.size(0), H, W, x.size(2), window_size, shift};
  Tensor y = window_rows("window_partition", x, d, true);
  return record("window_partition", y, {x}, [d](const Tensor& g) {
    return std::vector<Tensor>{window_rows("window_partition_backward", g, d, false)};
  });
}

Tensor window_merge(const Tensor& windows, int64_t H, int64_t W, int window_size, int shift) {
  check_dim("window_merge", windows, 3, "windows");
  check_window_args("window_merge", H, W, window_size, shift);
  const int64_t nW = (H / window_size) * (W / window_size);
  SR_CHECK(windows.size(1) == (int64_t)window_size * window_size, "window_merge: windows ", windows.shape().str(),
           " have ", windows.size(1), " tokens each, not window_size^2 = ", (int64_t)window_size * window_size);
  SR_CHECK(windows.size(0) % nW == 0, "window_merge: ", windows.size(0), " windows (", windows.shape().str(),
           ") are not a whole number of images of ", nW, " windows (H ", H, ", W ", W, ", window_size ", window_size,
           ")");
  const WindowDims d{windows.size(0) / nW, H, W, windows.size(2), window_size, shift};
  Tensor y = window_rows("window_merge", windows, d, false);
  return record("window_merge", y, {windows}, [d](const Tensor& g) {
    return std::vector<Tensor>{window_rows("window_merge_backward", g, d, true)};
  });
}

}  // namespace sr
