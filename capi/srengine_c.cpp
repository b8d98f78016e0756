// The C API (include/srengine/srengine.h) over infer/: open_model builds and loads the net,
// upscale_image_rows runs it tiled on a pixel buffer. Exceptions stop here: every entry point
// catches them and leaves the message for srengine_last_error().
#include "srengine/srengine.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "data/image.h"
#include "engine/autograd.h"
#include "engine/cpu_isa.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "infer/open_model.h"
#include "infer/upscale_file.h"
#include "layers/precision.h"

#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#endif

struct srengine_upscaler {
  sr::infer::OpenedModel model;
  sr::infer::FileOptions options;
  sr::Precision precision = sr::Precision::device_default;  // the convolutions' (srengine_set_precision)
};

namespace {

thread_local std::string g_last_error;

// Runs f; an exception becomes the thread's last error and `on_error` is returned.
// A CPU without an extension the library was built for (engine/cpu_isa.h) gets the reason
// from every call instead of SIGILL at the first vector instruction.
template <typename F, typename R>
R guarded(F&& f, R on_error) {
  g_last_error.clear();
  static const std::string missing_isa = sr::missing_build_isa();
  if (!missing_isa.empty()) {
    g_last_error = "srengine: " + missing_isa;
    return on_error;
  }
  try {
    return f();
  } catch (const std::exception& e) {
    g_last_error = e.what();
  } catch (...) {
    g_last_error = "unknown error";
  }
  return on_error;
}

// The device a `device` argument names: NULL or "" is CUDA when available, else the CPU.
std::string device_name(const char* device) {
  std::string s = device ? device : "";
  if (s.empty()) {
    s = "cpu";
#ifdef SRENGINE_WITH_CUDA
    if (sr::cuda::available()) s = "cuda";
#endif
  }
  return s;
}

sr::Device activate(const char* device) {
  const std::string s = device_name(device);
  const sr::Device d = sr::parse_device(s);
  sr::activate_device(d, "device " + s);
  return d;
}

void check_upscaler(const srengine_upscaler* u) { SR_CHECK(u, "srengine: the upscaler is NULL"); }

}  // namespace

