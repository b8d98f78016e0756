// Multi-scale copies of HR images for training, as BasicSR's generate_multiscale_DF2K.py makes
// DF2K_multiscale (Real-ESRGAN's Training.md, step 1): each image downscaled by 0.75, 1/2 and
// 1/3, plus a copy whose shorter side is 400, all with Pillow's antialiased Lanczos
// (data/resize_lanczos3.h), written as PNG files named {stem}T0.png .. {stem}T{n}.png.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace sr::data {

struct MultiscaleOptions {
  std::vector<double> scales = {0.75, 0.5, 1.0 / 3};  // each in (0, 1]
  int shortest_edge = 400;                            // 0: no shortest-edge copy
  int compression = 6;                                // PNG zlib level (Pillow's default)
};

// The sizes (width, height) written for a width x height image, in file order: for each
// scale (int(width * s), int(height * s)), truncated as Python's int(); then the copy whose
// shorter side is shortest_edge, the other side int(shortest_edge * long / short) (a square
// image counts as wider than tall, as in BasicSR). A size with a zero side is an error naming
// `name` and the scale.
std::vector<std::pair<int, int>> multiscale_sizes(int width, int height, const MultiscaleOptions& opt,
                                                  const std::string& name);

// {stem}T{i}.png: the output file names of input `path`, in the order of multiscale_sizes.
std::vector<std::string> multiscale_names(const std::string& path, const MultiscaleOptions& opt);

struct MultiscaleReport {
  int written = 0;
  std::string warning;  // set when the shortest-edge copy enlarges the image
};

// Writes every copy of one image into out_dir. Errors name the file.
MultiscaleReport write_multiscale(const std::string& path, const std::string& out_dir, const MultiscaleOptions& opt);

}  // namespace sr::data
