// Gradient checks: every differentiable op against central finite differences in float64,
// on fresh random inputs each run (the seed is printed on failure), at several shapes
// including odd sizes, batch > 1, stride 2 and non-square images.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "support/gradcheck.h"

using namespace sr;
using sr::test::expect_gradients;
using sr::test::gradcheck;
using sr::test::random_tensor;
using V = std::vector<Tensor>;

namespace {

// An NCHW shape, for the inputs the checks below draw.
Shape nchw(int64_t n, int64_t c, int64_t h, int64_t w) { return Shape{n, c, h, w}; }

}  // namespace

TEST_CASE("gradcheck/checker_detects_wrong_backward") {
  // A deliberately wrong op: y = x^2 whose backward claims dy/dx = x (missing the 2).
  auto wrong_square = [](const V& in) {
    const Tensor& x = in[0];
    Tensor y = mul(x.detach(), x.detach());
    Tensor xs = x.detach();
    return record("wrong_square", y, {x}, [xs](const Tensor& g) { return V{mul(g, xs)}; });
  };
  const uint64_t seed = sr::test::fresh_seed();
  std::mt19937_64 rng(seed);
  V inputs{random_tensor(rng, {2, 3}, 0.5, 1.0)};
  INFO("seed " << seed);
  CHECK_FALSE(gradcheck(wrong_square, inputs, seed).ok);
  // ...and the same checker accepts the correct op on the same input.
  CHECK(gradcheck([](const V& in) { return mul(in[0], in[0]); }, inputs, seed).ok);
}

TEST_CASE("gradcheck/conv2d") {
  struct Case { int64_t n, c, h, w, k, r, s; int stride, pad; bool bias; };
  const Case cases[] = {
      {1, 3, 5, 5, 4, 3, 3, 1, 1, true},    // the RRDBNet conv shape, tiny
      {2, 4, 7, 6, 3, 3, 3, 1, 1, true},    // batch 2, odd non-square
      {2, 3, 8, 10, 5, 4, 4, 2, 1, false},  // UNet discriminator 4x4 s2 p1
      {1, 2, 9, 7, 3, 3, 3, 2, 1, true},    // stride 2, odd sizes
      {3, 5, 4, 4, 2, 1, 1, 1, 0, true},    // pointwise
      {1, 2, 7, 8, 2, 5, 5, 1, 2, true},    // 5x5
      {1, 1, 9, 9, 2, 7, 7, 2, 3, false},   // 7x7 stride 2
      {2, 3, 6, 5, 2, 3, 2, 1, 0, true},    // non-square kernel, no padding
  };
  for (const Case& c : cases) {
    expect_gradients(
        "conv2d",
        [&](const V& in) { return conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.stride, c.pad); },
        [&](std::mt19937_64& rng) {
          return V{random_tensor(rng, nchw(c.n, c.c, c.h, c.w)),
                   random_tensor(rng, nchw(c.k, c.c, c.r, c.s)), random_tensor(rng, {c.k})};
        });
  }
}

TEST_CASE("gradcheck/conv2d_channel_view") {
  // Reads a channel range of a larger buffer without copying, as the dense blocks do.
  expect_gradients(
      "conv2d on slice_channels",
      [](const V& in) { return conv2d(slice_channels(in[0], 2, 3), in[1], in[2], 1, 1); },
      [](std::mt19937_64& rng) {
        return V{random_tensor(rng, nchw(2, 7, 5, 6)), random_tensor(rng, nchw(4, 3, 3, 3)),
                 random_tensor(rng, {4})};
      });
}

TEST_CASE("gradcheck/linear") {
  expect_gradients(
      "linear", [](const V& in) { return linear(in[0], in[1], in[2]); },
      [](std::mt19937_64& rng) {
        return V{random_tensor(rng, {3, 7}), random_tensor(rng, {5, 7}), random_tensor(rng, {5})};
      });
}

