// Super-resolution datasets with BasicSR's semantics: paired GT/LQ folders (optionally
// listed by a meta_info file, LQ names from filename_tmpl), Real-ESRGAN's fine-tuning
// pairs (a meta_info file of "GT_PATH, LQ_PATH" lines; otherwise as paired), a single
// HR folder whose LQ is made by the MATLAB-compatible bicubic after modcrop, or an LQ
// folder alone (BasicSR's SingleImageDataset: upscaling without GT, so without metrics).
// Every file problem is an sr::Error naming the file(s) and the sizes involved. With
// io_backend lmdb the images are records of BasicSR's LMDB folders (data/lmdb_reader.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/degrade/options.h"
#include "data/degrade/realesrgan_sample.h"
#include "data/image.h"
#include "data/image_io.h"
#include "data/transforms.h"
#include "data/ycbcr.h"
#include "engine/tensor.h"

namespace sr::data {

// realesrgan_paired loads and crops as paired; only its meta_info format differs.
// lq_only has no GT: it can be upscaled (srengine test) but neither trained on nor measured.
// realesrgan: GT images only; the LQ is synthesised by Real-ESRGAN's degradation model
// (data/degrade/) when the loader makes a batch (loader.h).
enum class DatasetType { paired, single, realesrgan_paired, lq_only, realesrgan };
// "paired" / "PairedImageDataset", "single" / "GTOnlyBicubicDataset" (or its deprecated
// name "SingleImageDataset", which in BasicSR means an LQ-only set),
// "realesrgan_paired" / "RealESRGANPairedDataset", "lq_only" / "LQOnlyDataset" or
// "realesrgan" / "RealESRGANDataset".
DatasetType parse_dataset_type(const std::string& s);

// What the training config's datasets.train (or val) section holds; names follow BasicSR.
struct DataConfig {
  DatasetType type = DatasetType::paired;
  std::string dataroot_gt;       // all types but lq_only
  std::string dataroot_lq;       // paired types and lq_only
  // Optional. paired / single: "name [(h,w,c)]" per line, names relative to dataroot_gt;
  // lq_only: the same, relative to dataroot_lq;
  // realesrgan_paired: "gt_path, lq_path" per line, relative to dataroot_gt / dataroot_lq.
  std::string meta_info_file;
  std::string filename_tmpl = "{}";  // LQ stem from the GT stem, e.g. "{}x4"
  // "disk" (image files) or "lmdb": every dataroot is a BasicSR LMDB folder (NAME.lmdb holding
  // data.mdb and meta_info.txt), its keys listed by <root>/meta_info.txt; paired sets pair GT and
  // LQ by key (both lists must hold the same keys), and meta_info_file / filename_tmpl are unused.
  std::string io_backend = "disk";
  // BasicSR's `color`: rgb, or y (every image, GT and LQ, replaced by its BT.601 Y channel
  // after it is made, cropped and flipped: one-channel samples; data/ycbcr.h). Not for
  // RealESRGANDataset (its degradations work on colour images).
  DataColor color = DataColor::rgb;
  int scale = 4;
  int gt_size = 128;             // training GT patch side; a multiple of scale
  bool use_hflip = true;
  bool use_rot = true;           // vflip and transpose
  int batch_size_per_gpu = 16;
  int num_worker_per_gpu = 2;    // 0: batches are made on the calling thread
  int dataset_enlarge_ratio = 1; // the file list repeated this many times per epoch
  uint64_t seed = 0;
  bool skip_bad_images = false;  // warn, count and substitute instead of failing
  int64_t max_pixels = kDefaultMaxPixels;
  int prefetch_batches = 0;      // ready-batch queue bound; 0: max(2, 2 * workers)
  // RealESRGANDataset only: the degradation model's options (kernel keys of the dataset
  // section, pipeline keys of the top level), the side of the square GT crop it starts
  // from, and where USM sharpening applies. RealESRNetModel (gt_usm true): the GT crop is
  // sharpened first and both the LQ and the batch's GT come from it. RealESRGANModel: the
  // LQ is degraded from the sharpened crop, the batch's GT stays plain (its losses sharpen
  // the final patch themselves). The trainer sets the two flags from the stage type.
  degrade::DegradationOptions degradation;
  int crop_pad_size = 400;
  bool usm_gt = true;         // the batch's GT is the sharpened crop
  bool degrade_from_usm = true;  // the LQ is degraded from the sharpened crop
  // datasets.train.degrade_on ("auto", "cpu", "device") and what the trainer made of it for
  // its device: true, the loader only crops, flips and draws the degradation's parameters
  // (Batch::degradation) and the training device degrades (data/degrade/batch_device.h).
  std::string degrade_on = "auto";
  bool degrade_on_device = false;
};
// Value checks with messages naming the key (gt_size vs scale, positive sizes, ...).
void validate(const DataConfig& cfg);

struct FilePair {
  std::string name;     // GT file name relative to dataroot_gt (lq_only: LQ file name
                        // relative to dataroot_lq); what metrics and logs show
  std::string gt_path;  // empty for lq_only
  std::string lq_path;  // empty for a GT-only (single) dataset
  int meta_height = 0, meta_width = 0;  // from meta_info "(h,w,c)", 0 when absent
  std::string origin;   // "meta_info FILE line N" when listed there
  // io_backend lmdb: the record keys; gt_path / lq_path are then "<root>:<key>", what errors show.
  std::string gt_key, lq_key;
  int lq_meta_height = 0, lq_meta_width = 0;  // paired lmdb: the LQ meta_info.txt's "(h,w,c)", 0 when absent
};

struct ImagePair {
  Image gt, lq;
};

struct ValSample {
  std::string name;
  // (1, C, H, W) float32, C = 3 (color rgb) or 1 (color y); GT cropped to scale x LQ; gt
  // undefined for lq_only
  Tensor gt, lq;
};

// Whether a dataset type has GT images (what training and metrics need).
inline bool has_gt(DatasetType t) { return t != DatasetType::lq_only; }

// Files sorted by name. Non-image files in a folder are ignored; hidden files too.
std::vector<std::string> list_image_files(const std::string& dir);

class LmdbReader;

// The decoded training pairs of a GT-only (GTOnlyBicubicDataset) set, kept once made: the
// modcropped GT and its bicubic LQ depend on the image alone (the draw only crops and flips
// them), and making them is most of a sample's cost (a whole-image decode and resize for a
// small patch). Kept when the whole set fits `budget_bytes` by the first pair's size, so a
// large set pays nothing, and never beyond the budget (pairs past it are made per sample).
// Shared by a dataset's copies (the loader's workers); every operation locks.
class PairCache {
 public:
  explicit PairCache(size_t images, size_t budget_bytes) : images_(images), budget_(budget_bytes) {}
  // Pair i, made by `make` the first time (outside the lock: two workers may both make it;
  // the first kept wins, and both are the same values).
  std::shared_ptr<const ImagePair> get(size_t i, const std::function<ImagePair()>& make);
  size_t bytes() const;

