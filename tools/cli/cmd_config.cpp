// `srengine config`: prints a validated config with every default filled in, checks one
// without printing it (--check), or prints the key reference (docs/CONFIG.md) with --doc.
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/commands.h"
#include "train/config.h"

namespace sr::cli {

int run_config(const std::vector<std::string>& args) {
  std::string path;
  std::vector<std::string> overrides;
  bool check_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--doc") {
      std::fputs(train::config_reference_markdown().c_str(), stdout);
      return 0;
    } else if (args[i] == "--check") {
      check_only = true;
    } else if (args[i] == "--set") {
      SR_CHECK(i + 1 < args.size(), "--set needs key.path=value");
      overrides.push_back(args[++i]);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf("usage: srengine config CFG.json [--set key.path=value ...]   print the validated config\n"
                  "       srengine config --check CFG.json [--set ...]          validate only: every problem, one per line\n"
                  "       srengine config --doc                                 print the key reference\n");
      return 0;
    } else if (path.empty() && args[i][0] != '-') {
      path = args[i];
    } else {
      fail("unknown argument '", args[i], "' (see srengine config --help)");
    }
  }
  SR_CHECK(!path.empty(), "missing config file (see srengine config --help)");
  const train::json config = train::load_config(path, overrides);  // throws with every problem listed
  if (check_only)
    std::printf("%s: ok\n", path.c_str());
  else
    std::printf("%s\n", config.dump(2).c_str());
  return 0;
}

}  // namespace sr::cli
