// `srengine multiscale`: multi-scale copies of HR images (BasicSR's generate_multiscale_DF2K),
// on several threads, with a progress bar.
#include <cstdio>
#include <filesystem>
#include <thread>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/multiscale.h"
#include "data/output_names.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/file_workers.h"

namespace sr::cli {
namespace fs = std::filesystem;

namespace {

// "0.75,0.5,1/3": each a factor in (0, 1].
std::vector<double> parse_scales(const std::string& text) {
  std::vector<double> scales;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    scales.push_back(parse_fraction_arg("multiscale", "--scales", text.substr(start, comma - start), 1.0));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return scales;
}

}  // namespace

int run_multiscale(const std::vector<std::string>& args) {
  std::string input, output;
  data::MultiscaleOptions opt;
  int workers = (int)std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), "multiscale: ", name, " needs a value");
      return args[++i];
    };
    auto int_value = [&](const char* name, int lo, int hi) {
      return parse_int_arg("multiscale", name, value(name), lo, hi);
    };
    if (args[i] == "--input") input = value("--input");
    else if (args[i] == "--output") output = value("--output");
    else if (args[i] == "--scales") opt.scales = parse_scales(value("--scales"));
    else if (args[i] == "--shortest-edge") opt.shortest_edge = int_value("--shortest-edge", 0, 1 << 20);
    else if (args[i] == "--compression") opt.compression = int_value("--compression", 0, 9);
    else if (args[i] == "--workers") workers = int_value("--workers", 1, 999999);
    else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine multiscale --input HR_DIR --output DIR [--scales 0.75,0.5,1/3]\n"
          "                           [--shortest-edge 400] [--workers N] [--compression 6]\n\n"
          "Writes downscaled copies of every image for multi-scale training data, as BasicSR's\n"
          "generate_multiscale_DF2K.py makes DF2K_multiscale (Real-ESRGAN's Training.md, step 1):\n"
          "{stem}T0.png .. for each scale (sides int(side * s)), then one copy whose shorter side is\n"
          "--shortest-edge (0: none). The resize is Pillow's antialiased Lanczos (Image.LANCZOS),\n"
          "the same pixels for 8-bit gray, RGB and (premultiplied) alpha images; palette images are\n"
          "resized as RGB (Pillow would use nearest). 16-bit images stay 16-bit. --compression is\n"
          "the PNG zlib level. Every image's header is read first: nothing is written when one is\n"
          "unreadable or a copy would have a side of 0, when the output folder is not empty or is\n"
          "the input folder, or when two inputs share a stem (a.png and a.jpg).\n");
      return 0;
    } else {
      fail("unknown argument '", args[i], "' (see srengine multiscale --help)");
    }
  }
  SR_CHECK(!input.empty() && !output.empty(), "--input and --output are required (see srengine multiscale --help)");
  SR_CHECK(!opt.scales.empty() || opt.shortest_edge > 0,
           "multiscale: no scales and --shortest-edge 0: nothing to write");
  const std::vector<std::string> names = data::list_image_files(input);
  data::check_different_folders(input, "multiscale: --input", output, "--output");
  // Outputs are {stem}T{i}.png: two inputs collide exactly when their first names do.
  std::vector<std::string> inputs;
  for (const std::string& name : names) inputs.push_back((fs::path(input) / name).string());
  data::plan_outputs(inputs, output, [&](const std::string& in) { return data::multiscale_names(in, opt).front(); },
                     "multiscale");
  data::check_output_folder_is_new(output, "multiscale: --output");
  // Every header, before the folder exists: an unreadable file, one whose copy would have a
  // side of 0 or exceed the pixel limit stops the run here, not half-way through it.
  for (const std::string& in : inputs) {
    const data::ImageInfo info = data::read_image_info(in);
    data::multiscale_sizes(info.width, info.height, opt, in);
  }
  fs::create_directories(output);

  const long written = run_file_jobs(inputs.size(), workers, "multiscale", "images", [&](size_t i) {
    const data::MultiscaleReport r = data::write_multiscale(inputs[i], output, opt);
    return FileJobResult{r.written, r.warning};
  });
  std::printf("multiscale: %ld images from %zu in %s\n", written, names.size(), output.c_str());
  return 0;
}

}  // namespace sr::cli
