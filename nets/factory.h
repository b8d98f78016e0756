// build_network: a network from a BasicSR option section (network_g / network_d), e.g.
// {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_block": 23}.
// Types: RRDBNet, UNetDiscriminatorSN, VGGStyleDiscriminator, SRVGGNetCompact, EDSR,
// MSRResNet, with BasicSR's argument names and defaults. An unknown type or key, a missing required key
// or a value of the wrong type is an sr::Error naming it (and the nearest valid name).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/layer_options.h"
#include "layers/module.h"

namespace sr {

// `layers` reaches every layer of the network (its kernel variants; the default: the
// table's under the environment overrides, kernels/kernel_choice.h).
std::unique_ptr<Module> build_network(const nlohmann::json& opt, const LayerOptions& layers = {});

// The network types build_network knows.
std::vector<std::string> network_types();

// The image channels a network section takes and gives, read as build_network reads them, so
// that a config can check them against its data before anything is built: the keys
// (num_in_ch / num_out_ch; SwinIR and HAT: in_chans both ways; the discriminators: num_in_ch
// and no output image) and their values, the type's default where the key is left out. A value
// is nullopt where the key is missing without a default or not an integer (build_network
// reports that). nullopt for a section without a known type.
struct NetworkChannels {
  std::string in_key, out_key;  // out_key empty: a discriminator (its output is no image)
  std::optional<int64_t> in, out;
};
std::optional<NetworkChannels> network_channels(const nlohmann::json& opt);

}  // namespace sr
