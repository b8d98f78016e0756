// The subcommand registry: one line per command implemented in tools/cli/cmd_*.cpp.
#include "tools/cli/commands.h"

namespace sr::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {};
  return table;
}

}  // namespace sr::cli
