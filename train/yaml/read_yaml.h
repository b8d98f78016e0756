// A YAML file as JSON, with the scalar rules of PyYAML (YAML 1.1), which BasicSR and
// Real-ESRGAN read their option files with: `~` is null, `yes`/`on` are true, `2e-4`
// without a dot is a string (hence their `!!float 2e-4`), anchors, aliases and `<<` merge
// keys are expanded. Built on yaml-cpp (libyaml-cpp-dev); a build without it has a reader
// that fails with one message saying what to install (read_yaml_unavailable.cpp).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace sr::train {

// True when this srengine was built with yaml-cpp.
bool yaml_reader_built();

// The whole file as a JSON value. Errors name the file, and the line and column where the
// YAML parser stopped or where a scalar has a tag or a value it cannot take.
nlohmann::json read_yaml_file(const std::string& path);

}  // namespace sr::train