TEST_CASE("gradcheck/leaky_relu") {
  for (double slope : {0.2, 0.01}) {
    expect_gradients(
        "leaky_relu", [slope](const V& in) { return leaky_relu(in[0], slope); },
        [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 5, 7), -1, 1, {0.0})}; });
  }
}

TEST_CASE("gradcheck/bias_leaky_relu") {
  for (double gain : {1.0, 1.4142135623730951}) {
    expect_gradients(
        "bias_leaky_relu", [gain](const V& in) { return bias_leaky_relu(in[0], in[1], 0.2, gain); },
        [](std::mt19937_64& rng) {
          // x + b must stay away from 0: draw x away from -b by construction.
          Tensor b = random_tensor(rng, {3}, -0.5, 0.5);
          Tensor x = random_tensor(rng, nchw(2, 3, 4, 5), -1, 1, {0.0}, 0.05, false);
          std::vector<double> xv = x.to_vector(), bv = b.to_vector();
          for (int64_t i = 0; i < (int64_t)xv.size(); ++i) xv[i] -= bv[(i / 20) % 3];
          Tensor xr = Tensor::from_vector(xv, x.shape(), DType::f64);
          xr.set_requires_grad(true);
          return V{xr, b};
        });
  }
}

TEST_CASE("gradcheck/sigmoid") {
  // Both branches of the stable form (x >= 0 and x < 0), and far into the tails.
  expect_gradients("sigmoid", [](const V& in) { return sigmoid(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 5, 4), -8, 8)}; });
}

TEST_CASE("gradcheck/layer_norm") {
  // Rows with a mean far from 0 and a small spread (values in [2.5, 3.5)): the mean and
  // variance terms of the backward are then large against the plain rstd * g term.
  struct Case { Shape x; bool weight, bias; };
  const Case cases[] = {
      {{2, 3, 7}, true, true},    // odd C, rank 3
      {{5, 12}, true, false},     // weight only
      {{4, 9}, false, true},      // bias only
      {{3, 2, 5}, false, false},  // no affine terms
      {{6, 1}, true, true},       // C = 1: xhat = 0, y = bias, dx = dweight = 0
      {{2, 33}, true, true},      // C past a warp's 32 lanes
  };
  for (const Case& c : cases) {
    const int64_t C = c.x[c.x.dim() - 1];
    expect_gradients(
        "layer_norm",
        [&](const V& in) {
          return layer_norm(in[0], c.weight ? in[1] : Tensor(), c.bias ? in.back() : Tensor(), 1e-5);
        },
        [&](std::mt19937_64& rng) {
          V in{random_tensor(rng, c.x, 2.5, 3.5)};  // x, then weight and bias when used
          if (c.weight) in.push_back(random_tensor(rng, {C}, 0.5, 1.5));
          if (c.bias) in.push_back(random_tensor(rng, {C}));
          return in;
        });
  }
  // Each input alone, the others constants (the backward skips the gradients nobody needs).
  std::mt19937_64 rng(sr::test::fresh_seed());
  const Shape xs{3, 11};
  const Tensor x0 = random_tensor(rng, xs, 2.5, 3.5, {}, 1e-2, false), w0 = random_tensor(rng, {11}, 0.5, 1.5, {}, 1e-2, false),
               b0 = random_tensor(rng, {11}, -1, 1, {}, 1e-2, false);
  expect_gradients("layer_norm (x alone)", [&](const V& in) { return layer_norm(in[0], w0, b0, 1e-5); },
                   [&](std::mt19937_64& r) { return V{random_tensor(r, xs, 2.5, 3.5)}; });
  expect_gradients("layer_norm (weight alone)", [&](const V& in) { return layer_norm(x0, in[0], b0, 1e-5); },
                   [&](std::mt19937_64& r) { return V{random_tensor(r, {11}, 0.5, 1.5)}; });
  expect_gradients("layer_norm (bias alone)", [&](const V& in) { return layer_norm(x0, w0, in[0], 1e-5); },
                   [&](std::mt19937_64& r) { return V{random_tensor(r, {11})}; });
}

