// One image file through a network to an output file, in bounded memory: decoded once,
// upscaled tile by tile (tiled_upscale.h) and encoded row by row (ImageRowWriter), so
// the output never exists as a whole in float. Handles every format the data path
// reads: PNG, JPEG, WebP, TIFF, BMP (16-bit input stays 16-bit in PNG and TIFF output),
// gray (upscaled as RGB, written back gray with BT.601 luma) and alpha (upscaled
// separately, written back). A one-channel (Y) network upscales the Y of YCbCr, Cb and Cr by
// bicubic (FileOptions::net_channels).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "data/image.h"
#include "infer/tiled_upscale.h"
#include "layers/module.h"

namespace sr::infer {

// How the alpha channel is upscaled: bicubic (MATLAB imresize, per tile), linear (cv2's
// INTER_LINEAR on the whole plane: what Real-ESRGAN's alpha_upsampler other than 'realesrgan'
// does), or net (alpha as a gray RGB image through the net, Real-ESRGAN's 'realesrgan').
enum class AlphaMode { bicubic, linear, net };
// "bicubic", "linear" or "net"; anything else is an error naming the value.
AlphaMode parse_alpha_mode(const std::string& s);

struct FileOptions {
  TileOptions tile;
  AlphaMode alpha = AlphaMode::bicubic;  // see AlphaMode
  std::string ext = "auto";              // png, jpg, webp, tif, bmp, or auto (the input's own format)
  std::string suffix;                    // appended to the output stem ("photo" -> "photo_out")
  int jpeg_quality = 95;
  int webp_quality = 101;                // 1..100 lossy, 101 lossless (data::kWebpLossless)
  Device device = Device::cpu();         // where the net runs (it must already be there)
  // Real-ESRGAN's --outscale: 0 keeps the net's scale; any other value > 0 gives an output of
  // int(W * outscale) x int(H * outscale): the net's output is quantised to the output bit
  // depth, then resized with Lanczos-4 (data/resize_lanczos4.h), as Real-ESRGAN does with
  // cv2.INTER_LANCZOS4. Streamed like the rest: the net's output still never exists whole.
  double outscale = 0;
  bool tta = false;                      // 8-way flip/rotate ensemble (infer/tta.h) per tile
  // The image channels the net takes and gives (OpenedModel::channels): 3, RGB; or 1, a net
  // trained on the BT.601 Y channel (BasicSR's `color: y`): every image is converted to YCbCr
  // (data/ycbcr_matrix.h), Y goes through the net (tiled), Cb and Cr are upscaled by MATLAB
  // bicubic of the whole plane, and the three are converted back to RGB (gray images: R = G =
  // B in, luma out, so they stay gray).
  int net_channels = 3;
  // Called before each tile runs (the Python module checks for Ctrl-C there; it may throw).
  std::function<void()> between_tiles;
};

struct FileResult {
  std::string output;
  int in_width = 0, in_height = 0, out_width = 0, out_height = 0;
};

// <input stem>_<suffix>.<ext> (Real-ESRGAN's naming; a suffix that starts with '_', '-' or
// '.' is appended as it is; none: <stem>.<ext>); ext "auto" keeps the input's extension
// (lower case). The CLI checks the names of a whole run with data::plan_outputs before
// writing any.
std::string output_name(const std::string& input, const FileOptions& opt);
// <out_dir>/output_name(input, opt)
std::string output_path(const std::string& input, const std::string& out_dir, const FileOptions& opt);

// Each side of an output is below this (a row of floats is then under 16 GB, and every size
// fits an int): an output beyond it is an error naming the input size, the scale and the limit.
constexpr int64_t kMaxOutputSide = 1'000'000'000;

// The output size for an input of in_width x in_height: the net's scale, or outscale's
// int(in * outscale) (an error when that is 0), each side below kMaxOutputSide.
void output_size(int in_width, int in_height, int net_scale, double outscale, int& out_width, int& out_height,
                 Spelling spelling);

// output_size, and every other size limit of upscale_image_rows (the input with its pre-pad:
// check_padded_input): what it refuses for the image's size, refused from the numbers alone,
// before anything is allocated. srengine_output_size is this, so a C caller can ask first.
void checked_output_size(int in_width, int in_height, int net_scale, double outscale, const TileOptions& tile,
                         int& out_width, int& out_height);

// The core of upscale_file for an image in memory: `image` (consumed: its samples are freed
// before the net runs) through `net`, its rows handed to `sink` top to bottom as interleaved
// floats in the image's own layout (gray stays gray, alpha kept), at output_size's size.
// With an outscale the rows are quantised to `out_depth` bits before the resize.
using RowSink = std::function<void(const float* rows, int count)>;
void upscale_image_rows(Module& net, data::Image&& image, const FileOptions& opt, int out_depth, const RowSink& sink);

// Reads `input`, upscales it with `net` (eval mode, on opt.device) and writes `output`
// (format from its extension). Errors name the file.
FileResult upscale_file(Module& net, const std::string& input, const std::string& output, const FileOptions& opt);

}  // namespace sr::infer
