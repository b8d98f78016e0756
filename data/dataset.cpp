// Dataset file lists (folder scan, meta_info or an LMDB folder's meta_info.txt) and sample
// loading with BasicSR's size rules, reported with both file names and all four sizes.
#include "data/dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/degrade/paired_meta_info.h"
#include "data/imresize.h"
#include "data/lmdb_reader.h"
#include "engine/error.h"
#include "engine/regular_file.h"

namespace sr::data {
namespace fs = std::filesystem;

DatasetType parse_dataset_type(const std::string& s) {
  if (s == "paired" || s == "PairedImageDataset") return DatasetType::paired;
  // SingleImageDataset: the deprecated name (BasicSR's SingleImageDataset is LQ-only).
  if (s == "single" || s == "GTOnlyBicubicDataset" || s == "SingleImageDataset") return DatasetType::single;
  if (s == "realesrgan_paired" || s == "RealESRGANPairedDataset") return DatasetType::realesrgan_paired;
  if (s == "lq_only" || s == "LQOnlyDataset") return DatasetType::lq_only;
  if (s == "realesrgan" || s == "RealESRGANDataset") return DatasetType::realesrgan;
  fail("dataset: type must be 'paired' (PairedImageDataset), 'single' (GTOnlyBicubicDataset), 'realesrgan_paired' ",
       "(RealESRGANPairedDataset), 'lq_only' (LQOnlyDataset) or 'realesrgan' (RealESRGANDataset), got '", s, "'");
}

void validate(const DataConfig& c) {
  if (c.type == DatasetType::lq_only)
    SR_CHECK(!c.dataroot_lq.empty(), "dataset: 'dataroot_lq' is required for an LQ-only dataset (LQOnlyDataset)");
  else
    SR_CHECK(!c.dataroot_gt.empty(), "dataset: 'dataroot_gt' is required");
  const bool gt_only = c.type == DatasetType::single || c.type == DatasetType::realesrgan;
  SR_CHECK(gt_only || !c.dataroot_lq.empty(),
           "dataset: 'dataroot_lq' is required for a paired dataset (or use type 'single' to make LQ by bicubic)");
  // Real-ESRGAN's degradations (colour noise, JPEG of colour images) are defined on RGB, and
  // Real-ESRGAN's datasets have no color option.
  SR_CHECK(c.color == DataColor::rgb || c.type != DatasetType::realesrgan, "dataset: 'color' is 'y', but a ",
           "RealESRGANDataset synthesises its LQ from colour images (Real-ESRGAN has no color option): use color rgb");
  SR_CHECK(c.scale >= 1 && c.scale <= 16, "dataset: 'scale' must be 1..16, got ", c.scale);
  SR_CHECK(c.gt_size >= 1, "dataset: 'gt_size' must be positive, got ", c.gt_size);
  SR_CHECK(c.gt_size % c.scale == 0, "dataset: 'gt_size' ", c.gt_size, " is not a multiple of scale ", c.scale,
           ": the LQ patch would be ", c.gt_size, "/", c.scale, " pixels (use ", c.gt_size / c.scale * c.scale,
           " or ", (c.gt_size / c.scale + 1) * c.scale, ")");
  SR_CHECK(c.batch_size_per_gpu >= 1, "dataset: 'batch_size_per_gpu' must be >= 1, got ", c.batch_size_per_gpu);
  SR_CHECK(c.num_worker_per_gpu >= 0 && c.num_worker_per_gpu <= 256, "dataset: 'num_worker_per_gpu' must be 0..256, got ",
           c.num_worker_per_gpu);
  SR_CHECK(c.dataset_enlarge_ratio >= 1, "dataset: 'dataset_enlarge_ratio' must be >= 1, got ", c.dataset_enlarge_ratio);
  SR_CHECK(c.max_pixels >= 1, "dataset: 'max_pixels' must be >= 1, got ", c.max_pixels);
  SR_CHECK(c.prefetch_batches >= 0, "dataset: 'prefetch_batches' must be >= 0, got ", c.prefetch_batches);
  if (c.type == DatasetType::realesrgan) {
    // The degradation ends at crop_pad_size / scale; the training patch is cut from that.
    SR_CHECK(c.crop_pad_size % c.scale == 0, "dataset: RealESRGANDataset's 'crop_pad_size' ", c.crop_pad_size,
             " is not a multiple of scale ", c.scale, " (the GT must be exactly scale x the LQ)");
    SR_CHECK(c.gt_size <= c.crop_pad_size, "dataset: 'gt_size' ", c.gt_size, " exceeds RealESRGANDataset's ",
             "'crop_pad_size' ", c.crop_pad_size, " (the patch is cut from the degraded crop)");
    SR_CHECK(c.degradation.scale == c.scale, "dataset: the degradation's scale ", c.degradation.scale,
             " differs from the dataset's scale ", c.scale);
    degrade::validate(c.degradation);
  }
  SR_CHECK(c.io_backend == "disk" || c.io_backend == "lmdb", "dataset: 'io_backend.type' must be 'disk' or 'lmdb', ",
           "got '", c.io_backend, "'");
  const size_t slot = c.filename_tmpl.find("{}");
  SR_CHECK(slot != std::string::npos && c.filename_tmpl.find("{}", slot + 2) == std::string::npos,
           "dataset: 'filename_tmpl' must contain '{}' exactly once, got '", c.filename_tmpl, "'");
}

std::vector<std::string> list_image_files(const std::string& dir) {
  std::error_code ec;
  SR_CHECK(fs::exists(dir, ec), dir, ": folder does not exist");
  SR_CHECK(fs::is_directory(dir, ec), dir, ": is not a folder");
  std::vector<std::string> names;
  try {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (is_image_file_name(name)) names.push_back(name);
    }
  } catch (const fs::filesystem_error& e) {
    fail(dir, ": cannot list folder: ", e.code().message());
  }
  SR_CHECK(!names.empty(), dir, ": no images in folder (", image_extensions_text(), ")");
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

std::string lq_name_for(const std::string& gt_name, const std::string& tmpl) {
  const fs::path p = fs::path(gt_name).filename();
  std::string lq = tmpl;
  lq.replace(lq.find("{}"), 2, p.stem().string());
  return lq + p.extension().string();
}

// "name" or "name (h,w,c)"; anything else is an error naming the file and line. The names
// are of GT files under `root`, or of LQ files for an LQ-only dataset (`lq`).
std::vector<FilePair> read_meta_info(const std::string& path, const std::string& root, bool lq) {
  std::ifstream in(path);
  SR_CHECK(in.good(), path, ": cannot open meta_info file");
  std::vector<FilePair> out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;  // blank line
    const std::string where = path + " line " + std::to_string(line_no);
    const size_t end = line.find_first_of(" \t", start);
    FilePair f;
    f.name = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    f.origin = "meta_info " + where;
    std::string rest = end == std::string::npos ? "" : line.substr(end);
    rest.erase(std::remove_if(rest.begin(), rest.end(), [](char c) { return c == ' ' || c == '\t'; }), rest.end());
    if (!rest.empty()) {
      int h = 0, w = 0, c = 0;
      char tail = 0;
      const int got = std::sscanf(rest.c_str(), "(%d,%d,%d)%c", &h, &w, &c, &tail);
      SR_CHECK(got == 3 && h > 0 && w > 0 && c > 0, where, ": cannot parse '", line,
               "' (expected 'NAME' or 'NAME (h,w,c)')");
      f.meta_height = h;
      f.meta_width = w;
    }
    SR_CHECK(is_image_file_name(f.name), where, ": '", f.name, "' is not a .png/.jpg/.jpeg file name");
    std::string& file = lq ? f.lq_path : f.gt_path;
    file = (fs::path(root) / f.name).string();
    std::error_code ec;
    SR_CHECK(fs::is_regular_file(file, ec), where, ": ", lq ? "LQ" : "GT", " file '", file, "' does not exist");
    out.push_back(std::move(f));
  }
  SR_CHECK(!out.empty(), path, ": meta_info file lists no images");
  return out;
}