TEST_CASE("gradcheck/gelu") {
  // Both signs and the tails, where Phi(x) + x phi(x) dips below 0 (x < -0.75).
  expect_gradients("gelu", [](const V& in) { return gelu(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, {2, 3, 17}, -5, 5)}; });
}

TEST_CASE("gradcheck/transpose") {
  for (auto [d0, d1] : {std::pair<int, int>{1, 2}, {2, 1}})
    expect_gradients("transpose", [d0, d1](const V& in) { return transpose(in[0], d0, d1); },
                     [](std::mt19937_64& rng) { return V{random_tensor(rng, {2, 5, 7})}; });
  // Larger than one 32 x 32 tile each way, partial at the edge.
  expect_gradients("transpose", [](const V& in) { return transpose(in[0], 1, 2); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, {1, 35, 40})}; });
}

TEST_CASE("gradcheck/spatial_mean") {
  // Odd, non-square planes, batch 2; a 1x1 plane (the mean is the value).
  expect_gradients("spatial_mean", [](const V& in) { return spatial_mean(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 5, 7))}; });
  expect_gradients("spatial_mean", [](const V& in) { return spatial_mean(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(3, 2, 1, 1))}; });
}

TEST_CASE("gradcheck/channel_scale") {
  auto x_of = [](std::mt19937_64& rng) { return random_tensor(rng, nchw(2, 3, 4, 5)); };
  auto s_of = [](std::mt19937_64& rng) { return random_tensor(rng, nchw(2, 3, 1, 1), -2, 2); };
  expect_gradients("channel_scale", [](const V& in) { return channel_scale(in[0], in[1]); },
                   [&](std::mt19937_64& rng) { return V{x_of(rng), s_of(rng)}; });
  // Each input alone, the other a constant (the backward skips the gradient nobody needs).
  std::mt19937_64 rng(sr::test::fresh_seed());
  const Tensor x0 = x_of(rng), s0 = s_of(rng);
  expect_gradients("channel_scale", [s0](const V& in) { return channel_scale(in[0], s0); },
                   [&](std::mt19937_64& r) { return V{x_of(r)}; });
  expect_gradients("channel_scale", [x0](const V& in) { return channel_scale(x0, in[0]); },
                   [&](std::mt19937_64& r) { return V{s_of(r)}; });
}

TEST_CASE("gradcheck/window_partition") {
  // B = 2, odd C = 5, H 6 x W 9 in 3 x 3 windows (2 x 3 per image); no shift, and shifts 1 and 2
  // (rows and columns wrap around the image); 2 x 2 windows of a 4 x 4 image, shift 1.
  struct Case { int64_t H, W; int ws, shift; };
  for (const Case& c : {Case{6, 9, 3, 0}, Case{6, 9, 3, 1}, Case{6, 9, 3, 2}, Case{4, 4, 2, 1}}) {
    INFO("H " << c.H << " W " << c.W << " ws " << c.ws << " shift " << c.shift);
    expect_gradients("window_partition", [c](const V& in) { return window_partition(in[0], c.H, c.W, c.ws, c.shift); },
                     [c](std::mt19937_64& rng) { return V{random_tensor(rng, {2, c.H * c.W, 5})}; });
  }
}

TEST_CASE("gradcheck/window_merge") {
  struct Case { int64_t H, W; int ws, shift; };
  for (const Case& c : {Case{6, 9, 3, 0}, Case{6, 9, 3, 2}, Case{4, 4, 2, 1}}) {
    INFO("H " << c.H << " W " << c.W << " ws " << c.ws << " shift " << c.shift);
    const int64_t windows = 2 * (c.H / c.ws) * (c.W / c.ws);
    expect_gradients("window_merge", [c](const V& in) { return window_merge(in[0], c.H, c.W, c.ws, c.shift); },
                     [&](std::mt19937_64& rng) { return V{random_tensor(rng, {windows, (int64_t)c.ws * c.ws, 5})}; });
  }
}

