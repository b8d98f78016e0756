// The image channels of a config's datasets (datasets.<name>.color: rgb gives three, y one)
// against what uses them: network_g's input and output channels, network_d's input, and the
// parts that only take RGB (the VGG19 perceptual loss, LPIPS, Real-ESRGAN's degradations).
// Checked with the rest of the config, so a mismatch stops `config --check` and `train`
// before anything is built, with a message naming both keys.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sr::train {

// One message per mismatch; none when everything agrees. `config` is a config the schema has
// validated (defaults filled in).
std::vector<std::string> data_channel_problems(const nlohmann::json& config);

}  // namespace sr::train
