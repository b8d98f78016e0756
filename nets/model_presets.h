// Released models by name (`srengine infer -n NAME`): the published architecture of each
// Real-ESRGAN / ESRGAN release as a network_g section, and the file names its weights go
// by, so a user needs only the weights file in a models folder. Nothing is downloaded: a
// missing file is an error naming the file, the folders searched and the release address.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nets/model_option_names.h"

namespace sr {

struct ModelPreset {
  std::string name;                     // as Real-ESRGAN's -n spells it
  nlohmann::json network_g;             // for build_network
  std::vector<std::string> file_names;  // tried in this order in each folder
  std::string url;                      // where the release publishes the weights
  std::string summary;
};

// Every preset, in Real-ESRGAN's order.
const std::vector<ModelPreset>& model_presets();
std::vector<std::string> model_preset_names();
// The preset called `name`; an unknown name is an error listing the known ones (and what
// else to give, as `names` spells it).
const ModelPreset& find_model_preset(const std::string& name, const ModelOptionNames& names = {});

// Where weights are looked for: `model_dir`, then every folder of $SRENGINE_MODELS
// (colon-separated), without repeats.
std::vector<std::string> model_search_dirs(const std::string& model_dir);

// The first existing <dir>/<file name> over `dirs` x preset.file_names; when none exists,
// an error naming the expected file, the folders searched and where to get it.
std::string locate_model_weights(const ModelPreset& preset, const std::vector<std::string>& dirs,
                                 const ModelOptionNames& names = {});

}  // namespace sr