std::string size_str(const Image& img) { return img.size_str(); }

// A BasicSR LMDB folder's key list: the first token of each line of <root>/meta_info.txt, its
// extension dropped ("0001_s001.png (480,480,3) 1"), with the (h,w,c) that may follow; in file
// order. Every key must be a record of the database.
struct LmdbKey {
  std::string key, origin;
  int height = 0, width = 0;
};
std::vector<LmdbKey> read_lmdb_keys(const std::string& root, const LmdbReader& db) {
  const std::string path = (fs::path(root) / "meta_info.txt").string();
  std::error_code ec;
  SR_CHECK(fs::is_regular_file(path, ec), path, ": missing: an LMDB dataroot lists its keys in meta_info.txt (as ",
           "BasicSR's create_lmdb.py writes it)");
  std::ifstream in(path);
  SR_CHECK(in.good(), path, ": cannot open meta_info file");
  std::vector<LmdbKey> out;
  std::set<std::string> seen;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos) continue;
    line = line.substr(start, line.find_last_not_of(" \t\r") + 1 - start);
    const std::string where = path + " line " + std::to_string(line_no);
    // 'NAME.png (h,w,c) N' as create_lmdb.py writes it, or a bare NAME.png: the name runs up to
    // the shape, so it may hold spaces ('my photo.png (40,40,3) 1') and folders ('sub/b.png').
    LmdbKey k;
    std::string name = line;
    const size_t paren = line.rfind(" (");
    const size_t close = line.rfind(')');
    const bool has_shape = paren != std::string::npos && close != std::string::npos && close > paren &&
                           line.find_first_not_of(" \t0123456789", close + 1) == std::string::npos;
    if (has_shape) {  // else 'photo (1).png' is all name
      int h = 0, w = 0, c = 0, used = 0;
      const std::string shape = line.substr(paren + 1);
      SR_CHECK(std::sscanf(shape.c_str(), "(%d ,%d ,%d )%n", &h, &w, &c, &used) == 3 && used > 0 && h > 0 && w > 0 &&
                   c > 0 && shape.find_first_not_of(" \t0123456789", size_t(used)) == std::string::npos,
               where, ": cannot parse the shape in '", line, "' (expected 'KEY.png (h,w,c) [compress_level]')");
      k.height = h;
      k.width = w;
      name = line.substr(0, line.find_last_not_of(" \t", paren) + 1);
    }
    // The key is the name without its extension (create_lmdb.py's keys).
    const fs::path named(name);
    k.key = named.has_extension() ? (named.parent_path() / named.stem()).string() : name;
    k.origin = "meta_info " + where;
    SR_CHECK(!k.key.empty() && !named.filename().empty() && named.is_relative() &&
                 std::find(named.begin(), named.end(), "..") == named.end(),
             where, ": '", name, "' is not a record name (KEY.png, or a relative sub/KEY.png)");
    SR_CHECK(seen.insert(k.key).second, where, ": key '", k.key, "' is listed twice");
    SR_CHECK(db.contains(k.key), where, ": key '", k.key, "' is not in the database ", db.file(), " (",
             db.size(), " records)");
    out.push_back(std::move(k));
  }
  SR_CHECK(!out.empty(), path, ": meta_info file lists no keys");
  return out;
}

