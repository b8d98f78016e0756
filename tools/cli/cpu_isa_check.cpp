// The command line refuses a CPU that lacks an extension the build uses (engine/cpu_isa.h)
// before anything else runs: a constructor of high priority runs before the static
// initialisers of the program's translation units (the command table, the kernel
// registries), which were compiled with the build's flags and could already execute such an
// instruction. Compiled for the x86-64 baseline (CMakeLists.txt).
#include <unistd.h>

#include <cstdio>

#include "engine/cpu_isa.h"

namespace {

__attribute__((constructor(101))) void stop_on_a_cpu_without_the_build_isa() {
  char message[1024];
  if (!sr::describe_missing_isa(sr::built_isa_mask(), sr::present_isa_mask(), message, sizeof message)) return;
  std::fprintf(stderr, "srengine: error: %s\n", message);
  _exit(1);
}

}  // namespace
