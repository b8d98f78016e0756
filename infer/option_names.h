// The names the inference options go by for each caller: `srengine infer`'s flags
// (--tile-pad) or the C and Python APIs' arguments (tile_pad), so that one check in the
// inference core words its error in the language of whoever gave the value.
#pragma once
#include "nets/model_option_names.h"

namespace sr::infer {

enum class Spelling {
  cli,  // srengine infer / test / export flags
  api,  // srengine_options fields and the Python module's keyword arguments
};

enum class InferOption { model_name, config, weights, model_dir, param_key, denoise_strength, dni, dni_alpha, tile,
                         tile_pad, pre_pad, outscale };

// "--tile-pad" or "tile_pad".
const char* option_name(InferOption option, Spelling spelling);

// The names the model lookup's errors suggest (nets/model_option_names.h), in this spelling.
ModelOptionNames model_option_names(Spelling spelling);

}  // namespace sr::infer