// BasicSR's rule (paths_from_lmdb): with io_backend lmdb a dataroot is a NAME.lmdb folder.
std::string lmdb_root(const std::string& root, const char* key) {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  SR_CHECK(r.size() > 5 && r.compare(r.size() - 5, 5, ".lmdb") == 0, "dataset: '", key, "' ('", root,
           "') should end with '.lmdb' with io_backend type lmdb (a folder made by create_lmdb.py; for image ",
           "folders use io_backend type disk)");
  return r;
}

}  // namespace

void Dataset::list_lmdb() {
  SR_CHECK(cfg_.meta_info_file.empty(), "dataset: 'meta_info_file' ('", cfg_.meta_info_file, "') is not used with ",
           "io_backend type lmdb: the keys come from the LMDB folder's meta_info.txt; remove it");
  SR_CHECK(cfg_.filename_tmpl == "{}", "dataset: 'filename_tmpl' ('", cfg_.filename_tmpl, "') is not used with ",
           "io_backend type lmdb: GT and LQ records pair by key; remove it or set '{}'");
  const bool want_gt = has_gt(cfg_.type);
  const bool want_lq = cfg_.type != DatasetType::single && cfg_.type != DatasetType::realesrgan;
  std::string gt_root, lq_root;
  if (want_gt) gt_root = lmdb_root(cfg_.dataroot_gt, "dataroot_gt");
  if (want_lq) lq_root = lmdb_root(cfg_.dataroot_lq, "dataroot_lq");
  std::vector<LmdbKey> gt_keys, lq_keys;
  if (want_gt) {
    gt_db_ = std::make_shared<const LmdbReader>(gt_root);
    gt_keys = read_lmdb_keys(gt_root, *gt_db_);
  }
  if (want_lq) {
    lq_db_ = std::make_shared<const LmdbReader>(lq_root);
    lq_keys = read_lmdb_keys(lq_root, *lq_db_);
  }
  if (want_gt && want_lq) {
    // BasicSR's paired_paths_from_lmdb: the two key lists must be equal; pairs in key order.
    auto key_set = [](const std::vector<LmdbKey>& v) {
      std::set<std::string> s;
      for (const LmdbKey& k : v) s.insert(k.key);
      return s;
    };
    const std::set<std::string> gs = key_set(gt_keys), ls = key_set(lq_keys);
    for (const LmdbKey& k : gt_keys)
      SR_CHECK(ls.count(k.key), "dataset: key '", k.key, "' of GT ", k.origin, " is not listed in LQ '", lq_root,
               "/meta_info.txt' (", gt_keys.size(), " GT vs ", lq_keys.size(), " LQ keys; paired LMDB folders ",
               "must list the same keys)");
    for (const LmdbKey& k : lq_keys)
      SR_CHECK(gs.count(k.key), "dataset: key '", k.key, "' of LQ ", k.origin, " is not listed in GT '", gt_root,
               "/meta_info.txt' (", gt_keys.size(), " GT vs ", lq_keys.size(), " LQ keys; paired LMDB folders ",
               "must list the same keys)");
    std::sort(gt_keys.begin(), gt_keys.end(), [](const LmdbKey& a, const LmdbKey& b) { return a.key < b.key; });
  }
  std::map<std::string, const LmdbKey*> lq_by_key;
  if (want_gt && want_lq)
    for (const LmdbKey& k : lq_keys) lq_by_key[k.key] = &k;
  for (const LmdbKey& k : want_gt ? gt_keys : lq_keys) {
    FilePair f;
    f.name = k.key;
    f.origin = k.origin;
    f.meta_height = k.height;
    f.meta_width = k.width;
    if (want_gt) {
      f.gt_key = k.key;
      f.gt_path = gt_root + ":" + k.key;
    }
    if (want_lq) {
      f.lq_key = k.key;
      f.lq_path = lq_root + ":" + k.key;
      if (const auto it = lq_by_key.find(k.key); it != lq_by_key.end())
        f.lq_meta_height = it->second->height, f.lq_meta_width = it->second->width;
    }
    files_.push_back(std::move(f));
  }
}