TEST_CASE("gradcheck/pad_reflect") {
  // The largest pads (H - 1, W - 1: every row / column but the edge mirrored, so dx elements
  // gather 4 terms), small ones, none on one side, batch 2 with 3 channels.
  struct Case { int64_t H, W; int bottom, right; };
  for (const Case& c : {Case{5, 4, 4, 3}, Case{5, 7, 2, 1}, Case{4, 6, 0, 3}, Case{3, 3, 1, 0}}) {
    INFO("H " << c.H << " W " << c.W << " bottom " << c.bottom << " right " << c.right);
    expect_gradients("pad_reflect", [c](const V& in) { return pad_reflect(in[0], c.bottom, c.right); },
                     [c](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, c.H, c.W))}; });
  }
}

TEST_CASE("gradcheck/crop") {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 4}, {5, 7}, {1, 7}}) {
    INFO("crop to " << h << " x " << w);
    expect_gradients("crop", [h, w](const V& in) { return crop(in[0], h, w); },
                     [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 5, 7))}; });
  }
}

TEST_CASE("gradcheck/window_attention") {
  // 2 images of 2x2 windows (ws 2) and of 2x3 windows (ws 3), 2 heads of d 2 and 3, shift 0 and
  // 1: masked pairs (-100) and every relative position of the table.
  struct Case {
    int64_t H, W;
    int ws, d, shift;
  };
  const Case cases[] = {{4, 4, 2, 2, 0}, {4, 4, 2, 2, 1}, {6, 9, 3, 3, 1}, {6, 9, 3, 3, 0}};
  for (const Case& c : cases) {
    const int nh = 2;
    const int64_t B_ = 2 * (c.H / c.ws) * (c.W / c.ws), N = c.ws * c.ws, R = 2 * c.ws - 1;
    const double sc = 1 / std::sqrt((double)c.d);
    auto attn = [c, nh, sc](const Tensor& qkv, const Tensor& table) {
      return window_attention(qkv, table, nh, c.H, c.W, c.ws, c.shift, sc);
    };
    auto qkv_of = [&](std::mt19937_64& rng) { return random_tensor(rng, {B_, N, 3 * nh * c.d}, -1.5, 1.5); };
    auto table_of = [&](std::mt19937_64& rng) { return random_tensor(rng, {R * R, nh}); };
    expect_gradients("window_attention", [&](const V& in) { return attn(in[0], in[1]); },
                     [&](std::mt19937_64& rng) { return V{qkv_of(rng), table_of(rng)}; });
    if (c.shift == 0) continue;
    // Each input alone, the other a constant (with the mask: the shifted cases).
    std::mt19937_64 rng(sr::test::fresh_seed());
    const Tensor qkv0 = qkv_of(rng).detach(), table0 = table_of(rng).detach();
    expect_gradients("window_attention", [&](const V& in) { return attn(in[0], table0); },
                     [&](std::mt19937_64& r) { return V{qkv_of(r)}; });
    expect_gradients("window_attention", [&](const V& in) { return attn(qkv0, in[0]); },
                     [&](std::mt19937_64& r) { return V{table_of(r)}; });
  }
}

