// `srengine bench loader` (also `srengine bench-loader`): training-loader throughput (decode +
// crop + augment + batch) on real files, and how many cores would keep a given training step fed.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "data/loader.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace sr::cli {

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

}  // namespace

int run_bench_loader(const std::vector<std::string>& args) {
  static constexpr const char* kWhat = "bench loader";
  data::DataConfig cfg;
  cfg.type = data::DatasetType::single;
  double seconds = 10, step_ms = 30;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), name, " needs a value");
      return args[++i];
    };
    if (args[i] == "--dir") cfg.dataroot_gt = value("--dir");
    else if (args[i] == "--lq-dir") {
      cfg.dataroot_lq = value("--lq-dir");
      cfg.type = data::DatasetType::paired;
    } else if (args[i] == "--scale") cfg.scale = parse_int_arg(kWhat, "--scale", value("--scale"), 1, 16);
    else if (args[i] == "--gt-size") cfg.gt_size = parse_int_arg(kWhat, "--gt-size", value("--gt-size"), 1, 1 << 16);
    else if (args[i] == "--batch") cfg.batch_size_per_gpu = parse_int_arg(kWhat, "--batch", value("--batch"), 1, 65536);
    else if (args[i] == "--workers")
      cfg.num_worker_per_gpu = parse_int_arg(kWhat, "--workers", value("--workers"), 0, 256);
    // An upper bound: --seconds inf (or 1e300) would never end.
    else if (args[i] == "--seconds") seconds = parse_double_arg(kWhat, "--seconds", value("--seconds"), 0.1, 86400);
    else if (args[i] == "--step-ms") step_ms = parse_double_arg(kWhat, "--step-ms", value("--step-ms"), 0.1, 3.6e6);
    else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine bench loader --dir GT_DIR [--lq-dir LQ_DIR] [--scale 4] [--gt-size 128]\n"
          "                             [--batch 16] [--workers 2] [--seconds 10] [--step-ms 30]\n\n"
          "Runs the training loader (paired with --lq-dir, else LQ by bicubic on the fly) for the\n"
          "given time and reports GT patches/s, CPU time per patch, and the cores needed to make\n"
          "one batch per training step of --step-ms milliseconds.\n");
      return 0;
    } else {
      fail("unknown argument '", args[i], "' (see srengine bench loader --help)");
    }
  }
  SR_CHECK(!cfg.dataroot_gt.empty(), "--dir is required (see srengine bench loader --help)");
  data::Loader loader(cfg);
  loader.next();  // warm-up: threads started, first files in the page cache
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  long batches = 0;
  double wall = 0;
  while (wall < seconds) {
    loader.next();
    ++batches;
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double cpu = cpu_seconds() - cpu0;
  const double patches = (double)batches * cfg.batch_size_per_gpu;
  const double per_s = patches / wall, cpu_ms = 1000 * cpu / patches;
  const double need = cfg.batch_size_per_gpu / (step_ms / 1000.0);  // patches/s a step needs
  std::printf("bench-loader: %zu images (%s), gt_size %d, batch %d, %d workers, %.1f s\n", loader.dataset().size(),
              cfg.type == data::DatasetType::paired ? "paired" : "single, LQ by bicubic", cfg.gt_size,
              cfg.batch_size_per_gpu, cfg.num_worker_per_gpu, wall);
  std::printf("  %.1f GT patches/s (%.2f batches/s), %.2f ms CPU per patch\n", per_s, per_s / cfg.batch_size_per_gpu,
              cpu_ms);
  std::printf("  a %.0f ms step of %d patches needs %.0f patches/s = %.1f cores at this CPU cost\n", step_ms,
              cfg.batch_size_per_gpu, need, need * cpu_ms / 1000.0);
  return 0;
}

}  // namespace sr::cli