extern "C" {

void srengine_options_init(srengine_options* o) {
  if (!o) return;
  std::memset(o, 0, sizeof *o);
  o->tile_pad = 10;
  o->denoise_strength = -1;
}

const char* srengine_version(void) { return SRENGINE_VERSION; }

const char* srengine_last_error(void) { return g_last_error.c_str(); }

srengine_upscaler* srengine_open(const srengine_options* o) {
  return guarded(
      [&]() -> srengine_upscaler* {
        SR_CHECK(o, "srengine_open: options is NULL (srengine_options_init fills one)");
        sr::infer::ModelSpec spec;
        if (o->model_name) spec.model_name = o->model_name;
        if (o->weights) spec.weights = o->weights;
        if (o->config) spec.config = o->config;
        if (o->model_dir) spec.model_dir = o->model_dir;
        spec.denoise_strength = o->denoise_strength;
        spec.spelling = sr::infer::Spelling::api;
        SR_CHECK(!spec.model_name.empty() || !spec.weights.empty(),
                 "srengine_open: give model_name or weights (with config when the file does not carry its "
                 "architecture)");
        auto u = std::make_unique<srengine_upscaler>();
        u->options.tile.tile = o->tile;
        u->options.tile.tile_pad = o->tile_pad;
        u->options.tile.pre_pad = o->pre_pad;
        u->options.tile.spelling = sr::infer::Spelling::api;
        sr::infer::check_tile_options(u->options.tile);
        u->options.tta = o->tta != 0;
        u->options.alpha = o->alpha_by_net ? sr::infer::AlphaMode::net : sr::infer::AlphaMode::bicubic;
        u->options.device = activate(o->device);
        u->model = sr::infer::open_model(spec);
        u->model.net->to(u->options.device);
        // a Y net: Y by the net, Cb and Cr by bicubic
        u->options.net_channels = sr::infer::upscaling_channels(u->model, "srengine_open");
        sr::infer::net_scale(*u->model.net);  // an upscaling net
        return u.release();
      },
      (srengine_upscaler*)nullptr);
}

void srengine_close(srengine_upscaler* u) { delete u; }

int srengine_scale(const srengine_upscaler* u) {
  return guarded(
      [&] {
        check_upscaler(u);
        return sr::infer::net_scale(*u->model.net);
      },
      -1);
}

int srengine_set_tile(srengine_upscaler* u, int tile, int tile_pad) {
  return guarded(
      [&] {
        check_upscaler(u);
        sr::infer::TileOptions t = u->options.tile;
        t.tile = tile;
        t.tile_pad = tile_pad;
        sr::infer::check_tile_options(t);
        u->options.tile = t;
        return 0;
      },
      -1);
}

int srengine_set_device(srengine_upscaler* u, const char* device) {
  return guarded(
      [&] {
        check_upscaler(u);
        // Checked before the device is made current, so a refused call changes nothing.
        sr::check_precision_supported(u->precision, sr::parse_device(device_name(device)), "native",
                                      "srengine_set_device: the upscaler's precision");
        const sr::Device d = activate(device);
        u->model.net->to(d);
        u->options.device = d;
        return 0;
      },
      -1);
}

int srengine_set_precision(srengine_upscaler* u, const char* precision) {
  return guarded(
      [&] {
        check_upscaler(u);
        SR_CHECK(precision, "srengine_set_precision: precision is NULL");
        const sr::Precision p = sr::parse_precision(precision, "srengine_set_precision");
        sr::check_precision_supported(p, u->options.device, "native", "srengine_set_precision");
        sr::set_precision(*u->model.net, p);
        u->precision = p;
        return 0;
      },
      -1);
}

int srengine_output_size(const srengine_upscaler* u, int width, int height, double outscale, int* out_width,
                         int* out_height) {
  return guarded(
      [&] {
        check_upscaler(u);
        SR_CHECK(out_width && out_height, "srengine_output_size: out_width and out_height must not be NULL");
        SR_CHECK(width > 0 && height > 0, "srengine_output_size: size must be positive, got ", width, "x", height);
        // The same check as srengine_upscale's, so a size refused here is refused there and no other.
        sr::infer::checked_output_size(width, height, sr::infer::net_scale(*u->model.net), outscale, u->options.tile,
                                       *out_width, *out_height);
        return 0;
      },
      -1);
}

int srengine_upscale(srengine_upscaler* u, const void* src, int width, int height, size_t src_stride, int channels,
                     int bit_depth, double outscale, void* dst, size_t dst_stride) {
  return guarded(
      [&] {
        check_upscaler(u);
        SR_CHECK(src && dst, "srengine_upscale: src and dst must not be NULL");
        SR_CHECK(width > 0 && height > 0, "srengine_upscale: size must be positive, got ", width, "x", height);
        SR_CHECK(channels >= 1 && channels <= 4, "srengine_upscale: channels must be 1..4, got ", channels);
        SR_CHECK(bit_depth == 8 || bit_depth == 16, "srengine_upscale: bit_depth must be 8 or 16, got ", bit_depth);
        const size_t bytes = bit_depth / 8, row = (size_t)width * channels * bytes;
        SR_CHECK(src_stride >= row, "srengine_upscale: src_stride ", src_stride, " is less than a row (", row,
                 " bytes)");
        // Every size limit, from the numbers alone: nothing below is allocated for a refused size.
        int out_w = 0, out_h = 0;
        sr::infer::checked_output_size(width, height, sr::infer::net_scale(*u->model.net), outscale, u->options.tile,
                                       out_w, out_h);
        const size_t out_row = (size_t)out_w * channels * bytes;
        SR_CHECK(dst_stride >= out_row, "srengine_upscale: dst_stride ", dst_stride, " is less than an output row (",
                 out_row, " bytes for ", out_w, " pixels)");

        sr::data::Image img(width, height, channels, bit_depth);
        const float top = bit_depth == 16 ? 65535.0f : 255.0f;
        for (int y = 0; y < height; ++y) {
          const unsigned char* s = static_cast<const unsigned char*>(src) + (size_t)y * src_stride;
          float* d = img.pixels.data() + (size_t)y * width * channels;
          for (size_t i = 0; i < (size_t)width * channels; ++i) {
            uint16_t v16;
            if (bit_depth == 16) std::memcpy(&v16, s + 2 * i, 2);
            d[i] = (float)(bit_depth == 16 ? v16 : s[i]) / top;
          }
        }
        sr::infer::FileOptions fo = u->options;
        fo.outscale = outscale;
        int y = 0;
        sr::NoGradGuard no_grad;
        sr::infer::upscale_image_rows(*u->model.net, std::move(img), fo, bit_depth, [&](const float* rows, int n) {
          for (int r = 0; r < n; ++r, ++y) {
            unsigned char* d = static_cast<unsigned char*>(dst) + (size_t)y * dst_stride;
            const float* s = rows + (size_t)r * out_w * channels;
            for (size_t i = 0; i < (size_t)out_w * channels; ++i) {
              SR_CHECK(std::isfinite(s[i]), "srengine_upscale: the net gave a non-finite value");
              if (bit_depth == 8) {
                d[i] = sr::data::quantize_u8(s[i]);
              } else {
                const uint16_t q = sr::data::quantize_u16(s[i]);
                std::memcpy(d + 2 * i, &q, 2);
              }
            }
          }
        });
        SR_CHECK(y == out_h, "srengine_upscale: produced ", y, " of ", out_h, " rows");
        return 0;
      },
      -1);
}

}  // extern "C"
