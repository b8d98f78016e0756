// `srengine config`: prints a validated config with every default filled in, checks one
// without printing it (--check), prints the key reference (docs/CONFIG.md) with --doc, or
// writes the srengine JSON equivalent of a BasicSR / Real-ESRGAN option file (--from-yaml).
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "train/config.h"
#include "train/config_types.h"
#include "train/trainer.h"
#include "train/yaml/options_file.h"

namespace sr::cli {

namespace {

// An option file without a train section is a test file (BasicSR's test_*.yml): checked as
// `srengine test` reads it. A JSON config always needs its train section here, as before.
train::ConfigUse use_of(const std::string& path) {
  if (!train::is_yaml_path(path) || train::read_config_or_options(path).config.contains("train"))
    return train::ConfigUse::train;
  return train::ConfigUse::test;
}

// The translation with the overrides applied, checked first (every problem listed), then
// written as it is: no defaults filled in, dataset paths as the option file gives them
// (relative ones are then looked up from OUT's folder, then the working directory).
int write_from_yaml(const std::string& in, const std::string& out, const std::vector<std::string>& overrides) {
  SR_CHECK(train::is_yaml_path(in), "config --from-yaml: '", in, "' is not a .yml / .yaml file");
  const train::LoadedConfig checked = train::load_config_or_options(in, overrides, use_of(in));
  train::print_config_notes(checked.notes);
  train::json c = train::read_config_or_options(in).config;
  for (const auto& o : overrides) train::apply_override(c, o);
  c.erase("__config_dir__");
  const std::string text = c.dump(2) + "\n";
  if (out.empty() || out == "-") {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  write_output_file(out, text, {in}, "config --from-yaml: --out");
  std::fprintf(stderr, "config: %s -> %s\n", in.c_str(), out.c_str());
  return 0;
}

}  // namespace

int run_config(const std::vector<std::string>& args) {
  std::string path, from_yaml, out;
  std::vector<std::string> overrides;
  bool check_only = false, doc = false;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* flag) -> std::string {
      SR_CHECK(i + 1 < args.size(), "config: ", flag, " needs a value (see srengine config --help)");
      return args[++i];
    };
    if (args[i] == "--doc") {
      doc = true;
    } else if (args[i] == "--check") {
      check_only = true;
    } else if (args[i] == "--set") {
      overrides.push_back(value("--set"));
    } else if (args[i] == "--from-yaml") {
      from_yaml = value("--from-yaml");
    } else if (args[i] == "--out") {
      out = value("--out");
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf("usage: srengine config CFG [--set key.path=value ...]   print the validated config\n"
                  "       srengine config --check CFG [--set ...]          validate only: every problem, one per\n"
                  "                                       line; then what train checks before its first iteration\n"
                  "       srengine config --from-yaml IN.yml [--out OUT.json] [--set ...]\n"
                  "                                       write srengine's JSON for a BasicSR option file\n"
                  "       srengine config --doc                            print the key reference\n"
                  "  CFG is srengine's JSON or a BasicSR / Real-ESRGAN option file (.yml, docs/BASICSR_YAML.md).\n");
      return 0;
    } else if (path.empty() && args[i][0] != '-') {
      path = args[i];
    } else {
      fail("unknown argument '", args[i], "' (see srengine config --help)");
    }
  }
  if (doc) {
    // Not silently ignored: `config CFG --doc` or `--doc --chek` would print the reference and exit 0.
    SR_CHECK(path.empty() && from_yaml.empty() && out.empty() && overrides.empty() && !check_only,
             "--doc takes no other argument (see srengine config --help)");
    std::fputs(train::config_reference_markdown().c_str(), stdout);
    return 0;
  }
  if (!from_yaml.empty()) {
    SR_CHECK(path.empty() && !check_only, "config --from-yaml takes no other config file and no --check");
    return write_from_yaml(from_yaml, out, overrides);
  }
  SR_CHECK(out.empty(), "config: --out goes with --from-yaml");
  SR_CHECK(!path.empty(), "missing config file (see srengine config --help)");
  // Throws with every problem listed.
  const train::ConfigUse use = use_of(path);
  const train::LoadedConfig config = train::load_config_or_options(path, overrides, use);
  train::print_config_notes(config.notes);
  // --check: also what `srengine train` checks before its first iteration (the networks
  // built, pretrained weights, schedulers and losses, the validation images), so "ok" means
  // the run starts.
  if (check_only && use == train::ConfigUse::train) train::check_before_training(train::parse_config(config.config));
  if (check_only)
    std::printf("%s: ok\n", path.c_str());
  else
    std::printf("%s\n", config.config.dump(2).c_str());
  return 0;
}

}  // namespace sr::cli
