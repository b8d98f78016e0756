// Tiled upscaling with linear-ramp blending (see tiled_upscale.h for the geometry).
#include "infer/tiled_upscale.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "data/image_io.h"
#include "engine/error.h"
#include "infer/padding.h"

namespace sr::infer {

namespace {

constexpr int64_t kSinkRows = 32;

// One axis of the tile grid, in padded input pixels.
struct Axis {
  int64_t length = 0;          // padded length (a multiple of `multiple`)
  std::vector<int64_t> cuts;   // core tile boundaries: cuts[j] .. cuts[j+1]
  int64_t pad = 0;             // context per side
  int64_t ext_begin(size_t j) const { return std::max<int64_t>(0, cuts[j] - pad); }
  int64_t ext_end(size_t j) const { return std::min<int64_t>(length, cuts[j + 1] + pad); }
  size_t tiles() const { return cuts.size() - 1; }
};

// Splits `length` into ceil(length / tile) cores, in whole units of `multiple` so every core
// (and so every tile with its context) keeps the divisibility. Blended cores are as equal as
// possible (no sliver of a last tile); pasted cores are Real-ESRGAN's grid, `tile` wide from
// the start with the remainder last, so that --no-blend compares like with like.
Axis split_axis(int64_t length, int64_t tile, int64_t multiple, int64_t pad, bool equal_cores) {
  Axis a;
  a.length = length;
  a.pad = pad;
  const int64_t units = length / multiple;
  const int64_t n = tile <= 0 ? 1 : (length + tile - 1) / tile;
  for (int64_t j = 0; j < n; ++j) a.cuts.push_back(equal_cores ? j * units / n * multiple : j * tile);
  a.cuts.push_back(length);
  return a;
}

// The blend weight of tile j at each output pixel of its extended range [ext_begin,
// ext_end) * scale. Interior core boundaries get a linear ramp of half-width h (output
// pixels) centred on the boundary, so the two tiles' weights sum to 1 there; the image
// border gets none. h = 0 pastes: the tile owns exactly its core.
std::vector<float> axis_weights(const Axis& a, size_t j, int scale, double h) {
  const int64_t e0 = a.ext_begin(j) * scale, e1 = a.ext_end(j) * scale;
  std::vector<float> w(e1 - e0);
  const double lo = (double)a.cuts[j] * scale, hi = (double)a.cuts[j + 1] * scale;
  for (int64_t p = e0; p < e1; ++p) {
    const double c = p + 0.5;
    double v = 1.0;
    if (j > 0) v *= h > 0 ? std::clamp((c - (lo - h)) / (2 * h), 0.0, 1.0) : (c >= lo ? 1.0 : 0.0);
    if (j + 1 < a.tiles()) v *= h > 0 ? std::clamp((hi + h - c) / (2 * h), 0.0, 1.0) : (c < hi ? 1.0 : 0.0);
    w[p - e0] = (float)v;
  }
  return w;
}

// Copies padded-coordinate rows [r0, r1) x columns [c0, c1) of the input into a new
// (1, C, r1-r0, c1-c0) tensor, mirroring coordinates outside the image.
Tensor extract_tile(const Tensor& in, int64_t pre, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t C = in.size(1), H = in.size(2), W = in.size(3);
  Tensor t = Tensor::empty({1, C, r1 - r0, c1 - c0});
  const float* src = in.data<float>();
  float* dst = t.data<float>();
  std::vector<int64_t> cols(c1 - c0);
  for (int64_t x = c0; x < c1; ++x) cols[x - c0] = reflect_index(x - pre, W);
  const bool direct = c0 - pre >= 0 && c1 - pre <= W;  // no mirrored column: one memcpy per row
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = r0; y < r1; ++y) {
      const float* row = src + (c * H + reflect_index(y - pre, H)) * W;
      float* out = dst + (c * (r1 - r0) + (y - r0)) * (c1 - c0);
      if (direct) {
        std::memcpy(out, row + (c0 - pre), sizeof(float) * (c1 - c0));
      } else {
        for (int64_t x = 0; x < c1 - c0; ++x) out[x] = row[cols[x]];
      }
    }
  return t;
}

}  // namespace

void check_tile_options(const TileOptions& opt) {
  const auto name = [&](InferOption o) { return option_name(o, opt.spelling); };
  SR_CHECK(opt.tile >= 0, name(InferOption::tile), " must be >= 0 (0: no tiling), got ", opt.tile);
  SR_CHECK(opt.tile_pad >= 0, name(InferOption::tile_pad), " must be >= 0, got ", opt.tile_pad);
  SR_CHECK(opt.pre_pad >= 0, name(InferOption::pre_pad), " must be >= 0, got ", opt.pre_pad);
}