std::vector<uint8_t> Dataset::image_bytes(const FilePair& f, bool gt) const {
  const LmdbReader* db = gt ? gt_db_.get() : lq_db_.get();
  if (db) return db->read(gt ? f.gt_key : f.lq_key);
  return read_file_bytes(gt ? f.gt_path : f.lq_path);
}

Image Dataset::read(const FilePair& f, bool gt, const DecodeOptions& opt) const {
  const std::vector<uint8_t> bytes = image_bytes(f, gt);
  return decode_image(bytes.data(), bytes.size(), gt ? f.gt_path : f.lq_path, opt);
}

ImageInfo Dataset::info(const FilePair& f, bool gt) const {
  const std::vector<uint8_t> bytes = image_bytes(f, gt);
  return probe_image(bytes.data(), bytes.size(), gt ? f.gt_path : f.lq_path);
}

ImageInfo Dataset::header_info(const FilePair& f, bool gt) const {
  constexpr uint64_t kHeaderPrefixBytes = 64 << 10;
  if (gt ? gt_db_ : lq_db_) return info(f, gt);
  const std::string& path = gt ? f.gt_path : f.lq_path;
  {
    const RegularFile file(path, "");
    if (file.size() > kHeaderPrefixBytes) {
      std::vector<uint8_t> prefix(kHeaderPrefixBytes);
      file.read_at(0, prefix.data(), prefix.size());
      try {
        return probe_image(prefix.data(), prefix.size(), path);
      } catch (const Error&) {
        // The header continues past the prefix (or the file is bad): the whole file decides.
      }
    }
  }
  return info(f, gt);
}

