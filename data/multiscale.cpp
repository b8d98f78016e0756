// Multi-scale copies of HR images (see multiscale.h).
#include "data/multiscale.h"

#include <cmath>
#include <filesystem>

#include "data/image_io.h"
#include "data/resize_lanczos3.h"
#include "engine/error.h"

namespace sr::data {

namespace fs = std::filesystem;

std::vector<std::pair<int, int>> multiscale_sizes(int width, int height, const MultiscaleOptions& opt,
                                                  const std::string& name) {
  std::vector<std::pair<int, int>> sizes;
  // Sides in float64, truncated as Python's int(); checked before the cast, so a huge
  // shortest-edge copy of a thin strip is an error naming the file, not an overflow.
  auto add = [&](double w, double h, const std::string& what) {
    w = std::trunc(w);
    h = std::trunc(h);
    // Sides are at most 2^20 * the aspect ratio of a decodable image: exact in int64.
    const int64_t wi = (int64_t)w, hi = (int64_t)h;
    SR_CHECK(w >= 1 && h >= 1, "multiscale: '", name, "' (", width, "x", height, ") ", what, " is ", wi, "x", hi,
             ": a side is 0");
    SR_CHECK(w * h <= (double)kDefaultMaxPixels, "multiscale: '", name, "' (", width, "x", height, ") ", what, " is ",
             wi, "x", hi, ", over the limit of ", kDefaultMaxPixels, " pixels");
    sizes.emplace_back((int)w, (int)h);
  };
  for (double s : opt.scales) add(width * s, height * s, str_cat("scaled by ", s));
  if (opt.shortest_edge > 0) {
    const double e = opt.shortest_edge;
    const std::string what = "with the shorter side " + std::to_string(opt.shortest_edge);
    // The ratio first, then the product, as BasicSR computes it (the rounding can differ).
    if (width < height) add(e, e * ((double)height / width), what);
    else add(e * ((double)width / height), e, what);
  }
  return sizes;
}

std::vector<std::string> multiscale_names(const std::string& path, const MultiscaleOptions& opt) {
  const std::string stem = fs::path(path).stem().string();
  std::vector<std::string> names;
  const size_t n = opt.scales.size() + (opt.shortest_edge > 0 ? 1 : 0);
  for (size_t i = 0; i < n; ++i) names.push_back(stem + "T" + std::to_string(i) + ".png");
  return names;
}

MultiscaleReport write_multiscale(const std::string& path, const std::string& out_dir, const MultiscaleOptions& opt) {
  const Image img = read_image(path);
  const auto sizes = multiscale_sizes(img.width, img.height, opt, path);
  const auto names = multiscale_names(path, opt);
  MultiscaleReport r;
  EncodeOptions enc;
  enc.compression = opt.compression;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const auto [w, h] = sizes[i];
    const Image out = w == img.width && h == img.height ? img : resize_lanczos3(img, w, h);
    write_image((fs::path(out_dir) / names[i]).string(), out, enc);
    ++r.written;
  }
  if (opt.shortest_edge > 0 && std::min(img.width, img.height) < opt.shortest_edge)
    r.warning = "multiscale: '" + path + "' (" + img.size_str() + ") is enlarged to " +
                std::to_string(sizes.back().first) + "x" + std::to_string(sizes.back().second) +
                " by the shortest-edge copy (" + names.back() + "), as BasicSR's script does; --shortest-edge 0 leaves "
                "it out";
  return r;
}

}  // namespace sr::data
