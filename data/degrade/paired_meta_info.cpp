// Reading RealESRGANPairedDataset's "GT_PATH, LQ_PATH" meta_info lines (see paired_meta_info.h).
#include "data/degrade/paired_meta_info.h"

#include <filesystem>
#include <fstream>

#include "data/image_io.h"
#include "engine/error.h"

namespace sr::data::degrade {
namespace fs = std::filesystem;

namespace {

// Python's str.strip() for the whitespace a text file holds.
std::string strip(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

std::string checked_path(const std::string& name, const std::string& root, const char* what,
                         const std::string& where) {
  SR_CHECK(is_image_file_name(name), where, ": ", what, " '", name, "' is not an image file name (",
           image_extensions_text(), ")");
  const std::string full = (fs::path(root) / name).string();
  std::error_code ec;
  SR_CHECK(fs::is_regular_file(full, ec), where, ": ", what, " file '", full, "' does not exist");
  return full;
}

}  // namespace

std::vector<FilePair> read_paired_meta_info(const std::string& path, const std::string& gt_root,
                                            const std::string& lq_root) {
  std::ifstream in(path);
  SR_CHECK(in.good(), path, ": cannot open meta_info file");
  std::vector<FilePair> out;
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = strip(raw);
    if (line.empty()) continue;
    const std::string where = path + " line " + std::to_string(line_no);
    // BasicSR splits on ", " and unpacks two values: no separator, a second one or an empty
    // GT path is an error (stripping leaves no empty LQ path).
    const size_t sep = line.find(", ");
    SR_CHECK(sep != std::string::npos && sep > 0 && line.find(", ", sep + 2) == std::string::npos, where, ": cannot parse '",
             line, "' (expected 'GT_PATH, LQ_PATH', separated by a comma and one space)");
    FilePair f;
    f.name = line.substr(0, sep);
    f.origin = "meta_info " + where;
    f.gt_path = checked_path(f.name, gt_root, "GT", where);
    f.lq_path = checked_path(line.substr(sep + 2), lq_root, "LQ", where);
    out.push_back(std::move(f));
  }
  SR_CHECK(!out.empty(), path, ": meta_info file lists no pairs ('GT_PATH, LQ_PATH' per line)");
  return out;
}

}  // namespace sr::data::degrade