Dataset::Dataset(const DataConfig& cfg) : cfg_(cfg) {
  validate(cfg_);
  list_files();
  pair_cache_ = std::make_shared<PairCache>(files_.size(), kPairCacheBudget);
}

void Dataset::list_files() {
  if (cfg_.io_backend == "lmdb") {
    list_lmdb();
    return;
  }
  if (cfg_.type == DatasetType::realesrgan_paired && !cfg_.meta_info_file.empty()) {
    // The pairs are listed explicitly: no filename_tmpl matching, no folder scan.
    files_ = degrade::read_paired_meta_info(cfg_.meta_info_file, cfg_.dataroot_gt, cfg_.dataroot_lq);
    return;
  }
  if (cfg_.type == DatasetType::lq_only) {
    if (!cfg_.meta_info_file.empty()) {
      files_ = read_meta_info(cfg_.meta_info_file, cfg_.dataroot_lq, true);
      return;
    }
    for (const std::string& name : list_image_files(cfg_.dataroot_lq)) {
      FilePair f;
      f.name = name;
      f.lq_path = (fs::path(cfg_.dataroot_lq) / name).string();
      files_.push_back(std::move(f));
    }
    return;
  }
  if (!cfg_.meta_info_file.empty()) {
    files_ = read_meta_info(cfg_.meta_info_file, cfg_.dataroot_gt, false);
  } else {
    for (const std::string& name : list_image_files(cfg_.dataroot_gt)) {
      FilePair f;
      f.name = name;
      f.gt_path = (fs::path(cfg_.dataroot_gt) / name).string();
      files_.push_back(std::move(f));
    }
  }
  if (cfg_.type == DatasetType::single || cfg_.type == DatasetType::realesrgan) return;

  const std::vector<std::string> lq_names = list_image_files(cfg_.dataroot_lq);
  const std::set<std::string> lq_set(lq_names.begin(), lq_names.end());
  std::set<std::string> used;
  for (FilePair& f : files_) {
    const std::string lq = lq_name_for(f.name, cfg_.filename_tmpl);
    f.lq_path = (fs::path(cfg_.dataroot_lq) / lq).string();
    SR_CHECK(lq_set.count(lq), "dataset: GT '", f.gt_path, "' has no LQ partner: expected '", f.lq_path,
             "' (filename_tmpl '", cfg_.filename_tmpl, "')", f.origin.empty() ? "" : " listed in " + f.origin);
    used.insert(lq);
  }
  if (cfg_.meta_info_file.empty()) {
    for (const std::string& lq : lq_names)
      SR_CHECK(used.count(lq), "dataset: LQ '", (fs::path(cfg_.dataroot_lq) / lq).string(),
               "' has no GT partner in '", cfg_.dataroot_gt, "' (", lq_names.size(), " LQ vs ", files_.size(),
               " GT images; filename_tmpl '", cfg_.filename_tmpl, "')");
  }
}

