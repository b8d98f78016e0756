// Tiled, seam-free upscaling of a whole image of any size with a network (or any
// per-tile function), with memory bounded by the tile size rather than the image size.
//
// Geometry, in input pixels: the image is reflect-padded by pre_pad on every side, then
// on the bottom/right up to a multiple of `multiple` (what the net needs: RRDBNet x1
// unshuffles by 4, x2 by 2). Padding is virtual (an index mirror), never a copy. The
// padded image is cut into a grid of core tiles of at most `tile` (multiples of
// `multiple`). Neighbouring cores are blended across their boundary with a linear ramp
// of half-width `half` = tile_pad/2 (rounded up to the multiple) on each side; the two
// tiles' weights sum to 1 and weights are accumulated and normalised. Each tile is run
// with tile_pad + half of extra context per side (never past the padded image, so border
// tiles see the same border as an untiled run): every output pixel that gets any weight
// has seen at least tile_pad of context, as in Real-ESRGAN's pasting, but the tiles'
// errors meet continuously instead of jumping at the boundary. Finished output rows go
// to a sink band by band and are cropped back exactly to scale x the input size, so only
// one band of tiles is ever held in float.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/tensor.h"
#include "infer/option_names.h"
#include "layers/module.h"

namespace sr::infer {

struct TileOptions {
  int tile = 0;       // core tile side in input pixels; 0: the whole image in one piece
  int tile_pad = 10;  // least context of any used output pixel (input pixels); blend width
  int pre_pad = 0;    // reflect padding around the whole image, cropped off the output
  bool blend = true;  // false: paste the core of each tile, on Real-ESRGAN's grid (tile-wide cores, the rest last)
  // false: pre_pad on the right and bottom only, as Real-ESRGAN's RealESRGANer pads (its top
  // and left borders then get no extra context); the Python module's RealESRGANer uses it.
  bool pre_pad_top_left = true;
  Spelling spelling = Spelling::cli;  // how errors name tile, tile_pad and pre_pad
};

// (1, C, h, w) float32 CPU tile -> (1, C', h*scale, w*scale) float32 CPU tensor.
using TileFn = std::function<Tensor(const Tensor&)>;
// Receives finished output rows top to bottom: `band` is (1, C', rows, out_width),
// float32 CPU, contiguous, and starts at output row `first_row`.
using BandSink = std::function<void(int64_t first_row, const Tensor& band)>;

// Checks the options (non-negative, tile >= multiple) and names the bad value.
void check_tile_options(const TileOptions& opt);

// The input with its pre_pad is held whole (and, untiled, seen by the net at once), so it
// must stay within the decoders' pixel limit (data::kDefaultMaxPixels). An error naming the
// size, the pre-pad (when there is one) and the limit; from the numbers alone, so callers
// check before allocating anything. The wording names no front end's flag: the CLI, the
// C API and the Python module all reach it.
void check_padded_input(int64_t width, int64_t height, const TileOptions& opt);

// Runs `fn` over the tiles of `input` (1, C, H, W) float32 CPU and streams the blended,
// cropped (1, C', H*scale, W*scale) result into `sink`. `multiple` >= 1 is the size
// divisor the function needs; tile and tile_pad are rounded up to multiples of it.
void tiled_apply(const Tensor& input, int scale, int multiple, const TileOptions& opt, const TileFn& fn,
                 const BandSink& sink);

// The same, collected into one tensor (tests, dataset evaluation).
Tensor tiled_apply(const Tensor& input, int scale, int multiple, const TileOptions& opt, const TileFn& fn);

// The upscaling factor and input-size divisor of a generator (Module::output_scale and
// input_multiple); a module that is not an upscaling network is an error naming it.
int net_scale(const Module& net);
int net_size_multiple(const Module& net);

// An RGB (1, 3, H, W) float32 CPU image of any size through `net` (already on `device`,
// in eval mode), tiled as `opt` says: (1, 3, H*scale, W*scale) on the CPU.
Tensor upscale_image(Module& net, const Tensor& img, const TileOptions& opt, Device device = Device::cpu());

}  // namespace sr::infer
