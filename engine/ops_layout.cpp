// Layout ops: channel concat and slice, reshape, pixel (un)shuffle, x2 upsampling.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/resample.h"
#include "kernels/cuda/resample.h"

namespace sr {

Tensor cat_channels(const std::vector<Tensor>& xs) {
  SR_CHECK(!xs.empty(), "cat_channels: no inputs");
  check_dim("cat_channels", xs[0], 4, "input 0");
  int64_t C = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    check_dim("cat_channels", xs[i], 4, "input");
    check_same_device_dtype("cat_channels", xs[0], xs[i]);
    SR_CHECK(xs[i].size(0) == xs[0].size(0) && xs[i].size(2) == xs[0].size(2) &&
                 xs[i].size(3) == xs[0].size(3),
             "cat_channels: input ", i, " ", xs[i].shape().str(), " does not match input 0 ",
             xs[0].shape().str(), " outside the channel dimension");
    C += xs[i].size(1);
  }
  Tensor y = Tensor::empty({xs[0].size(0), C, xs[0].size(2), xs[0].size(3)}, xs[0].dtype(),
                           xs[0].device());
  std::vector<int64_t> starts;
  int64_t c0 = 0;
  for (const Tensor& x : xs) {
    starts.push_back(c0);
    y.narrow(1, c0, x.size(1)).copy_(x);
    c0 += x.size(1);
  }
  std::vector<int64_t> sizes;
  for (const Tensor& x : xs) sizes.push_back(x.size(1));
  return record("cat_channels", y, xs, [starts, sizes](const Tensor& g) {
    std::vector<Tensor> out;
    for (size_t i = 0; i < starts.size(); ++i) out.push_back(g.narrow(1, starts[i], sizes[i]).contiguous());
    return out;
  });
}

Tensor slice_channels(const Tensor& x, int64_t start, int64_t length) {
  check_dim("slice_channels", x, 4, "input");
  Tensor y = x.narrow(1, start, length);
  const Shape full = x.shape();
  return record("slice_channels", y, {x}, [full, start, length](const Tensor& g) {
    Tensor dx = Tensor::zeros(full, g.dtype(), g.device());
    dx.narrow(1, start, length).copy_(g);
    return std::vector<Tensor>{dx};
  });
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  SR_CHECK(x.defined(), "reshape: undefined input");
  Tensor y = x.contiguous().reshape(shape);
  const Shape in = x.shape();
  return record("reshape", y, {x}, [in](const Tensor& g) {
    return std::vector<Tensor>{g.contiguous().reshape(in)};
  });
}