TEST_CASE("gradcheck/overlap_window_attention") {
  // 2 images; ws 2 with key windows of 4 (padding 1: keys outside the image) and of 2 (no
  // overlap), ws 3 with 5 on a one-window-wide image; 2 heads of d 2 or 3.
  struct Case {
    int64_t H, W;
    int ws, wse, d;
  };
  const Case cases[] = {{4, 6, 2, 4, 2}, {4, 4, 2, 2, 2}, {6, 3, 3, 5, 3}};
  for (const Case& c : cases) {
    INFO("ws " << c.ws << " wse " << c.wse << " H " << c.H << " W " << c.W);
    const int nh = 2;
    const int64_t R = c.ws + c.wse - 1;
    const double sc = 1 / std::sqrt((double)c.d);
    auto attn = [c, nh, sc](const Tensor& qkv, const Tensor& table) {
      return overlap_window_attention(qkv, table, nh, c.H, c.W, c.ws, c.wse, sc);
    };
    auto qkv_of = [&](std::mt19937_64& rng) { return random_tensor(rng, {2, c.H * c.W, 3 * nh * c.d}, -1.5, 1.5); };
    auto table_of = [&](std::mt19937_64& rng) { return random_tensor(rng, {R * R, nh}); };
    expect_gradients("overlap_window_attention", [&](const V& in) { return attn(in[0], in[1]); },
                     [&](std::mt19937_64& rng) { return V{qkv_of(rng), table_of(rng)}; });
    // Each input alone, the other a constant.
    std::mt19937_64 rng(sr::test::fresh_seed());
    const Tensor qkv0 = qkv_of(rng).detach(), table0 = table_of(rng).detach();
    expect_gradients("overlap_window_attention", [&](const V& in) { return attn(in[0], table0); },
                     [&](std::mt19937_64& r) { return V{qkv_of(r)}; });
    expect_gradients("overlap_window_attention", [&](const V& in) { return attn(qkv0, in[0]); },
                     [&](std::mt19937_64& r) { return V{table_of(r)}; });
  }
}

TEST_CASE("gradcheck/relu") {
  expect_gradients("relu", [](const V& in) { return relu(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 2, 3, 5), -1, 1, {0.0})}; });
}

TEST_CASE("gradcheck/abs") {
  expect_gradients("abs", [](const V& in) { return abs(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(1, 3, 4, 3), -1, 1, {0.0})}; });
}

// Inputs in [0.1, 2]: away from 0, where the derivative 1 / (2 sqrt(x)) blows up.
TEST_CASE("gradcheck/square_root") {
  expect_gradients("square_root", [](const V& in) { return square_root(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 4, 5), 0.1, 2)}; });
}

TEST_CASE("gradcheck/add") {
  expect_gradients("add", [](const V& in) { return add(in[0], in[1]); }, [](std::mt19937_64& rng) {
    return V{random_tensor(rng, nchw(2, 3, 3, 5)), random_tensor(rng, nchw(2, 3, 3, 5))};
  });
}

TEST_CASE("gradcheck/sub") {
  expect_gradients("sub", [](const V& in) { return sub(in[0], in[1]); }, [](std::mt19937_64& rng) {
    return V{random_tensor(rng, {4, 5}), random_tensor(rng, {4, 5})};
  });
}

TEST_CASE("gradcheck/mul") {
  expect_gradients("mul", [](const V& in) { return mul(in[0], in[1]); }, [](std::mt19937_64& rng) {
    return V{random_tensor(rng, nchw(2, 2, 3, 3)), random_tensor(rng, nchw(2, 2, 3, 3))};
  });
  // The same tensor on both sides: gradients from the two uses add up.
  expect_gradients("mul(x, x)", [](const V& in) { return mul(in[0], in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, {7})}; });
}

TEST_CASE("gradcheck/scale") {
  expect_gradients("scale", [](const V& in) { return scale(in[0], -0.37); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(1, 2, 3, 4))}; });
}

TEST_CASE("gradcheck/axpby") {
  expect_gradients("axpby", [](const V& in) { return axpby(0.2, in[0], 1.0, in[1]); },
                   [](std::mt19937_64& rng) {
                     return V{random_tensor(rng, nchw(2, 3, 4, 4)), random_tensor(rng, nchw(2, 3, 4, 4))};
                   });
}

TEST_CASE("gradcheck/cat_channels") {
  expect_gradients("cat_channels", [](const V& in) { return cat_channels({in[0], in[1], in[2]}); },
                   [](std::mt19937_64& rng) {
                     return V{random_tensor(rng, nchw(2, 3, 4, 5)), random_tensor(rng, nchw(2, 1, 4, 5)),
                              random_tensor(rng, nchw(2, 2, 4, 5))};
                   });
}

