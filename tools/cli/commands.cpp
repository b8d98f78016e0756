// The subcommand registry: one line per command implemented in tools/cli/cmd_*.cpp.
#include "tools/cli/commands.h"

namespace sr::cli {

int run_config(const std::vector<std::string>& args);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"config", "validate a config and print it with defaults (--doc: key reference)", &run_config},
  };
  return table;
}

}  // namespace sr::cli
