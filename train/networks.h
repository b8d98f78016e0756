// The one way srengine builds a network from a config: training, `srengine bench train`,
// `srengine test`, `infer --config`, `export`, `convert`, the C API and Python all call
// make_network on the typed section (config_types.h), after the one validator has set its
// defaults and derived values (network_g's scale from the top-level scale).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "layers/layer_options.h"
#include "layers/module.h"
#include "train/config_types.h"

namespace sr::train {

// A network from its option section, seeded from (seed, salt) (salt 1: G and its EMA copy,
// 2: D) so that it does not depend on what ran before, moved to `device`, its layers built
// with `layers` (a run's: layer_options(cfg); without a config: LayerOptions{}, the
// defaults under the environment overrides).
std::unique_ptr<Module> make_network(const NetworkConfig& net, uint64_t seed, uint64_t salt, Device device,
                                     const LayerOptions& layers);
// (the same from a network section's JSON: BasicSR's constructor arguments)
std::unique_ptr<Module> make_network(const nlohmann::json& opt, uint64_t seed, uint64_t salt, Device device,
                                     const LayerOptions& layers);

// The layer options a config asks for: its conv_impl / rdb_impl as a kernels::KernelChoice
// (kernels/kernel_choice.h: validated there, under the environment overrides).
LayerOptions layer_options(const Config& cfg);

// network_g of a parsed config; an error naming `source` (the config file) when it has none.
const NetworkConfig& generator_of(const Config& cfg, const std::string& source);

// network_g of a JSON config file read for ConfigUse::network (config.h); an option file
// (.yml) is an error saying where YAML is read (the CLI and the Python module:
// train/yaml/options_file.h's read_generator_config).
NetworkConfig read_json_generator_config(const std::string& path);

}  // namespace sr::train