namespace {

void check_meta_size(const FilePair& f, int width, int height) {
  if (f.meta_height > 0)
    SR_CHECK(height == f.meta_height && width == f.meta_width, f.gt_path.empty() ? f.lq_path : f.gt_path, ": is ", width, "x", height, " but ",
             f.origin, " says ", f.meta_width, "x", f.meta_height, " (w x h)");
}

// GT must be exactly scale x LQ (training), or exceed it by less than scale per side
// (validation: a modcrop remainder, cropped away by the caller).
void check_scale(const FilePair& f, int gt_w, int gt_h, int lq_w, int lq_h, int s, bool exact) {
  const int need_w = lq_w * s, need_h = lq_h * s;
  const bool match = exact ? (gt_w == need_w && gt_h == need_h)
                           : (gt_w >= need_w && gt_h >= need_h && gt_w < need_w + s && gt_h < need_h + s);
  SR_CHECK(match, "dataset: scale mismatch: GT '", f.gt_path, "' is ", gt_w, "x", gt_h, " but LQ '", f.lq_path,
           "' is ", lq_w, "x", lq_h, "; scale ", s, " needs GT ", exact ? "exactly " : "", need_w, "x", need_h,
           exact ? "" : " (up to scale-1 extra pixels)", " (modcrop the GT to a multiple of ", s,
           " before making LQ)");
}

}  // namespace

std::shared_ptr<const ImagePair> PairCache::get(size_t i, const std::function<ImagePair()>& make) {
  {
    std::lock_guard<std::mutex> lock(m_);
    auto it = pairs_.find(i);
    if (it != pairs_.end()) return it->second;
  }
  auto made = std::make_shared<const ImagePair>(make());
  const size_t size = (made->gt.pixels.size() + made->lq.pixels.size()) * sizeof(float);
  std::lock_guard<std::mutex> lock(m_);
  // The first pair decides whether the set is worth keeping at all (its size times the
  // images); the running total then caps it at the budget whatever the later pairs' sizes (the
  // first pair made is a random one: a small first image in a set of large ones).
  if (state_ == 0) state_ = size * images_ <= budget_ ? 1 : -1;
  if (state_ < 0 || bytes_ + size > budget_) return made;
  auto [it, inserted] = pairs_.emplace(i, made);
  if (inserted) bytes_ += size;
  return it->second;
}

size_t PairCache::bytes() const {
  std::lock_guard<std::mutex> lock(m_);
  return bytes_;
}

Image Dataset::in_data_color(Image img) const {
  if (cfg_.color == DataColor::y) return y_channel_image(img);
  return img;
}

ImagePair Dataset::load_pair(size_t i, bool exact) const {
  const FilePair& f = file(i);
  const DecodeOptions opt{cfg_.max_pixels, {}};
  const int s = cfg_.scale;
  ImagePair p;
  if (cfg_.type == DatasetType::lq_only) {
    p.lq = in_data_color(read(f, false, opt));  // BasicSR's SingleImageDataset converts its LQ too
    check_meta_size(f, p.lq.width, p.lq.height);
    return p;
  }
  p.gt = read(f, true, opt);
  check_meta_size(f, p.gt.width, p.gt.height);
  if (cfg_.type == DatasetType::single) {
    SR_CHECK(p.gt.width >= s && p.gt.height >= s, f.gt_path, ": a ", size_str(p.gt),
             " image is smaller than the scale ", s);
    p.gt = modcrop(p.gt, s);
    // The LQ is made from the colour GT and only then are both converted: BasicSR converts the
    // LQ and GT images it has read, and its LQ images were made from colour GT, so this is the
    // order whose result equals BasicSR's. (Resizing the Y plane instead would differ by float
    // rounding only, the bicubic being linear with weights summing to 1 and Y affine.)
    p.lq = in_data_color(imresize(p.gt, 1.0 / s));
    p.gt = in_data_color(std::move(p.gt));
    return p;
  }
  p.lq = read(f, false, opt);
  check_scale(f, p.gt.width, p.gt.height, p.lq.width, p.lq.height, s, exact);
  if (p.gt.width != p.lq.width * s || p.gt.height != p.lq.height * s)
    p.gt = crop(p.gt, 0, 0, p.lq.height * s, p.lq.width * s, f.gt_path);
  p.gt = in_data_color(std::move(p.gt));
  p.lq = in_data_color(std::move(p.lq));
  return p;
}

