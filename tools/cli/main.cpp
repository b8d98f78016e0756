// srengine: the one command-line entry point. Subcommands live in tools/cli/cmd_*.cpp
// and register themselves in the table below.
#include <malloc.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/cpu_threads.h"
#include "engine/error.h"
#include "tools/cli/args.h"
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

// A training step frees and reallocates its activations every iteration. By default glibc
// serves blocks above a (dynamic) threshold with fresh mmap()s and returns a freed heap top
// to the OS, so each iteration page-faults and zeroes its activations again: ~20% of a
// tiny-RRDBNet step (bench train). Blocks up to 32 MB (glibc's maximum for this setting)
// now come from the heap, and up to 256 MB of free heap is kept for the next iteration;
// the peak RSS is unchanged (the step needs that memory anyway).
void tune_host_malloc() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that stops early (`srengine config --doc | head -1`) ends the command quietly, as
  // it ends any filter, also when the parent left SIGPIPE ignored (some CI runners and
  // supervisors): else every later write fails with EPIPE and the command reports it.
  std::signal(SIGPIPE, SIG_DFL);
  tune_host_malloc();
  sr::configure_cpu_threads();  // cores / ranks on this node unless OMP_NUM_THREADS is set
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
    const std::vector<std::string> args = sr::cli::split_option_values({argv + 2, argv + argc});
    try {
      const int status = c.run(args);
      // Output that did not all arrive (`srengine config --doc > docs/CONFIG.md` on a full disk;
      // a closed pipe where SIGPIPE is ignored) is an error, not a success with a truncated file.
      // A run that a signal stopped (train: 128 + the signal, SIGPIPE's 141 among them) says so
      // by its status already.
      if (status > 128) return status;
      errno = 0;
      const bool flushed = std::fflush(stdout) == 0;
      const int reason = errno;
      if (!flushed || std::ferror(stdout)) {
        std::fprintf(stderr, "srengine %s: error: writing the output failed%s%s\n", c.name, reason ? ": " : "",
                     reason ? std::strerror(reason) : "");
        return 1;
      }
      return status;
    } catch (const std::exception& e) {
      // The library names the op in its messages ("infer: --tile needs a value"); where that
      // is the command itself, it is said once: "srengine infer: error: --tile needs a value".
      std::string message = e.what();
      const std::string own = std::string(c.name) + ": ";
      if (message.rfind(own, 0) == 0) message.erase(0, own.size());
      std::fprintf(stderr, "srengine %s: error: %s\n", c.name, message.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "srengine: unknown command '%s' (see srengine --help)\n", name.c_str());
  return 2;
}
