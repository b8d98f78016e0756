// Cutting large HR images into overlapping sub-images for training, as BasicSR's
// extract_subimages (crop 480, step 240, threshold 0, names {stem}_s{idx:03d}{ext}),
// optionally with LQ sub-images cut at the same places from the bicubic-downscaled
// (modcropped) HR image, as DIV2K's LR X4 sub-images relate to its HR ones.
#pragma once
#include <string>
#include <vector>

namespace sr::data {

struct SubimageOptions {
  int crop_size = 480;
  int step = 240;
  int thresh_size = 0;  // a last, border-aligned window is added when the remainder exceeds this
  int compression = 3;  // PNG zlib level
  std::string lq_dir;   // when set, LQ sub-images of the same names go here
  int scale = 4;        // for LQ: crop_size and step must be multiples of it
};

// Window starts along one side: 0, step, 2 step, ... while the window fits, plus
// length - crop when the uncovered remainder is larger than thresh. Empty when the
// side is shorter than crop.
std::vector<int> subimage_starts(int length, int crop, int step, int thresh);

// The file stem with BasicSR's scale tags removed as extract_subimages does:
// stem.replace('x2', '').replace('x3', '').replace('x4', '').replace('x8', ''), so
// "0001xx44" gives "0001x4" and "ax2x4" gives "a" ("ax4" after the first replace).
std::string subimage_stem(const std::string& path);

struct SubimageReport {
  int written = 0;
  std::string warning;  // non-empty when the image was skipped (smaller than the crop)
};

// Writes the sub-images of one file into out_dir (and opt.lq_dir). Errors name the file.
SubimageReport extract_subimages(const std::string& path, const std::string& out_dir, const SubimageOptions& opt);

}  // namespace sr::data
