// build_network: a network from a BasicSR option section (network_g / network_d), e.g.
// {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_block": 23}.
// Types: RRDBNet, UNetDiscriminatorSN, VGGStyleDiscriminator, SRVGGNetCompact, EDSR,
// MSRResNet, with BasicSR's argument names and defaults. An unknown type or key, a missing required key
// or a value of the wrong type is an sr::Error naming it (and the nearest valid name).
#pragma once
#include <memory>
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

}  // namespace sr
