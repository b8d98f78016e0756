// `srengine niqe-fit`: a NIQE pristine model fitted to a folder of pristine images (the
// .npz `srengine metrics --niqe` and val.metrics' calculate_niqe read).
#include <cstdio>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/niqe.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/progress_bar.h"

namespace sr::cli {

int run_niqe_fit(const std::vector<std::string>& args) {
  std::string input, output;
  double threshold = 0.75;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), "niqe-fit: ", name, " needs a value");
      return args[++i];
    };
    if (args[i] == "--input") {
      input = value("--input");
    } else if (args[i] == "--output") {
      output = value("--output");
    } else if (args[i] == "--sharpness") {
      threshold = parse_double_arg("niqe-fit", "--sharpness", value("--sharpness"), 0.0, 1.0);
      SR_CHECK(threshold < 1, "niqe-fit: --sharpness must be below 1 (1 would keep no block), got ", threshold);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine niqe-fit --input DIR --output MODEL.npz [--sharpness 0.75]\n\n"
          "Fits the pristine model NIQE compares images with (Mittal et al., 2013): from every image\n"
          "of DIR (BT.601 Y, rounded, as NIQE measures) the 96x96 blocks whose sharpness (mean local\n"
          "deviation) exceeds --sharpness x that image's sharpest block; the model is their 36\n"
          "features' mean and covariance, with NIQE's 7x7 Gaussian window (sigma 7/6). The .npz holds\n"
          "mu_pris_param, cov_pris_param and gaussian_window, the arrays of BasicSR's\n"
          "niqe_pris_params.npz, so `srengine metrics --niqe` and val.metrics' calculate_niqe\n"
          "(pris_params) read either. Use sharp, undistorted images of the content you will score;\n"
          "at least 37 blocks must be kept. --sharpness 0 keeps every block that is not flat.\n");
      return 0;
    } else {
      fail("niqe-fit: unknown argument '", args[i], "' (see srengine niqe-fit --help)");
    }
  }
  SR_CHECK(!input.empty() && !output.empty(), "niqe-fit: --input and --output are required (see srengine niqe-fit "
           "--help)");
  SR_CHECK(output.size() > 4 && output.compare(output.size() - 4, 4, ".npz") == 0, "niqe-fit: --output '", output,
           "' must end in .npz (the model is a NumPy archive; the name also keeps it from replacing an image)");
  check_output_file(output, {input}, "niqe-fit: --output");
  const std::vector<std::string> files = data::list_image_files(input);
  SR_CHECK(!files.empty(), "niqe-fit: no images in '", input, "'");
  data::NiqeModelFitter fitter(threshold);
  ProgressBar bar("niqe-fit", (long)files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string path = input + "/" + files[i];
    try {
      fitter.add(data::read_image(path));
    } catch (const Error& e) {
      fail("niqe-fit: '", path, "': ", e.what());
    }
    bar.update((long)i + 1, str_cat(fitter.rows(), " blocks"));
  }
  const data::NiqeModel model = fitter.fit();
  data::save_niqe_model(output, model);
  std::printf("niqe-fit: %lld blocks of %zu images -> %s\n", (long long)fitter.rows(), files.size(), output.c_str());
  return 0;
}

}  // namespace sr::cli