TEST_CASE("gradcheck/slice_channels") {
  expect_gradients("slice_channels", [](const V& in) { return slice_channels(in[0], 1, 3); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 5, 3, 4))}; });
}

TEST_CASE("gradcheck/reshape") {
  expect_gradients("reshape", [](const V& in) { return reshape(in[0], {3, 8}); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 2, 2))}; });
}

TEST_CASE("gradcheck/pixel_shuffle") {
  for (int r : {2, 3, 4}) {
    expect_gradients("pixel_shuffle", [r](const V& in) { return pixel_shuffle(in[0], r); },
                     [r](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 2 * r * r, 3, 5))}; });
  }
}

TEST_CASE("gradcheck/pixel_unshuffle") {
  for (int r : {2, 3, 4}) {
    expect_gradients("pixel_unshuffle", [r](const V& in) { return pixel_unshuffle(in[0], r); },
                     [r](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 2 * r, 3 * r))}; });
  }
}

TEST_CASE("gradcheck/upsample_nearest") {
  for (int r : {2, 3, 4}) {
    expect_gradients("upsample_nearest", [r](const V& in) { return upsample_nearest(in[0], r); },
                     [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 3, 5))}; });
  }
}

// The fold of the upsampling into the conv: x, w and b at odd sizes, padding 1 (the top/left
// border, where the gather's floor shift matters) and 0, a 2x2 and a non-square filter.
TEST_CASE("gradcheck/upsample_nearest2x_conv2d") {
  struct Case { int64_t n, c, h, w, k, r, s; int pad; bool bias; };
  const Case cases[] = {
      {1, 3, 3, 3, 4, 3, 3, 1, true},   // RRDBNet's conv_up, tiny
      {2, 2, 3, 5, 3, 3, 3, 0, true},   // batch 2, odd non-square, no padding
      {1, 3, 4, 3, 2, 2, 3, 1, false},  // 2x3 filter, no bias
      {1, 2, 2, 3, 2, 5, 5, 2, true},   // 5x5, padding 2: taps two upsampled rows out
  };
  for (const Case& c : cases) {
    expect_gradients(
        "upsample_nearest2x_conv2d",
        [&](const V& in) { return upsample_nearest2x_conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.pad); },
        [&](std::mt19937_64& rng) {
          return V{random_tensor(rng, nchw(c.n, c.c, c.h, c.w)), random_tensor(rng, nchw(c.k, c.c, c.r, c.s)),
                   random_tensor(rng, {c.k})};
        });
  }
}

TEST_CASE("gradcheck/upsample_bilinear") {
  for (int r : {2, 3, 4})
    for (auto hw : {std::pair<int, int>{3, 5}, {1, 1}, {4, 4}, {1, 6}}) {
      expect_gradients("upsample_bilinear", [r](const V& in) { return upsample_bilinear(in[0], r); },
                       [&](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 2, hw.first, hw.second))}; });
    }
}

TEST_CASE("gradcheck/sum") {
  expect_gradients("sum", [](const V& in) { return sum(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 3, 3))}; });
}

TEST_CASE("gradcheck/mean") {
  expect_gradients("mean", [](const V& in) { return mean(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 3, 5, 1))}; });
}

TEST_CASE("gradcheck/l1_loss") {
  expect_gradients("l1_loss", [](const V& in) { return l1_loss(in[0], in[1]); }, [](std::mt19937_64& rng) {
    // pred - target must stay away from 0: target = pred + offset with |offset| >= 0.05.
    Tensor p = random_tensor(rng, nchw(2, 3, 4, 5));
    Tensor off = random_tensor(rng, nchw(2, 3, 4, 5), -1, 1, {0.0}, 0.05, false);
    Tensor t = add(p.detach(), off);
    t.set_requires_grad(true);
    return V{p, t};
  });
}

