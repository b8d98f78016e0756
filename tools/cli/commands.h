// The subcommand table of the srengine CLI.
#pragma once
#include <string>
#include <vector>

namespace sr::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

// All subcommands, in the order `srengine --help` lists them.
const std::vector<Command>& commands();

}  // namespace sr::cli