void Dataset::load_train_sample(size_t i, const SampleDraw& d, float* gt_out, float* lq_out) const {
  const FilePair& f = file(i);
  const int s = cfg_.scale, lq_size = cfg_.gt_size / s;
  auto check_patch = [&](const Image& lq) {
    SR_CHECK(lq.height >= lq_size && lq.width >= lq_size, "dataset: LQ of '", f.gt_path, "' is ", size_str(lq),
             ", smaller than the LQ patch ", lq_size, "x", lq_size, " (gt_size ", cfg_.gt_size, " / scale ", s,
             "): remove the image or lower gt_size");
  };
  SR_CHECK(has_gt(cfg_.type), "dataset: '", cfg_.dataroot_lq,
           "' is an LQ-only dataset (LQOnlyDataset; BasicSR's SingleImageDataset): training needs GT images "
           "(PairedImageDataset, or GTOnlyBicubicDataset to make LQ by bicubic)");
  const int planes = channels();
  if (cfg_.type == DatasetType::single) {
    const std::shared_ptr<const ImagePair> kept = pair_cache_->get(i, [&] { return load_pair(i, true); });
    const ImagePair& p = *kept;  // in the dataset's colour already
    check_patch(p.lq);
    const int top = SampleDraw::pick(d.top_bits, p.lq.height - lq_size + 1);
    const int left = SampleDraw::pick(d.left_bits, p.lq.width - lq_size + 1);
    crop_augment_planar(p.lq, top, left, lq_size, d.aug, lq_out, planes);
    crop_augment_planar(p.gt, top * s, left * s, cfg_.gt_size, d.aug, gt_out, planes);
    return;
  }
  // Paired: the small LQ is decoded whole; of the GT only the patch is converted, and
  // decoding stops after its last row.
  Image lq = read(f, false, DecodeOptions{cfg_.max_pixels, {}});
  const std::vector<uint8_t> gt_bytes = image_bytes(f, true);
  const ImageInfo info = probe_image(gt_bytes.data(), gt_bytes.size(), f.gt_path);
  check_meta_size(f, info.width, info.height);
  check_scale(f, info.width, info.height, lq.width, lq.height, s, true);
  check_patch(lq);
  const int top = SampleDraw::pick(d.top_bits, lq.height - lq_size + 1);
  const int left = SampleDraw::pick(d.left_bits, lq.width - lq_size + 1);
  const DecodeOptions opt{cfg_.max_pixels, Region{top * s, left * s, cfg_.gt_size, cfg_.gt_size}};
  Image gt = decode_image(gt_bytes.data(), gt_bytes.size(), f.gt_path, opt);
  // BasicSR converts to Y after the crop and flips; Y is a function of each pixel alone, so
  // converting the decoded LQ and the GT patch before them gives the same samples.
  crop_augment_planar(in_data_color(std::move(lq)), top, left, lq_size, d.aug, lq_out, planes);
  crop_augment_planar(in_data_color(std::move(gt)), 0, 0, cfg_.gt_size, d.aug, gt_out, planes);
}

degrade::GtSample Dataset::load_realesrgan_sample(size_t i, int64_t epoch, int64_t position) const {
  SR_CHECK(cfg_.type == DatasetType::realesrgan, "dataset: load_realesrgan_sample on a dataset that is not a "
           "RealESRGANDataset");
  const FilePair& f = file(i);
  const Image gt = read(f, true, DecodeOptions{cfg_.max_pixels, {}});
  check_meta_size(f, gt.width, gt.height);
  const degrade::GtSampleOptions g{cfg_.use_hflip, cfg_.use_rot, cfg_.crop_pad_size};
  return degrade::make_gt_sample(gt, g, cfg_.degradation, cfg_.seed, (uint64_t)epoch, (uint64_t)position);
}

