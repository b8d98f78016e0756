// Every config key the degradation model and `srengine degrade` read, with its section,
// default and meaning: the training config's schema (train/config.cpp) registers these, so
// a misspelt degradation key is an error there, and a test checks that the list covers
// degradation_options_json() (options.h) so the two cannot drift.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sr::data::degrade {

struct OptionKey {
  std::string name;
  bool in_dataset;       // datasets.<name> (kernel keys) or the top level (pipeline keys)
  nlohmann::json def;    // the x4plus value (its JSON type is the key's type)
  std::string doc;
};

// Kernel keys, final_sinc_prob and crop_pad_size (dataset); the order keys with their *2
// twins, second_blur_prob and gt_usm (top level). use_hflip / use_rot / scale /
// manual_seed are ordinary schema keys and not listed.
const std::vector<OptionKey>& degradation_option_keys();

}  // namespace sr::data::degrade
