// The one way the commands read a config file: srengine's JSON as it is, or a BasicSR /
// Real-ESRGAN option file (.yml / .yaml) translated (train/basicsr_options.h); then the
// `--set` overrides (srengine's keys, after translation) and the one validator, with the
// translation's problems heading the validator's in one numbered list.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/config.h"
#include "train/config_types.h"

namespace sr::train {

// .yml or .yaml (any case).
bool is_yaml_path(const std::string& path);

// What a file says before validation: the config (with its folder recorded for resolving
// relative dataset paths: the config's folder first, then the working directory), the
// notes of ignored keys and the translation's problems (both empty for JSON).
struct ConfigFile {
  nlohmann::json config;
  std::vector<std::string> notes, problems;
  std::string resume_state;  // an option file's path.resume_state
};
// ConfigUse::network reads only the keys that describe network_g from an option file;
// ConfigUse::degradation leaves out its network, train, val, path and logger sections and
// every dataset but train (whose folders are dropped), for `srengine degrade`. `debug`:
// BasicSR's --debug (the name gets a "debug_" prefix and debug mode is on: apply_debug_mode).
ConfigFile read_config_or_options(const std::string& path, ConfigUse use = ConfigUse::train, bool debug = false);


struct LoadedConfig {
  nlohmann::json config;           // validated, defaults filled
  std::vector<std::string> notes;  // to show the user
  std::string resume_state;        // an option file's path.resume_state ("" if none)
};
// read + overrides + validate. Every problem (translation and validation) in one sr::Error.
LoadedConfig load_config_or_options(const std::string& path, const std::vector<std::string>& overrides,
                                    ConfigUse use, bool debug = false);

// network_g of a JSON config or an option file (ConfigUse::network: nothing else is read
// or has to exist), as training builds it (train/networks.h). Notes are printed.
NetworkConfig read_generator_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Prints the notes to stderr, one line each; under mpirun only rank 0 does (every rank
// reads the same file, and N copies of each note would bury the log).
void print_config_notes(const std::vector<std::string>& notes);

}  // namespace sr::train
