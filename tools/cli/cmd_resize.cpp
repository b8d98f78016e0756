// `srengine resize`: MATLAB-compatible bicubic resize of one image or a folder of images
// (the way benchmark LR images are made: modcrop, then imresize by 1/scale).
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/imresize.h"
#include "data/output_names.h"
#include "data/transforms.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/progress_bar.h"

namespace sr::cli {
namespace fs = std::filesystem;

namespace {

void resize_file(const std::string& in, const std::string& out, double scale, int modcrop_to) {
  data::Image img = data::read_image(in);
  if (modcrop_to > 1) img = data::modcrop(img, modcrop_to);
  data::Image resized;
  try {
    resized = data::imresize(img, scale);
  } catch (const Error& e) {
    fail(in, ": ", e.what());
  }
  data::write_image(out, resized);
}

}  // namespace

int run_resize(const std::vector<std::string>& args) {
  double scale = 0;
  int modcrop_to = 0;
  std::vector<std::string> paths;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--scale") {
      SR_CHECK(i + 1 < args.size(), "--scale needs a value");
      scale = parse_fraction_arg("resize", "--scale", args[++i], 1e4);
    } else if (args[i] == "--modcrop") {
      SR_CHECK(i + 1 < args.size(), "--modcrop needs a value");
      // Strict: "4.9" or "4x" is refused, not cropped to 4.
      modcrop_to = parse_int_arg("resize", "--modcrop", args[++i], 1);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine resize --scale S [--modcrop M] IN.png OUT.png\n"
          "       srengine resize --scale S [--modcrop M] IN_DIR OUT_DIR\n\n"
          "MATLAB-compatible bicubic (antialiased when shrinking), as BasicSR's imresize.\n"
          "  --scale S     size factor: 0.25 or 1/4 makes x4 LR images, 2 doubles the size\n"
          "  --modcrop M   first crop each image to a multiple of M (e.g. 4, or 12 as Set5 GTmod12)\n"
          "Output size is ceil(size * S); bit depth and alpha are kept; the output format\n"
          "follows the extension (.png, .jpg). Folders: every PNG/JPEG, same names.\n");
      return 0;
    } else if (!args[i].empty() && args[i][0] != '-') {
      paths.push_back(args[i]);
    } else {
      fail("unknown argument '", args[i], "' (see srengine resize --help)");
    }
  }
  SR_CHECK(scale > 0, "missing --scale (see srengine resize --help)");
  SR_CHECK(paths.size() == 2, "expected IN and OUT paths, got ", paths.size(), " (see srengine resize --help)");
  if (!fs::is_directory(paths[0])) {
    data::check_output_is_not_an_input(paths[1], {paths[0]}, "resize");
    resize_file(paths[0], paths[1], scale, modcrop_to);
    return 0;
  }
  std::vector<std::string> inputs;
  for (const std::string& name : data::list_image_files(paths[0])) inputs.push_back((fs::path(paths[0]) / name).string());
  // Checked before the first write: resize DIR DIR would replace every input.
  const std::vector<data::PlannedOutput> plan = data::plan_outputs(
      inputs, paths[1], [](const std::string& in) { return fs::path(in).filename().string(); }, "resize");
  fs::create_directories(paths[1]);
  ProgressBar bar("resize", (long)plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    resize_file(plan[i].input, plan[i].output, scale, modcrop_to);
    bar.update((long)i + 1);
  }
  return 0;
}

}  // namespace sr::cli