namespace {

Tensor shuffle_raw(const Tensor& x, int r, bool shuffle) {
  const int64_t N = x.size(0), Cin = x.size(1), H = x.size(2), W = x.size(3);
  Tensor xc = x.contiguous();
  Tensor y = shuffle ? Tensor::empty({N, Cin / (r * r), H * r, W * r}, x.dtype(), x.device())
                     : Tensor::empty({N, Cin * r * r, H / r, W / r}, x.dtype(), x.device());
  dispatch(shuffle ? "pixel_shuffle" : "pixel_unshuffle", x, [&](auto t) {
    using T = decltype(t);
    if (shuffle)
      cpu::pixel_shuffle<T>(xc.data<T>(), y.data<T>(), N, Cin / (r * r), H, W, r);
    else
      cpu::pixel_unshuffle<T>(xc.data<T>(), y.data<T>(), N, Cin, H / r, W / r, r);
  }, [&] {
    if (shuffle)
      SR_CUDA(cuda::pixel_shuffle(xc.data<float>(), y.data<float>(), N, Cin / (r * r), H, W, r));
    else
      SR_CUDA(cuda::pixel_unshuffle(xc.data<float>(), y.data<float>(), N, Cin, H / r, W / r, r));
  });
  return y;
}

// The factors the nets use: 2 and 4 (RRDBNet, the U-Net discriminator, the x2 / x4 heads and
// bases) and 3 (EDSR, SRVGGNetCompact and MSRResNet x3). The kernels take any r; larger ones
// are refused rather than untested.
void check_factor(const char* op, int r) {
  SR_CHECK(r >= 2 && r <= 4, op, ": factor must be 2, 3 or 4, got ", r);
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, int r) {
  check_dim("pixel_shuffle", x, 4, "input");
  check_factor("pixel_shuffle", r);
  SR_CHECK(x.size(1) % (r * r) == 0, "pixel_shuffle: channels ", x.size(1),
           " of input ", x.shape().str(), " are not divisible by factor^2 = ", r * r);
  return record("pixel_shuffle", shuffle_raw(x, r, true), {x},
                [r](const Tensor& g) { return std::vector<Tensor>{shuffle_raw(g, r, false)}; });
}

Tensor pixel_unshuffle(const Tensor& x, int r) {
  check_dim("pixel_unshuffle", x, 4, "input");
  check_factor("pixel_unshuffle", r);
  SR_CHECK(x.size(2) % r == 0 && x.size(3) % r == 0, "pixel_unshuffle: height and width of ",
           x.shape().str(), " must be divisible by ", r);
  return record("pixel_unshuffle", shuffle_raw(x, r, false), {x},
                [r](const Tensor& g) { return std::vector<Tensor>{shuffle_raw(g, r, true)}; });
}

namespace {

// Upsampling by an integer factor r (nearest: each pixel r x r times, its backward sums each
// r x r block of g; bilinear: align_corners=false, kernels/common/math.h's taps).
enum class Upsample { nearest, bilinear };

Tensor upsample_raw(const Tensor& x, int r, Upsample mode) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const bool nearest = mode == Upsample::nearest;
  Tensor xc = x.contiguous();
  Tensor y = Tensor::empty({N, C, r * H, r * W}, x.dtype(), x.device());
  dispatch(nearest ? "upsample_nearest" : "upsample_bilinear", x, [&](auto t) {
    using T = decltype(t);
    if (nearest) cpu::upsample_nearest_forward<T>(xc.data<T>(), y.data<T>(), N * C, H, W, r);
    else cpu::upsample_bilinear_forward<T>(xc.data<T>(), y.data<T>(), N * C, H, W, r);
  }, [&] {
    if (nearest) SR_CUDA(cuda::upsample_nearest_forward(xc.data<float>(), y.data<float>(), N * C, H, W, r));
    else SR_CUDA(cuda::upsample_bilinear_forward(xc.data<float>(), y.data<float>(), N * C, H, W, r));
  });
  return y;
}

Tensor upsample_backward_raw(const Tensor& g, int r, Upsample mode) {
  const int64_t N = g.size(0), C = g.size(1), H = g.size(2) / r, W = g.size(3) / r;
  const bool nearest = mode == Upsample::nearest;
  Tensor gc = g.contiguous();
  Tensor dx = Tensor::empty({N, C, H, W}, g.dtype(), g.device());
  dispatch(nearest ? "upsample_nearest_backward" : "upsample_bilinear_backward", g, [&](auto t) {
    using T = decltype(t);
    if (nearest) cpu::upsample_nearest_backward<T>(gc.data<T>(), dx.data<T>(), N * C, H, W, r);
    else cpu::upsample_bilinear_backward<T>(gc.data<T>(), dx.data<T>(), N * C, H, W, r);
  }, [&] {
    if (nearest) SR_CUDA(cuda::upsample_nearest_backward(gc.data<float>(), dx.data<float>(), N * C, H, W, r));
    else SR_CUDA(cuda::upsample_bilinear_backward(gc.data<float>(), dx.data<float>(), N * C, H, W, r));
  });
  return dx;
}

Tensor upsample(const char* op, const Tensor& x, int r, Upsample mode) {
  check_dim(op, x, 4, "input");
  check_factor(op, r);
  return record(op, upsample_raw(x, r, mode), {x},
                [r, mode](const Tensor& g) { return std::vector<Tensor>{upsample_backward_raw(g, r, mode)}; });
}

}  // namespace

Tensor upsample_nearest(const Tensor& x, int r) { return upsample("upsample_nearest", x, r, Upsample::nearest); }

Tensor upsample_bilinear(const Tensor& x, int r) { return upsample("upsample_bilinear", x, r, Upsample::bilinear); }

}  // namespace sr
