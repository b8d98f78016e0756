// extract_subimages: the sliding-window cut of HR (and matching LQ) training images.
#include "data/subimages.h"

#include <cstdio>
#include <filesystem>

#include "data/image_io.h"
#include "data/imresize.h"
#include "data/transforms.h"
#include "engine/error.h"

namespace sr::data {
namespace fs = std::filesystem;

std::vector<int> subimage_starts(int length, int crop, int step, int thresh) {
  SR_CHECK(crop > 0 && step > 0 && thresh >= 0, "subimages: crop_size ", crop, ", step ", step, " and thresh_size ",
           thresh, " must be positive (thresh >= 0)");
  std::vector<int> starts;
  for (int s = 0; s + crop <= length; s += step) starts.push_back(s);
  if (starts.empty()) return starts;
  if (length - (starts.back() + crop) > thresh) starts.push_back(length - crop);
  return starts;
}

std::string subimage_stem(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  // Python's str.replace, once per tag in this order: every occurrence in the string as it
  // stands, left to right, without looking again at what a removal joins ("xx44" -> "x4").
  for (const std::string tag : {"x2", "x3", "x4", "x8"}) {
    std::string out;
    size_t from = 0;
    for (size_t at; (at = stem.find(tag, from)) != std::string::npos; from = at + tag.size())
      out.append(stem, from, at - from);
    stem = out + stem.substr(from);
  }
  return stem;
}

SubimageReport extract_subimages(const std::string& path, const std::string& out_dir, const SubimageOptions& opt) {
  const bool make_lq = !opt.lq_dir.empty();
  if (make_lq)
    SR_CHECK(opt.scale >= 1 && opt.crop_size % opt.scale == 0 && opt.step % opt.scale == 0, "prepare: crop_size ",
             opt.crop_size, " and step ", opt.step, " must be multiples of the scale ", opt.scale,
             " so LQ windows fall on whole pixels");
  Image img = read_image(path);
  if (make_lq) img = modcrop(img, opt.scale);
  const std::vector<int> ys = subimage_starts(img.height, opt.crop_size, opt.step, opt.thresh_size);
  const std::vector<int> xs = subimage_starts(img.width, opt.crop_size, opt.step, opt.thresh_size);
  SubimageReport report;
  if (ys.empty() || xs.empty()) {
    report.warning = str_cat(path, ": ", img.size_str(), " is smaller than the crop size ", opt.crop_size,
                             "; skipped");
    return report;
  }
  Image lq;
  if (make_lq) lq = imresize(img, 1.0 / opt.scale);
  const std::string stem = subimage_stem(path);
  const std::string ext = fs::path(path).extension().string();
  EncodeOptions enc;
  enc.compression = opt.compression;
  int index = 0;
  for (int y : ys) {
    for (int x : xs) {
      ++index;
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, "_s%03d", index);
      const std::string name = stem + suffix + ext;
      write_image((fs::path(out_dir) / name).string(), crop(img, y, x, opt.crop_size, opt.crop_size, path), enc);
      if (make_lq) {
        const int c = opt.crop_size / opt.scale;
        write_image((fs::path(opt.lq_dir) / name).string(), crop(lq, y / opt.scale, x / opt.scale, c, c, path), enc);
      }
      ++report.written;
    }
  }
  return report;
}

}  // namespace sr::data
