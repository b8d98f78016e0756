// File-level upscaling: decode, split colour and alpha, tile through the net, stream the
// rows into the encoder (see upscale_file.h).
#include "infer/upscale_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <vector>

#include "data/image.h"
#include "data/image_io.h"
#include "data/image_row_writer.h"
#include "data/imresize.h"
#include "engine/error.h"

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

// BT.601 luma of the three planes of (1, 3, h, w) as (1, 1, h, w), as convert_channels.
Tensor luma(const Tensor& rgb) {
  const int64_t plane = rgb.size(2) * rgb.size(3);
  Tensor y = Tensor::empty({1, 1, rgb.size(2), rgb.size(3)});
  const float* s = rgb.data<float>();
  float* d = y.data<float>();
  for (int64_t i = 0; i < plane; ++i) d[i] = 0.299f * s[i] + 0.587f * s[plane + i] + 0.114f * s[2 * plane + i];
  return y;
}

// What one tile becomes: colour through the net; alpha (when present) by bicubic, or as
// a gray RGB image through the net and back to one plane.
TileFn make_tile_fn(Module& net, int scale, const FileOptions& opt) {
  return [&net, scale, opt](const Tensor& tile) -> Tensor {
    const Tensor rgb = tile.narrow(1, 0, 3).contiguous();
    Tensor out_rgb = net.forward(rgb.to(opt.device)).to(Device::cpu()).contiguous();
    if (tile.size(1) == 3) return out_rgb;
    const Tensor a = tile.narrow(1, 3, 1).contiguous();
    Tensor out_a;
    if (opt.alpha == AlphaMode::bicubic) {
      out_a = scale == 1 ? a : data::imresize(a, (double)scale);
    } else {
      Tensor a3 = Tensor::empty({1, 3, a.size(2), a.size(3)});
      for (int k = 0; k < 3; ++k) a3.narrow(1, k, 1).copy_(a);
      out_a = luma(net.forward(a3.to(opt.device)).to(Device::cpu()).contiguous());
    }
    Tensor out = Tensor::empty({1, 4, out_rgb.size(2), out_rgb.size(3)});
    out.narrow(1, 0, 3).copy_(out_rgb);
    out.narrow(1, 3, 1).copy_(out_a);
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
  if (s == "net") return AlphaMode::net;
  fail("--alpha must be bicubic or net, got '", s, "'");
}

std::string output_name(const std::string& input, const FileOptions& opt) {
  const fs::path in(input);
  const std::string ext = opt.ext == "auto" ? lower(in.extension().string()) : "." + opt.ext;
  return in.stem().string() + opt.suffix + ext;
}

std::string output_path(const std::string& input, const std::string& out_dir, const FileOptions& opt) {
  return (fs::path(out_dir) / output_name(input, opt)).string();
}

FileResult upscale_file(Module& net, const std::string& input, const std::string& output, const FileOptions& opt) {
  const int scale = net_scale(net), multiple = net_size_multiple(net);
  Tensor planes;
  int gray = 0, alpha = 0, depth = 8, W = 0, H = 0;
  {
    const data::Image img = data::read_image(input);  // freed before the net runs
    gray = img.color_channels() == 1;
    alpha = img.has_alpha();
    depth = img.bit_depth;
    W = img.width;
    H = img.height;
    planes = image_planes(img);
  }
  const bool jpeg = lower(fs::path(output).extension().string()) != ".png";
  const int out_channels = (gray ? 1 : 3) + alpha;
  FileResult r{output, W, H, W * scale, H * scale};
  // Opened before any tile runs, so an impossible output (alpha in JPEG) costs nothing.
  data::EncodeOptions eo;
  eo.jpeg_quality = opt.jpeg_quality;
  data::ImageRowWriter writer(output, r.out_width, r.out_height, out_channels, jpeg ? 8 : depth, eo);

  std::vector<float> rows;
  const BandSink sink = [&](int64_t, const Tensor& band) {
    const int64_t n = band.size(2), w = band.size(3), plane = n * w;
    const float* b = band.data<float>();
    rows.resize((size_t)plane * out_channels);
    for (int64_t i = 0; i < plane; ++i) {
      float* px = rows.data() + i * out_channels;
      if (gray) {
        px[0] = 0.299f * b[i] + 0.587f * b[plane + i] + 0.114f * b[2 * plane + i];
      } else {
        for (int k = 0; k < 3; ++k) px[k] = b[k * plane + i];
      }
      if (alpha) px[out_channels - 1] = b[3 * plane + i];
    }
    writer.write_rows(rows.data(), (int)n);
  };
  tiled_apply(planes, scale, multiple, opt.tile, make_tile_fn(net, scale, opt), sink);
  writer.finish();
  return r;
}

}  // namespace sr::infer
