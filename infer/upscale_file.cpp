// File-level upscaling: decode, split colour and alpha, tile through the net, stream the
// rows into the encoder (see upscale_file.h).
#include "infer/upscale_file.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "data/image.h"
#include "data/image_io.h"
#include "data/image_row_writer.h"
#include "data/imresize.h"
#include "data/imresize_rows.h"
#include "data/resize_lanczos4.h"
#include "data/resize_linear.h"
#include "data/ycbcr_matrix.h"
#include "engine/error.h"
#include "infer/tta.h"

namespace sr::infer {

namespace fs = std::filesystem;

namespace {

// The decoded image as planes (1, 3, H, W), or (1, 4, H, W) with alpha as the 4th plane;
// gray is replicated to RGB because the nets are trained on colour.
Tensor image_planes(const data::Image& img) {
  const int64_t plane = img.pixel_count(), C = img.has_alpha() ? 4 : 3;
  Tensor t = Tensor::empty({1, C, img.height, img.width});
  float* out = t.data<float>();
  const int c = img.channels;
  for (int64_t i = 0; i < plane; ++i) {
    const float* px = img.pixels.data() + i * c;
    for (int k = 0; k < 3; ++k) out[k * plane + i] = px[c <= 2 ? 0 : k];
    if (C == 4) out[3 * plane + i] = px[c - 1];
  }
  return t;
}

// For a network that takes one channel: the image's BT.601 Y as planes (1, 1, H, W), or
// (1, 2, H, W) with alpha as the 2nd plane, and its Cb, Cr interleaved per pixel at input size
// in `chroma` (upscaled by bicubic outside the tiles). Gray counts as R = G = B, as the Y
// datasets read it (data/ycbcr.h), so its Cb = Cr = 128/255 and it comes back gray.
Tensor ycbcr_planes(const data::Image& img, std::vector<float>& chroma) {
  const int64_t plane = img.pixel_count(), C = img.has_alpha() ? 2 : 1;
  Tensor t = Tensor::empty({1, C, img.height, img.width});
  chroma.resize((size_t)plane * 2);
  float* out = t.data<float>();
  const int c = img.channels;
  for (int64_t i = 0; i < plane; ++i) {
    const float* px = img.pixels.data() + i * c;
    const float r = px[0], g = px[c <= 2 ? 0 : 1], b = px[c <= 2 ? 0 : 2];
    data::bt601_rgb_to_ycbcr(r, g, b, out[i], chroma[2 * i], chroma[2 * i + 1]);
    if (C == 2) out[plane + i] = px[c - 1];
  }
  return t;
}

// BT.601 luma of a net's R, G, B outputs, each clamped to [0, 1] first: Real-ESRGAN clamps the
// net's output, then turns it gray (cv2.COLOR_BGR2GRAY), for gray images and for alpha.
float clamped_luma(float r, float g, float b) {
  const auto c = [](float v) { return std::clamp(v, 0.0f, 1.0f); };
  return 0.299f * c(r) + 0.587f * c(g) + 0.114f * c(b);
}

// clamped_luma of the three planes of (1, 3, h, w) as (1, 1, h, w).
Tensor luma(const Tensor& rgb) {
  const int64_t plane = rgb.size(2) * rgb.size(3);
  Tensor y = Tensor::empty({1, 1, rgb.size(2), rgb.size(3)});
  const float* s = rgb.data<float>();
  float* d = y.data<float>();
  for (int64_t i = 0; i < plane; ++i) d[i] = clamped_luma(s[i], s[plane + i], s[2 * plane + i]);
  return y;
}

// MATLAB's bicubic upscaling of an alpha tile (1, 1, h, w) by the net's scale. Not
// data::imresize, whose output limit guards resizes a user asks for: untiled, the tile is the
// whole image, and its alpha must fit wherever its colour fits (the input limit bounds both).
Tensor upscale_alpha_bicubic(const Tensor& a, int scale) {
  const int h = (int)a.size(2), w = (int)a.size(3);
  Tensor out = Tensor::empty({1, 1, (int64_t)h * scale, (int64_t)w * scale});
  data::imresize_interleaved(a.data<float>(), h, w, 1, (double)scale, true, out.data<float>());
  return out;
}

// What one tile becomes: colour (the first `nc` planes: RGB, or Y for a one-channel net)
// through the net; alpha (the plane after them, when present) by bicubic, or through the net
// as a gray image (three equal planes, back to one by clamped luma; for a one-channel net the
// plane itself, clamped to [0, 1]).
TileFn make_tile_fn(Module& net, int scale, int nc, const FileOptions& opt) {
  const auto run = [&net, opt](const Tensor& x) -> Tensor {
    const auto plain = [&](const Tensor& t) { return net.forward(t.to(opt.device)).to(Device::cpu()).contiguous(); };
    return opt.tta ? tta_apply(x, plain) : plain(x);
  };
  return [&net, scale, nc, opt, run](const Tensor& tile) -> Tensor {
    if (opt.between_tiles) opt.between_tiles();
    const Tensor color = tile.narrow(1, 0, nc).contiguous();
    Tensor out_color = run(color);
    SR_CHECK(out_color.size(1) == nc, "the network took ", nc, " channel(s) and gave ", out_color.size(1),
             "; inference needs as many out as in (3: RGB, or 1: the Y of YCbCr)");
    if (tile.size(1) == nc) return out_color;
    const Tensor a = tile.narrow(1, nc, 1).contiguous();
    Tensor out_a;
    SR_CHECK(opt.alpha != AlphaMode::linear, "tile function: linear alpha is resized outside the tiles");
    if (opt.alpha == AlphaMode::bicubic) {
      out_a = scale == 1 ? a : upscale_alpha_bicubic(a, scale);
    } else if (nc == 1) {
      out_a = run(a);
      float* v = out_a.data<float>();
      for (int64_t i = 0; i < out_a.numel(); ++i) v[i] = std::clamp(v[i], 0.0f, 1.0f);
    } else {
      Tensor a3 = Tensor::empty({1, 3, a.size(2), a.size(3)});
      for (int k = 0; k < 3; ++k) a3.narrow(1, k, 1).copy_(a);
      out_a = luma(run(a3));
    }
    Tensor out = Tensor::empty({1, nc + 1, out_color.size(2), out_color.size(3)});
    out.narrow(1, 0, nc).copy_(out_color);
    out.narrow(1, nc, 1).copy_(out_a);
    return out;
  };
}

std::string lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

}  // namespace

AlphaMode parse_alpha_mode(const std::string& s) {
  if (s == "bicubic") return AlphaMode::bicubic;
  if (s == "linear") return AlphaMode::linear;
  if (s == "net") return AlphaMode::net;
  fail("--alpha must be bicubic, linear or net, got '", s, "'");
}

std::string output_name(const std::string& input, const FileOptions& opt) {
  const fs::path in(input);
  const std::string ext = opt.ext == "auto" ? lower(in.extension().string()) : "." + opt.ext;
  const bool joined = opt.suffix.empty() || opt.suffix[0] == '_' || opt.suffix[0] == '-' || opt.suffix[0] == '.';
  return in.stem().string() + (joined ? "" : "_") + opt.suffix + ext;
}

std::string output_path(const std::string& input, const std::string& out_dir, const FileOptions& opt) {
  return (fs::path(out_dir) / output_name(input, opt)).string();
}

void output_size(int in_width, int in_height, int net_scale, double outscale, int& out_width, int& out_height,
                 Spelling spelling) {
  const char* outscale_name = option_name(InferOption::outscale, spelling);
  SR_CHECK(in_width > 0 && in_height > 0, "upscale: the image size must be positive, got ", in_width, "x", in_height);
  SR_CHECK(std::isfinite(outscale) && outscale >= 0, outscale_name, " must be a number > 0, got ", outscale);
  const bool resized = outscale != 0 && outscale != (double)net_scale;
  // In double: exact for the net's scale (an int times 1..8 is far below 2^53), and Python's
  // int(w * outscale), the product truncated, for an outscale.
  const double scale = resized ? outscale : (double)net_scale;
  const double w = std::trunc(in_width * scale), h = std::trunc(in_height * scale);
  SR_CHECK(!resized || (w >= 1 && h >= 1), outscale_name, " ", outscale, " makes the ", in_width, "x", in_height,
           " image ", w, "x", h, ": less than one pixel");
  const auto side = [](double v) { return v < 1e18 ? std::to_string((int64_t)v) : str_cat(v); };
  SR_CHECK(w < (double)kMaxOutputSide && h < (double)kMaxOutputSide, "the ", in_width, "x", in_height, " image at x",
           scale, " makes an output of ", side(w), "x", side(h), " pixels; each side must be below ", kMaxOutputSide);
  out_width = (int)w;
  out_height = (int)h;
}

void checked_output_size(int in_width, int in_height, int net_scale, double outscale, const TileOptions& tile,
                         int& out_width, int& out_height) {
  check_tile_options(tile);
  output_size(in_width, in_height, net_scale, outscale, out_width, out_height, tile.spelling);
  check_padded_input(in_width, in_height, tile);
}

void upscale_image_rows(Module& net, data::Image&& image, const FileOptions& opt, int out_depth, const RowSink& sink) {
  const int scale = net_scale(net), multiple = net_size_multiple(net);
  const bool gray = image.color_channels() == 1, alpha = image.has_alpha();
  const int W = image.width, H = image.height, out_channels = image.channels;
  SR_CHECK(out_depth == 8 || out_depth == 16, "upscale: output bit depth must be 8 or 16, got ", out_depth);
  SR_CHECK(opt.net_channels == 3 || opt.net_channels == 1,
           "upscale: the network's image channels must be 3 (RGB) or 1 (Y), got ", opt.net_channels);
  int out_w = 0, out_h = 0;
  checked_output_size(W, H, scale, opt.outscale, opt.tile, out_w, out_h);  // before the planes are allocated
  // A one-channel net sees Y; Cb and Cr stay here, at input size, and are upscaled by MATLAB
  // bicubic of the whole plane one output row at a time as the Y rows arrive (so they do not
  // depend on tiles or pre-pad, and hold no more memory than the RGB planes they replace).
  const int nc = opt.net_channels;
  std::vector<float> chroma;
  Tensor planes = nc == 1 ? ycbcr_planes(image, chroma) : image_planes(image);
  data::Image().pixels.swap(image.pixels);  // the decoded samples are freed before the net runs
  std::optional<data::ImresizeRows> chroma_rows;
  if (nc == 1) chroma_rows.emplace(chroma.data(), H, W, 2, (double)scale);
  std::vector<float> chroma_row(nc == 1 ? (size_t)W * scale * 2 : 0);

  // AlphaMode::linear resizes the whole alpha plane as it stands (no pre-pad, no tiles), one
  // output row at a time as the colour rows arrive; the tiles then carry colour only.
  const bool alpha_linear = alpha && opt.alpha == AlphaMode::linear;
  std::vector<float> alpha_plane;
  data::LinearAxis alpha_x, alpha_y;
  if (alpha_linear) {
    const float* a = planes.data<float>() + nc * (int64_t)W * H;
    alpha_plane.assign(a, a + (int64_t)W * H);
    planes = planes.narrow(1, 0, nc).contiguous();
    alpha_x = data::linear_axis(W, W * scale);
    alpha_y = data::linear_axis(H, H * scale);
  }
  std::vector<float> alpha_row(alpha_linear ? (size_t)W * scale : 0);

  // With --outscale the net's rows are quantised to the output depth (as Real-ESRGAN resizes
  // its uint8 / uint16 output) and resized on their way to the sink.
  std::unique_ptr<data::Lanczos4RowResizer> resizer;
  if (out_w != W * scale || out_h != H * scale)
    resizer = std::make_unique<data::Lanczos4RowResizer>(W * scale, H * scale, out_w, out_h, out_channels,
                                                         [&](const float* row) { sink(row, 1); });
  const float levels = out_depth == 16 ? 65535.0f : 255.0f;

  std::vector<float> rows;
  const BandSink band_sink = [&](int64_t first_row, const Tensor& band) {
    const int64_t n = band.size(2), w = band.size(3), plane = n * w;
    const float* b = band.data<float>();
    rows.resize((size_t)plane * out_channels);
    // A non-finite output (an fp16 overflow, diverged weights) is an error, never a black image.
    for (int64_t i = 0; i < band.numel(); ++i)
      SR_CHECK(std::isfinite(b[i]), "the net gave a non-finite value (NaN or infinity)");
    for (int64_t i = 0; i < plane; ++i) {
      float rgb[3];
      if (nc == 1) {  // the net's Y with the bicubic Cb, Cr of this row, back to RGB
        const int64_t x = i % w;
        if (x == 0) chroma_rows->row((int)(first_row + i / w), chroma_row.data());
        data::bt601_ycbcr_to_rgb(b[i], chroma_row[2 * x], chroma_row[2 * x + 1], rgb[0], rgb[1], rgb[2]);
      } else {
        for (int k = 0; k < 3; ++k) rgb[k] = b[k * plane + i];
      }
      float* px = rows.data() + i * out_channels;
      if (gray) {
        px[0] = clamped_luma(rgb[0], rgb[1], rgb[2]);
      } else {
        for (int k = 0; k < 3; ++k) px[k] = rgb[k];
      }
      if (alpha && !alpha_linear) px[out_channels - 1] = b[nc * plane + i];
    }
    for (int64_t y = 0; alpha_linear && y < n; ++y) {
      data::resize_linear_row(alpha_plane.data(), W, H, alpha_x, alpha_y, (int)(first_row + y), alpha_row.data());
      for (int64_t x = 0; x < w; ++x) rows[(y * w + x) * out_channels + out_channels - 1] = alpha_row[x];
    }
    if (!resizer) {
      sink(rows.data(), (int)n);
      return;
    }
    for (float& v : rows) {
      v = (out_depth == 16 ? (float)data::quantize_u16(v) : (float)data::quantize_u8(v)) / levels;
    }
    resizer->push_rows(rows.data(), (int)n);
  };
  tiled_apply(planes, scale, multiple, opt.tile, make_tile_fn(net, scale, nc, opt), band_sink);
}

FileResult upscale_file(Module& net, const std::string& input, const std::string& output, const FileOptions& opt) {
  data::Image img = data::read_image(input);
  // 16-bit input stays 16-bit where the format has it (PNG, TIFF).
  const int out_depth = data::storable_bit_depth(output, img.bit_depth);
  FileResult r{output, img.width, img.height, 0, 0};
  checked_output_size(img.width, img.height, net_scale(net), opt.outscale, opt.tile, r.out_width, r.out_height);
  // Opened before any tile runs, so an impossible output (alpha in JPEG) costs nothing.
  data::EncodeOptions eo;
  eo.jpeg_quality = opt.jpeg_quality;
  eo.webp_quality = opt.webp_quality;
  std::optional<data::ImageRowWriter> opened;
  try {
    opened.emplace(output, r.out_width, r.out_height, img.channels, out_depth, eo);
  } catch (const Error& e) {  // the format's limits: say which size was asked for, and why
    fail(e.what(), " (", img.width, "x", img.height, " at x", opt.outscale > 0 ? opt.outscale : net_scale(net),
         " makes ", r.out_width, "x", r.out_height, ")");
  }
  data::ImageRowWriter& writer = *opened;
  try {
    upscale_image_rows(net, std::move(img), opt, out_depth,
                       [&](const float* rows, int n) { writer.write_rows(rows, n); });
  } catch (const Error& e) {
    fail("'", input, "': ", e.what());
  }
  writer.finish();
  return r;
}

}  // namespace sr::infer
