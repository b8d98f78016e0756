// `srengine prepare`: cuts HR images into sub-images (BasicSR's extract_subimages) and
// optionally their bicubic LQ counterparts, on several threads, with a progress bar.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "data/dataset.h"
#include "data/output_names.h"
#include "data/subimages.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/file_workers.h"

namespace sr::cli {
namespace fs = std::filesystem;

namespace {

// Everything that can be refused is refused here, before the first folder or file is made:
// an output that is the input or the other output, two inputs whose sub-images would have
// the same names, and an output folder holding an earlier run's files.
void check_prepare_outputs(const std::string& input, const std::vector<std::string>& names, const std::string& output,
                           const data::SubimageOptions& opt) {
  data::check_different_folders(input, "prepare: --input", output, "--output");
  if (!opt.lq_dir.empty()) {
    data::check_different_folders(input, "prepare: --input", opt.lq_dir, "--lq-output");
    data::check_different_folders(output, "prepare: --output", opt.lq_dir, "--lq-output");
  }
  // Sub-image names are {stem}_s{NNN}{ext}; "_s" followed by digits cannot come out of two
  // different (stem, ext) pairs, so two inputs collide exactly when their first names do.
  // (One of the two may turn out smaller than the crop and write nothing: refused all the
  // same, since which it is shows only after decoding.)
  std::vector<std::string> inputs;
  for (const std::string& name : names) inputs.push_back((fs::path(input) / name).string());
  data::plan_outputs(
      inputs, output,
      [](const std::string& in) { return data::subimage_stem(in) + "_s001" + fs::path(in).extension().string(); },
      "prepare");
  data::check_output_folder_is_new(output, "prepare: --output");
  if (!opt.lq_dir.empty()) data::check_output_folder_is_new(opt.lq_dir, "prepare: --lq-output");
}

}  // namespace

int run_prepare(const std::vector<std::string>& args) {
  std::string input, output;
  data::SubimageOptions opt;
  bool scale_given = false;
  int workers = (int)std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), name, " needs a value");
      return args[++i];
    };
    auto int_value = [&](const char* name, int lo, int hi) {
      return parse_int_arg("prepare", name, value(name), lo, hi);
    };
    if (args[i] == "--input") input = value("--input");
    else if (args[i] == "--output") output = value("--output");
    else if (args[i] == "--crop-size") opt.crop_size = int_value("--crop-size", 1, 999999);
    else if (args[i] == "--step") opt.step = int_value("--step", 1, 999999);
    else if (args[i] == "--thresh-size") opt.thresh_size = int_value("--thresh-size", 0, 999999);
    else if (args[i] == "--lq-output") opt.lq_dir = value("--lq-output");
    else if (args[i] == "--scale") opt.scale = int_value("--scale", 1, 999999), scale_given = true;
    else if (args[i] == "--compression") opt.compression = int_value("--compression", 0, 9);  // PNG zlib levels
    else if (args[i] == "--workers") workers = int_value("--workers", 1, 999999);
    else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine prepare --input HR_DIR --output SUB_DIR [--crop-size 480] [--step 240]\n"
          "                        [--thresh-size 0] [--lq-output LQ_DIR --scale 4] [--workers N]\n"
          "                        [--compression 3]\n\n"
          "Cuts every image into crop-size windows every step pixels, adding a window flush with\n"
          "the border when more than thresh-size pixels remain (BasicSR's extract_subimages);\n"
          "names are {stem}_s{001..}{ext} with x2, x3, x4, x8 removed from the stem as BasicSR\n"
          "does. With --lq-output, each image is modcropped to the scale, downscaled by MATLAB\n"
          "bicubic, and the LQ windows of the same names (crop/scale, at position/scale) are\n"
          "written there (--scale needs --lq-output). Images smaller than the crop are skipped\n"
          "with a warning. --compression is the PNG zlib level, 0..9.\n"
          "Nothing is written when an output folder is not empty, is the input folder or the\n"
          "other output folder, or when two inputs would give sub-images of the same names\n"
          "(a.png and ax4.png).\n");
      return 0;
    } else {
      fail("unknown argument '", args[i], "' (see srengine prepare --help)");
    }
  }
  SR_CHECK(!input.empty() && !output.empty(), "--input and --output are required (see srengine prepare --help)");
  // --scale only sets the LQ downscale: without --lq-output it would change nothing, which
  // more likely means a forgotten --lq-output than a wish for HR crops alone.
  SR_CHECK(!scale_given || !opt.lq_dir.empty(), "prepare: --scale ", opt.scale,
           " needs --lq-output (it is the factor of the LQ sub-images; without --lq-output only HR sub-images "
           "are cut): add --lq-output LQ_DIR, or leave out --scale");
  const std::vector<std::string> names = data::list_image_files(input);
  check_prepare_outputs(input, names, output, opt);
  fs::create_directories(output);
  if (!opt.lq_dir.empty()) fs::create_directories(opt.lq_dir);

  const long written = run_file_jobs(names.size(), workers, "prepare", "sub-images", [&](size_t i) {
    const data::SubimageReport r = data::extract_subimages((fs::path(input) / names[i]).string(), output, opt);
    return FileJobResult{r.written, r.warning};
  });
  std::printf("prepare: %ld sub-images from %zu images in %s%s%s\n", written, names.size(), output.c_str(),
              opt.lq_dir.empty() ? "" : " (LQ in ", opt.lq_dir.empty() ? "" : (opt.lq_dir + ")").c_str());
  return 0;
}

}  // namespace sr::cli
