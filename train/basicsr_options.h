// BasicSR / Real-ESRGAN option files (their YAML, already read into JSON by
// train/yaml/read_yaml.h) translated to srengine's config JSON, which then goes through the
// one validator (validate_config). The flat `train:` section becomes one stage whose type
// comes from `model_type`; keys with no effect here become one note each; keys that would
// change results and cannot be honoured become problems, reported together with the
// validator's (never dropped silently). docs/BASICSR_YAML.md has the whole mapping.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sr::train {

struct BasicsrTranslation {
  nlohmann::json config;              // srengine's config, not yet validated
  std::vector<std::string> notes;     // "options 'F': 'key' ignored: why", one per ignored key
  std::vector<std::string> problems;  // each names the file, the key and the value
  std::string resume_state;           // path.resume_state: the state `srengine train` resumes from
};

// `file` only names the option file in notes and problems.
BasicsrTranslation translate_basicsr_options(const nlohmann::json& options, const std::string& file);

// BasicSR's debug mode, which an option file whose name holds "debug" (or `srengine train
// --debug`) turns on: a log line every iteration, a checkpoint and a validation every 8.
// Returns the note that says so.
std::string apply_debug_mode(nlohmann::json& config);

// model_type -> stage type ("sr", "srgan", "esrgan"); "" when srengine has no such stage.
std::string stage_type_of_model(const std::string& model_type);

}  // namespace sr::train
