// srengine: the one command-line entry point. Subcommands live in tools/cli/cmd_*.cpp
// and register themselves in the table below.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tools/cli/commands.h"

namespace {

void print_help() {
  std::printf(
      "srengine %s: a C++20/CUDA training engine for image super-resolution\n\n"
      "usage: srengine <command> [options]\n\ncommands:\n",
      SRENGINE_VERSION);
  for (const auto& c : sr::cli::commands()) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf(
      "\n  srengine <command> --help   shows the options of one command\n"
      "  srengine --version          prints the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("srengine %s\n", SRENGINE_VERSION);
    return 0;
  }
  const std::string name = argv[1];
  for (const auto& c : sr::cli::commands()) {
    if (name != c.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
      return c.run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "srengine %s: error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "srengine: unknown command '%s' (see srengine --help)\n", name.c_str());
  return 2;
}