TEST_CASE("gradcheck/mse_loss") {
  expect_gradients("mse_loss", [](const V& in) { return mse_loss(in[0], in[1]); }, [](std::mt19937_64& rng) {
    return V{random_tensor(rng, nchw(2, 3, 3, 4)), random_tensor(rng, nchw(2, 3, 3, 4))};
  });
}

TEST_CASE("gradcheck/charbonnier_loss") {
  expect_gradients("charbonnier_loss", [](const V& in) { return charbonnier_loss(in[0], in[1], 1e-3); },
                   [](std::mt19937_64& rng) {
                     return V{random_tensor(rng, nchw(1, 3, 4, 5)), random_tensor(rng, nchw(1, 3, 4, 5))};
                   });
}

TEST_CASE("gradcheck/bce_with_logits") {
  for (double target : {1.0, 0.0, 0.9}) {
    expect_gradients("bce_with_logits", [target](const V& in) { return bce_with_logits(in[0], target); },
                     [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 1, 4, 5), -4, 4)}; });
  }
}

TEST_CASE("gradcheck/hinge_real_loss") {
  expect_gradients("hinge_real_loss", [](const V& in) { return hinge_real_loss(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 1, 4, 4), -3, 3, {1.0})}; });
}

TEST_CASE("gradcheck/hinge_fake_loss") {
  expect_gradients("hinge_fake_loss", [](const V& in) { return hinge_fake_loss(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 1, 4, 4), -3, 3, {-1.0})}; });
}

TEST_CASE("gradcheck/hinge_generator_loss") {
  expect_gradients("hinge_generator_loss", [](const V& in) { return hinge_generator_loss(in[0]); },
                   [](std::mt19937_64& rng) { return V{random_tensor(rng, nchw(2, 1, 3, 5), -3, 3)}; });
}

TEST_CASE("gradcheck/spectral_norm") {
  // The gradient flows through W and sigma with u and v constant: after one training
  // forward has advanced u and v, check the eval-mode map W -> W / sigma(W; u, v).
  for (auto shape : {Shape{4, 3, 3, 3}, Shape{6, 2, 4, 4}, Shape{3, 5}}) {
    const uint64_t seed = sr::test::fresh_seed();
    std::mt19937_64 rng(seed);
    Tensor w = random_tensor(rng, shape);
    const int64_t rows = shape[0], cols = shape.numel() / rows;
    Tensor u = random_tensor(rng, {rows}, -1, 1, {}, 0, false);
    Tensor v = random_tensor(rng, {cols}, -1, 1, {}, 0, false);
    {
      NoGradGuard g;
      spectral_norm(w, u, v, /*training=*/true);
    }
    auto fn = [&](const V& in) { return spectral_norm(in[0], u, v, /*training=*/false); };
    auto result = gradcheck(fn, {w}, seed);
    INFO("spectral_norm " << shape.str() << " seed " << seed << "\n" << result.report);
    CHECK(result.ok);
  }
}

TEST_CASE("gradcheck/composite_dense_block_step") {
  // conv -> bias_leaky_relu -> concat -> conv -> residual, the pattern of one dense step.
  expect_gradients(
      "dense step",
      [](const V& in) {
        Tensor x1 = bias_leaky_relu(conv2d(in[0], in[1], Tensor(), 1, 1), in[2], 0.2);
        Tensor y = conv2d(cat_channels({in[0], x1}), in[3], in[4], 1, 1);
        return axpby(0.2, y, 1.0, in[0]);
      },
      [](std::mt19937_64& rng) {
        return V{random_tensor(rng, nchw(2, 3, 5, 4)), random_tensor(rng, nchw(2, 3, 3, 3)),
                 random_tensor(rng, {2}), random_tensor(rng, nchw(3, 5, 3, 3)), random_tensor(rng, {3})};
      },
      {1e-6, 1e-6, 1e-5});
}