std::pair<int, int> Dataset::probe_val(size_t i) const {
  const FilePair& f = file(i);
  const int s = cfg_.scale;
  auto probe = [&](bool gt) {
    const ImageInfo header = info(f, gt);
    const int64_t pixels = (int64_t)header.width * header.height;
    SR_CHECK(pixels <= cfg_.max_pixels, gt ? f.gt_path : f.lq_path, ": image is ", header.width, "x", header.height,
             " = ", pixels, " pixels, over the limit of ", cfg_.max_pixels, " (max_pixels)");
    return header;
  };
  if (cfg_.type == DatasetType::lq_only) {
    const ImageInfo lq = probe(false);
    check_meta_size(f, lq.width, lq.height);
    return {lq.width * s, lq.height * s};
  }
  const ImageInfo gt = probe(true);
  check_meta_size(f, gt.width, gt.height);
  if (cfg_.type == DatasetType::single) {
    SR_CHECK(gt.width >= s && gt.height >= s, f.gt_path, ": a ", gt.width, "x", gt.height,
             " image is smaller than the scale ", s);
    return {gt.width - gt.width % s, gt.height - gt.height % s};
  }
  const ImageInfo lq = probe(false);
  check_scale(f, gt.width, gt.height, lq.width, lq.height, s, false);
  return {lq.width * s, lq.height * s};
}

std::string Dataset::train_sample_problem(size_t i, const std::string& gt_size_key) const {
  if (cfg_.type == DatasetType::lq_only) return "";  // refused as a training set by its type
  const FilePair& f = file(i);
  const int s = cfg_.scale, lq_size = cfg_.gt_size / s;
  // An LMDB record's size is what its meta_info.txt says, when it says (loading checks that
  // the image agrees); reading every record would page the whole database in.
  struct Size {
    int width, height;
  };
  auto size_of = [&](bool is_gt) {
    const int h = is_gt ? f.meta_height : f.lq_meta_height, w = is_gt ? f.meta_width : f.lq_meta_width;
    if ((is_gt ? gt_db_ : lq_db_) && h > 0 && w > 0) return Size{w, h};
    const ImageInfo header = header_info(f, is_gt);
    return Size{header.width, header.height};
  };
  try {
    const Size gt = size_of(true);
    check_meta_size(f, gt.width, gt.height);
    if (cfg_.type == DatasetType::realesrgan) return "";  // padded to crop_pad_size, then cropped
    // GT-only: the LQ is the modcropped GT / scale, and gt_size is a multiple of scale, so
    // the patch fits exactly when the GT is at least gt_size.
    if (cfg_.type == DatasetType::single) {
      if (gt.width < cfg_.gt_size || gt.height < cfg_.gt_size)
        return str_cat("GT '", f.gt_path, "' is ", gt.width, "x", gt.height, ", smaller than the patch: ",
                       gt_size_key, " is ", cfg_.gt_size);
      return "";
    }
    const Size lq = size_of(false);
    if (lq.width < lq_size || lq.height < lq_size)
      return str_cat("LQ '", f.lq_path, "' is ", lq.width, "x", lq.height, ", smaller than the LQ patch ", lq_size,
                     "x", lq_size, " (", gt_size_key, " ", cfg_.gt_size, " / scale ", s, "; GT '", f.gt_path, "' is ",
                     gt.width, "x", gt.height, ")");
    check_scale(f, gt.width, gt.height, lq.width, lq.height, s, true);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

ValSample Dataset::load_val(size_t i) const {
  const ImagePair p = load_pair(i, false);
  // color y: the Y images as (1, 1, H, W); image_to_tensor would replicate them to RGB.
  auto tensor = [&](const Image& img) { return cfg_.color == DataColor::y ? gray_to_tensor(img) : image_to_tensor(img); };
  return ValSample{file(i).name, has_gt(cfg_.type) ? tensor(p.gt) : Tensor(), tensor(p.lq)};
}

}  // namespace sr::data
