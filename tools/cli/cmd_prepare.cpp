// `srengine prepare`: cuts HR images into sub-images (BasicSR's extract_subimages) and
// optionally their bicubic LQ counterparts, on several threads, with a progress bar.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "data/dataset.h"
#include "data/subimages.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/progress_bar.h"

namespace sr::cli {
namespace fs = std::filesystem;

int run_prepare(const std::vector<std::string>& args) {
  std::string input, output;
  data::SubimageOptions opt;
  int workers = (int)std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), name, " needs a value");
      return args[++i];
    };
    if (args[i] == "--input") input = value("--input");
    else if (args[i] == "--output") output = value("--output");
    else if (args[i] == "--crop-size") opt.crop_size = parse_int_arg("prepare", "--crop-size", value("--crop-size"), 1, 999999);
    else if (args[i] == "--step") opt.step = parse_int_arg("prepare", "--step", value("--step"), 1, 999999);
    else if (args[i] == "--thresh-size") opt.thresh_size = parse_int_arg("prepare", "--thresh-size", value("--thresh-size"), 0, 999999);
    else if (args[i] == "--lq-output") opt.lq_dir = value("--lq-output");
    else if (args[i] == "--scale") opt.scale = parse_int_arg("prepare", "--scale", value("--scale"), 1, 999999);
    else if (args[i] == "--compression") opt.compression = parse_int_arg("prepare", "--compression", value("--compression"), 0, 999999);
    else if (args[i] == "--workers") workers = parse_int_arg("prepare", "--workers", value("--workers"), 1, 999999);
    else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine prepare --input HR_DIR --output SUB_DIR [--crop-size 480] [--step 240]\n"
          "                        [--thresh-size 0] [--lq-output LQ_DIR --scale 4] [--workers N]\n"
          "                        [--compression 3]\n\n"
          "Cuts every image into crop-size windows every step pixels, adding a window flush with\n"
          "the border when more than thresh-size pixels remain (BasicSR's extract_subimages);\n"
          "names are {stem}_s{001..}{ext} with x2/x3/x4/x8 removed from the stem. With\n"
          "--lq-output, each image is modcropped to the scale, downscaled by MATLAB bicubic, and\n"
          "the LQ windows of the same names (crop/scale, at position/scale) are written there.\n"
          "Images smaller than the crop are skipped with a warning.\n");
      return 0;
    } else {
      fail("unknown argument '", args[i], "' (see srengine prepare --help)");
    }
  }
  SR_CHECK(!input.empty() && !output.empty(), "--input and --output are required (see srengine prepare --help)");
  const std::vector<std::string> names = data::list_image_files(input);
  fs::create_directories(output);
  if (!opt.lq_dir.empty()) fs::create_directories(opt.lq_dir);

  std::atomic<size_t> next{0};
  std::atomic<long> done{0}, written{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::exception_ptr error;
  std::vector<std::string> warnings;
  ProgressBar bar("prepare", (long)names.size());
  auto work = [&] {
    for (size_t i; !failed && (i = next++) < names.size();) {
      try {
        const data::SubimageReport r = data::extract_subimages((fs::path(input) / names[i]).string(), output, opt);
        written += r.written;
        std::lock_guard<std::mutex> lk(mu);
        if (!r.warning.empty()) warnings.push_back(r.warning);
        bar.update(++done, std::to_string(written.load()) + " sub-images");
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < std::min<int>(workers, (int)names.size()); ++w) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("prepare: %ld sub-images from %zu images in %s%s%s\n", written.load(), names.size(), output.c_str(),
              opt.lq_dir.empty() ? "" : " (LQ in ", opt.lq_dir.empty() ? "" : (opt.lq_dir + ")").c_str());
  return 0;
}

}  // namespace sr::cli
