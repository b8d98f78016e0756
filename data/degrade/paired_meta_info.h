// RealESRGANPairedDataset's meta_info file (Real-ESRGAN, Wang et al. 2021; BasicSR's
// format): one pair per line, "GT_PATH, LQ_PATH" (separated by comma + space exactly),
// relative to dataroot_gt and dataroot_lq. data/dataset.cpp reads it for the
// RealESRGANPairedDataset type; every problem names the file and the line.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace sr::data::degrade {

// The listed pairs in file order. Blank lines are skipped (the original would fail on
// them); a line without exactly one ", " separator, a name that is not an image file, or
// a listed file that does not exist is an error naming `path`, the line number and the
// file. No pair at all is an error too.
std::vector<FilePair> read_paired_meta_info(const std::string& path, const std::string& gt_root,
                                            const std::string& lq_root);

}  // namespace sr::data::degrade
