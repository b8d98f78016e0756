// Loading BasicSR-style weight files into a network. Keys may be bare
// ("conv_first.weight"), or wrapped as BasicSR checkpoints are ("params.conv_first.weight",
// "params_ema.conv_first.weight"; tools/convert_pth.py keeps the wrapper as a prefix),
// and may carry DataParallel's "module." prefix.
#pragma once
#include <string>

#include "layers/module.h"

namespace sr {

// param_key: "params_ema", "params", "" (bare keys) or "auto" (params_ema if present,
// else params, else bare). Returns which one was used. A missing file, a key set with no
// tensors, or (strict) any missing / unexpected / mis-shaped key is an error naming the file.
std::string load_basicsr_weights(Module& net, const std::string& path, const std::string& param_key = "auto",
                                 bool strict = true);

}  // namespace sr
