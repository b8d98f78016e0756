// Reading srengine JSON or BasicSR YAML, overrides and validation in one place, so that
// `srengine train`, `test` and `config` treat both kinds of file the same way.
#include "train/yaml/options_file.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "engine/error.h"
#include "train/basicsr_options.h"
#include "train/comm.h"
#include "train/config.h"
#include "train/networks.h"
#include "train/yaml/read_yaml.h"

namespace sr::train {

using nlohmann::json;

namespace {

// srengine's GT-only dataset was called SingleImageDataset, which in BasicSR (and in an
// option file here) is an LQ-only set: the old name still works in JSON, with a note.
void note_deprecated_names(const json& c, const std::string& path, std::vector<std::string>& notes) {
  for (auto it = c.at("datasets").begin(); it != c.at("datasets").end(); ++it)
    if (it.value().value("type", "") == "SingleImageDataset")
      notes.push_back(str_cat("config '", path, "': 'datasets.", it.key(), ".type' SingleImageDataset is deprecated: ",
                              "write GTOnlyBicubicDataset (GT folder, LQ by bicubic); in BasicSR's option files ",
                              "SingleImageDataset means an LQ-only set"));
}

// PyYAML, and so BasicSR, reads a number with an exponent as a float only with a dot in the
// mantissa and a sign in the exponent (1.0e+5): `2e-4` and `3.0e5` are text, the commonest
// slip in an option file, which the validator can only report as a string where a number
// belongs. Every such value of the message is named once.
std::string exponent_text_hint(const std::string& message) {
  static const std::regex text_number("must be (a number|an integer), got \"([-+]?[0-9]+(\\.[0-9]*)?[eE][-+]?[0-9]+)\"");
  std::vector<std::string> values;
  for (auto it = std::sregex_iterator(message.begin(), message.end(), text_number); it != std::sregex_iterator(); ++it)
    if (std::find(values.begin(), values.end(), (*it)[2].str()) == values.end()) values.push_back((*it)[2].str());
  if (values.empty()) return "";
  std::string list, tagged;
  for (const auto& v : values) {
    list += (list.empty() ? "" : ", ") + v;
    tagged += (tagged.empty() ? "" : ", ") + ("!!float " + v);
  }
  return str_cat("\nhint: YAML reads ", list, " as text (as BasicSR does: a float needs a dot and a signed exponent, ",
                 "e.g. 1.0e+5): write ", tagged);
}

// Read for `srengine degrade`: the sections that describe the network, training, validation,
// logging and paths go (their notes and problems are not degrade's), and of the datasets only
// train stays, without its folders, so none has to exist. Every other key is kept, so that a
// misspelt degradation key still meets check_config_keys.
void keep_degradation_sections(json& options) {
  for (const char* k : {"network_g", "network_d", "train", "val", "path", "logger", "num_gpu", "dist_params"})
    options.erase(k);
  if (!options.contains("datasets") || !options["datasets"].is_object()) return;
  json datasets = json::object();
  if (options["datasets"].contains("train")) {
    datasets["train"] = options["datasets"]["train"];
    if (datasets["train"].is_object())
      for (const char* k : {"dataroot_gt", "dataroot_lq", "meta_info", "meta_info_file"}) datasets["train"].erase(k);
  }
  options["datasets"] = datasets;
}

}  // namespace

bool is_yaml_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  return ext == ".yml" || ext == ".yaml";
}

namespace {

// BasicSR's --debug: "debug_" before the name, unless it starts with "debug" already.
void prefix_debug_name(json& c) {
  if (c.is_object() && c.contains("name") && c["name"].is_string()) {
    const std::string name = c["name"];
    if (name.rfind("debug", 0) != 0) c["name"] = "debug_" + name;
  }
}

}  // namespace

ConfigFile read_config_or_options(const std::string& path, ConfigUse use, bool debug) {
  if (!is_yaml_path(path)) {
    ConfigFile f{read_config_file(path), {}, {}, {}};
    if (debug) {
      prefix_debug_name(f.config);
      f.notes.push_back(str_cat("config '", path, "': --debug: ", apply_debug_mode(f.config)));
    }
    return f;
  }
  json options = read_yaml_file(path);
  if (debug) prefix_debug_name(options);  // the translation turns debug mode on from the name
  // Read for its network only: the keys that describe the net, so that a training file
  // whose model or datasets srengine cannot train (Real-ESRGAN's) still gives its network_g.
  if (use == ConfigUse::network && options.is_object()) {
    json net = json::object();
    for (const char* k : {"name", "scale", "num_gpu", "manual_seed", "network_g"})
      if (options.contains(k)) net[k] = options[k];
    options = std::move(net);
  }
  if (use == ConfigUse::degradation && options.is_object()) keep_degradation_sections(options);
  BasicsrTranslation t = translate_basicsr_options(options, path);
  // As for JSON: relative dataset paths are looked up from the file's folder, then from the
  // working directory (BasicSR uses the working directory only).
  t.config["__config_dir__"] = std::filesystem::absolute(path).parent_path().string();
  return {std::move(t.config), std::move(t.notes), std::move(t.problems), std::move(t.resume_state)};
}

LoadedConfig load_config_or_options(const std::string& path, const std::vector<std::string>& overrides,
                                    ConfigUse use, bool debug) {
  ConfigFile f = read_config_or_options(path, use, debug);
  json& c = f.config;
  for (const auto& o : overrides) apply_override(c, o);
  prepare_config_for_use(c, use);
  auto add_schedule_notes = [&](LoadedConfig& l) {
    for (const std::string& n : stage_schedule_notes(l.config))
      l.notes.push_back(str_cat(is_yaml_path(path) ? "options '" : "config '", path, "': ", n));
  };
  if (!is_yaml_path(path)) {
    LoadedConfig l{validate_config(c), std::move(f.notes), {}};
    note_deprecated_names(l.config, path, l.notes);
    add_schedule_notes(l);
    return l;
  }
  try {
    LoadedConfig l{validate_config(c, f.problems), std::move(f.notes), std::move(f.resume_state)};
    add_schedule_notes(l);
    return l;
  } catch (const Error& e) {
    // The validator names srengine's keys; say how they relate to the option file's.
    fail("options '", path, "' as srengine's config (BasicSR's train.KEY is train.stages.0.KEY there, and --set "
         "takes srengine's keys):\n", e.what(), exponent_text_hint(e.what()));
  }
}

NetworkConfig read_generator_config(const std::string& path, const std::vector<std::string>& overrides) {
  const LoadedConfig l = load_config_or_options(path, overrides, ConfigUse::network);
  print_config_notes(l.notes);
  return generator_of(parse_config(l.config), path);
}

void print_config_notes(const std::vector<std::string>& notes) {
  if (detect_launch().rank != 0) return;
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
}

}  // namespace sr::train
