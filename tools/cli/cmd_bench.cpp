// `srengine bench <what>`: one row per benchmark, each in its own file (cmd_bench_<what>.cpp).
#include <cstdio>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tools/cli/commands.h"

namespace sr::cli {

int run_bench_kernels(const std::vector<std::string>& args);  // tools/cli/cmd_bench_kernels.cpp
int run_bench_train(const std::vector<std::string>& args);  // tools/cli/cmd_bench_train.cpp
int run_bench_infer(const std::vector<std::string>& args);  // tools/cli/cmd_bench_infer.cpp
int run_bench_loader(const std::vector<std::string>& args);  // tools/cli/cmd_bench_loader.cpp

int run_bench(const std::vector<std::string>& args) {
  struct Sub {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    const char* summary;
  };
  static const Sub subs[] = {
      {"kernels", &run_bench_kernels, "kernel microbenchmarks on the RRDBNet / UNet shapes"},
      {"train", &run_bench_train, "training iteration (and inference) of each stage of a config"},
      {"infer", &run_bench_infer, "CPU inference of network_g in fp32, tf32, bf16, fp16 and int8, side by side"},
      {"loader", &run_bench_loader, "training data loader throughput (decode, crop, augment, batch: patches/s)"},
  };
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("usage: srengine bench <what> [options]\n\n");
    for (const Sub& s : subs) std::printf("  %-10s %s\n", s.name, s.summary);
    std::printf("\n  srengine bench <what> --help   shows the options\n");
    return args.empty() ? 2 : 0;
  }
  for (const Sub& s : subs)
    if (args[0] == s.name) return s.run(std::vector<std::string>(args.begin() + 1, args.end()));
  fail("unknown benchmark '", args[0], "' (see srengine bench --help)");
}

}  // namespace sr::cli
