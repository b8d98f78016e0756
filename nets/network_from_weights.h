// The architecture of a weights file, for `srengine infer --weights W` without a config:
// srengine's own safetensors carry their network options in the "network_g" metadata entry
// (written by the trainer and `srengine convert -n/--config`); any other file (a .pth
// release, a converted file) is recognised from its BasicSR tensor names and shapes when it
// is an RRDBNet, an SRVGGNetCompact with PReLU, an MSRResNet, an upscaling SwinIR or a HAT.
// Anything else is an error asking for --config or -n.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "nets/model_option_names.h"

namespace sr {

// The metadata key srengine stores a generator's build_network options under (a JSON string).
inline constexpr const char* kNetworkMetadataKey = "network_g";

struct WeightsArchitecture {
  nlohmann::json network_g;  // build_network options
  std::string source;        // "file metadata" or "tensor shapes", for messages
};

// RRDBNet (any scale, feature width, block count, growth) or SRVGGNetCompact (PReLU) from
// the bare BasicSR names of a state dict (select_basicsr_weights strips params/params_ema
// and module., and maps the original ESRGAN's names, as this does for a direct caller). Both
// assume num_in_ch == num_out_ch, as every released model has it.
// An unrecognised file is an error that suggests a config or a model name, as `names` spells them.
nlohmann::json network_from_tensors(const NamedTensors& tensors, const std::string& path,
                                    const ModelOptionNames& names = {});

// Reads `path` once: the metadata's network options when present, else the shapes of the
// group `param_key` selects (load_basicsr_weights's rules).
WeightsArchitecture detect_weights_architecture(const std::string& path, const std::string& param_key = "auto",
                                                const ModelOptionNames& names = {});

}  // namespace sr