void check_padded_input(int64_t width, int64_t height, const TileOptions& opt) {
  const int64_t pre = opt.pre_pad, limit = data::kDefaultMaxPixels;
  SR_CHECK(width > 0 && height > 0 && pre >= 0, "tiled upscale: bad size ", width, "x", height, " or pre-pad ", pre);
  // In 64 bits each side is exact (both terms fit in 32); the product may not be: an overflow
  // is over the limit too (a pre-pad of 2147483647 is a typo, not a request for 1.8e19 pixels).
  const int64_t pw = width + 2 * pre, ph = height + 2 * pre;
  int64_t pixels = 0;
  const bool overflow = __builtin_mul_overflow(pw, ph, &pixels);
  if (!overflow && pixels <= limit) return;
  const std::string count = overflow ? std::string("over 2^63") : std::to_string(pixels);
  if (pre == 0) fail("the ", width, "x", height, " image has ", count, " pixels, over the limit of ", limit);
  const bool fits_unpadded = width * height <= limit;
  fail("a pre-pad of ", pre, " makes the ", width, "x", height, " image ", pw, "x", ph, " = ", count,
       " pixels, over the limit of ", limit, fits_unpadded ? "; a few pixels of pre-pad (e.g. 10) are enough" : "");
}

void tiled_apply(const Tensor& input, int scale, int multiple, const TileOptions& opt, const TileFn& fn,
                 const BandSink& sink) {
  check_tile_options(opt);
  SR_CHECK(input.defined() && input.dim() == 4 && input.size(0) == 1 && input.device().is_cpu() &&
               input.dtype() == DType::f32 && input.is_contiguous(),
           "tiled_apply: expected a contiguous float32 CPU tensor (1, C, H, W), got ",
           input.defined() ? input.str() : std::string("undefined"));
  SR_CHECK(scale >= 1 && multiple >= 1, "tiled_apply: scale and multiple must be >= 1, got ", scale, " and ",
           multiple);
  const int64_t H = input.size(2), W = input.size(3), pre = opt.pre_pad, s = scale;
  const int64_t lead = opt.pre_pad_top_left ? pre : 0;  // padding above and left of the image
  check_padded_input(W, H, opt);
  // Every output pixel that gets weight keeps at least tile_pad of context: the blend
  // ramps reach `half` past a core boundary, so tiles read tile_pad + half beyond it.
  const int64_t tile = round_up(opt.tile, multiple), pad = round_up(opt.tile_pad, multiple);
  const int64_t half = opt.blend ? round_up((pad + 1) / 2, multiple) : 0;
  const Axis ay = split_axis(round_up(lead + H + pre, multiple), tile, multiple, pad + half, opt.blend);
  const Axis ax = split_axis(round_up(lead + W + pre, multiple), tile, multiple, pad + half, opt.blend);
  const double h = (double)half * s;

  // Column weights of every tile, and their sum per output column (the grid is a tensor
  // product, so the total weight at (y, x) is row_sum(y) * col_sum(x)).
  const int64_t out_w = ax.length * s;
  std::vector<std::vector<float>> wx(ax.tiles());
  std::vector<double> col_sum(out_w, 0.0);
  for (size_t i = 0; i < ax.tiles(); ++i) {
    wx[i] = axis_weights(ax, i, scale, h);
    for (size_t k = 0; k < wx[i].size(); ++k) col_sum[ax.ext_begin(i) * s + k] += wx[i][k];
  }
  int64_t cap = 0;  // the tallest band of tile rows, in output rows
  for (size_t j = 0; j < ay.tiles(); ++j) cap = std::max(cap, (ay.ext_end(j) - ay.ext_begin(j)) * s);

  // The rows [crop0, crop1) x columns [ccrop0, ccrop0 + W*s) are the real image.
  const int64_t crop0 = lead * s, crop1 = (lead + H) * s, ccrop0 = lead * s, crop_w = W * s;
  int64_t C_out = -1, base = 0;  // acc holds output rows [base, base + cap)
  std::vector<float> acc;
  std::vector<double> row_sum(cap, 0.0);

  auto emit_until = [&](int64_t limit) {
    // In chunks of kSinkRows, so the float band handed out (and whatever the sink makes
    // of it) stays small next to the accumulator.
    for (int64_t r0 = std::max(base, crop0); r0 < std::min(limit, crop1); r0 += kSinkRows) {
      const int64_t r1 = std::min({r0 + kSinkRows, limit, crop1});
      Tensor band = Tensor::empty({1, C_out, r1 - r0, crop_w});
      float* b = band.data<float>();
      for (int64_t c = 0; c < C_out; ++c)
        for (int64_t y = r0; y < r1; ++y) {
          const float* a = acc.data() + (c * cap + (y - base)) * out_w + ccrop0;
          float* o = b + (c * (r1 - r0) + (y - r0)) * crop_w;
          const double rs = row_sum[y - base];
          for (int64_t x = 0; x < crop_w; ++x) o[x] = (float)(a[x] / (rs * col_sum[ccrop0 + x]));
        }
      sink(r0 - crop0, band);
    }
    // Slide the window: rows from `limit` on move to the front; the freed tail is zeroed.
    const int64_t shift = limit - base, keep = cap - shift;
    for (int64_t c = 0; c < C_out; ++c) {
      float* plane = acc.data() + c * cap * out_w;
      if (keep > 0) std::memmove(plane, plane + shift * out_w, sizeof(float) * keep * out_w);
      std::fill(plane + std::max<int64_t>(keep, 0) * out_w, plane + cap * out_w, 0.0f);
    }
    if (keep > 0) std::copy(row_sum.begin() + shift, row_sum.end(), row_sum.begin());
    std::fill(row_sum.begin() + std::max<int64_t>(keep, 0), row_sum.end(), 0.0);
    base = limit;
  };

  for (size_t j = 0; j < ay.tiles(); ++j) {
    const int64_t r0 = ay.ext_begin(j), r1 = ay.ext_end(j);
    const std::vector<float> wy = axis_weights(ay, j, scale, h);
    for (size_t k = 0; k < wy.size(); ++k) row_sum[r0 * s - base + k] += wy[k];
    for (size_t i = 0; i < ax.tiles(); ++i) {
      const int64_t c0 = ax.ext_begin(i), c1 = ax.ext_end(i);
      const Tensor out = fn(extract_tile(input, lead, r0, r1, c0, c1)).contiguous();
      const int64_t th = (r1 - r0) * s, tw = (c1 - c0) * s;
      SR_CHECK(out.dim() == 4 && out.size(0) == 1 && out.size(2) == th && out.size(3) == tw &&
                   out.dtype() == DType::f32 && out.device().is_cpu(),
               "tiled_apply: a ", r1 - r0, "x", c1 - c0, " tile gave ", out.str(), ", expected (1, C, ", th, ", ",
               tw, ") float32 on the CPU (scale ", scale, ")");
      if (C_out < 0) {
        C_out = out.size(1);
        acc.assign((size_t)C_out * cap * out_w, 0.0f);
      }
      SR_CHECK(out.size(1) == C_out, "tiled_apply: tiles gave ", C_out, " and ", out.size(1), " channels");
      const float* o = out.data<float>();
      const std::vector<float>& wxi = wx[i];
      for (int64_t c = 0; c < C_out; ++c)
        for (int64_t y = 0; y < th; ++y) {
          const float wyy = wy[y];
          if (wyy == 0.0f) continue;
          float* a = acc.data() + (c * cap + (r0 * s + y - base)) * out_w + c0 * s;
          const float* src = o + (c * th + y) * tw;
          for (int64_t x = 0; x < tw; ++x) a[x] += wyy * wxi[x] * src[x];
        }
    }
    emit_until(j + 1 < ay.tiles() ? ay.ext_begin(j + 1) * s : ay.length * s);
  }
}

Tensor tiled_apply(const Tensor& input, int scale, int multiple, const TileOptions& opt, const TileFn& fn) {
  Tensor result;
  tiled_apply(input, scale, multiple, opt, fn, [&](int64_t first_row, const Tensor& band) {
    if (!result.defined())
      result = Tensor::empty({1, band.size(1), input.size(2) * scale, input.size(3) * scale});
    result.narrow(2, first_row, band.size(2)).copy_(band);
  });
  return result;
}

int net_scale(const Module& net) {
  if (const int scale = net.output_scale(); scale > 0) return scale;
  fail("infer: ", net.type_name(),
       " is not an upscaling network (use RRDBNet, SRVGGNetCompact, EDSR, MSRResNet, RCAN, SwinIR or HAT as "
       "network_g)");
}

int net_size_multiple(const Module& net) {
  net_scale(net);  // checks the type
  return net.input_multiple();
}

Tensor upscale_image(Module& net, const Tensor& img, const TileOptions& opt, Device device) {
  const TileFn fn = [&](const Tensor& tile) { return net.forward(tile.to(device)).to(Device::cpu()); };
  return tiled_apply(img.contiguous(), net_scale(net), net_size_multiple(net), opt, fn);
}

}  // namespace sr::infer