 private:
  const size_t images_, budget_;
  mutable std::mutex m_;
  std::unordered_map<size_t, std::shared_ptr<const ImagePair>> pairs_;
  size_t bytes_ = 0;
  int state_ = 0;  // 0 undecided, 1 keeping, -1 not keeping (the set would not fit)
};

// 512 MiB: the embedded photographs' pairs take 62 MB; a DIV2K-sized GT-only set does not fit
// and is decoded per sample, as before.
constexpr size_t kPairCacheBudget = size_t(512) << 20;

class Dataset {
 public:
  explicit Dataset(const DataConfig& cfg);

  size_t size() const { return files_.size(); }
  const FilePair& file(size_t i) const { return files_.at(i); }
  const DataConfig& config() const { return cfg_; }

  // Decodes sample i. Paired: GT must be exactly scale x LQ when `exact`, otherwise
  // (validation) GT may exceed it by less than `scale` per side (a modcrop remainder)
  // and is cropped. Single: GT is modcropped and LQ = imresize(GT, 1/scale). LQ-only: the
  // LQ image, GT left empty. With color y both come back as one-channel Y images.
  ImagePair load_pair(size_t i, bool exact = true) const;
  // The channels of this dataset's samples: 3, or 1 with color y.
  int channels() const { return data_color_channels(cfg_.color); }
  // A training sample: the random crop on the LQ grid and the augmentation of `draw`,
  // written as planar float (C, gt_size, gt_size) and (C, gt_size/s, gt_size/s), C =
  // channels(): RGB, or Y with color y.
  // An LQ-only dataset has no training samples (an error naming its folder).
  void load_train_sample(size_t i, const SampleDraw& draw, float* gt_out, float* lq_out) const;
  ValSample load_val(size_t i) const;
  // The bytes of the GT-only training pairs kept so far (PairCache).
  size_t kept_pair_bytes() const { return pair_cache_->bytes(); }
  // RealESRGANDataset: image i flipped, padded, cropped to crop_pad_size and given its
  // three kernels, all drawn from the sample stream (seed, epoch, position).
  degrade::GtSample load_realesrgan_sample(size_t i, int64_t epoch, int64_t position) const;
  // (width, height) of load_val(i)'s GT from the file headers alone, with load_val's checks
  // (readable, scale, meta_info size, pixel limit): a run checks its val sets with this
  // before its first iteration. LQ-only: the size the SR image will have (scale x LQ).
  std::pair<int, int> probe_val(size_t i) const;
  // What load_train_sample(i) would stop at, from the file headers alone (no decoding): an
  // unreadable header, a meta_info size, a GT that is not exactly scale x LQ (paired), an
  // image smaller than gt_size (GT) or gt_size / scale (LQ); "" when none. `gt_size_key`
  // names gt_size in the messages. A RealESRGANDataset pads small images to crop_pad_size,
  // so only its headers are checked.
  std::string train_sample_problem(size_t i, const std::string& gt_size_key) const;

  // The bytes of f's GT (`gt`) or LQ image: its file, or its LMDB record (io_backend lmdb).
  std::vector<uint8_t> image_bytes(const FilePair& f, bool gt) const;

 private:
  void list_files();  // files_, from the folders, meta_info or LMDB
  void list_lmdb();
  Image read(const FilePair& f, bool gt, const DecodeOptions& opt) const;
  ImageInfo info(const FilePair& f, bool gt) const;
  // info() from the first kHeaderPrefixBytes of a file on disk, the whole file only when the
  // header lies beyond them (a JPEG's large EXIF or ICC segments): the start-up check of a
  // training set reads every image's header, and a set of 100k sub-images is tens of GB.
  ImageInfo header_info(const FilePair& f, bool gt) const;
  // `img` in the dataset's colour: as it is (rgb), or its Y channel (y).
  Image in_data_color(Image img) const;

  DataConfig cfg_;
  std::vector<FilePair> files_;
  std::shared_ptr<const LmdbReader> gt_db_, lq_db_;  // io_backend lmdb; shared by copies
  std::shared_ptr<PairCache> pair_cache_;             // GT-only training pairs; shared by copies
};

}  // namespace sr::data
