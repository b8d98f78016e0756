// Helpers for the data/ tests: a self-deleting temporary folder, committed fixtures,
// the reference resize outputs (.f32), synthetic images, and error-message checks.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/image.h"

namespace sr::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string subdir(const std::string& name) const;  // created

 private:
  std::string path_;
};

std::string data_fixture(const std::string& name);   // tests/fixtures/data/<name>
std::string infer_fixture(const std::string& name);  // tests/fixtures/infer/<name>

// A tools/ref_imresize_metrics.py output: "SRF32\0\0\0", int32 c, h, w, float32 HWC.
data::Image read_f32_fixture(const std::string& name);

// Samples are k / (2^depth - 1) for random integers k, so they survive encoding exactly.
data::Image random_image(std::mt19937_64& rng, int width, int height, int channels, int bit_depth = 8);

// Writes bytes (or text) to a file, creating or truncating it.
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text(const std::string& path, const std::string& text);

// build/srengine: the command-line program the CLI tests run.
std::string srengine_exe();

// The whole file as bytes ("" when it cannot be read): a CLI test's log or output.
std::string read_text(const std::string& path);

// Largest difference in 8-bit levels between two images of the same size, and how many
// samples differ at all.
std::pair<int, int> level_diff(const data::Image& a, const data::Image& b);

// Runs fn, requires an sr::Error whose message contains every one of `parts`, and
// returns the message.
std::string require_error(const std::function<void()>& fn, const std::vector<std::string>& parts);

// GT whose s x s blocks repeat one LQ pixel, so any correctly paired crop satisfies
// gt(s*y + dy, s*x + dx) == lq(y, x) whatever the (shared) augmentation.
inline data::Image block_upscale(const data::Image& lq, int s) {
  data::Image gt(lq.width * s, lq.height * s, lq.channels, lq.bit_depth);
  for (int y = 0; y < gt.height; ++y)
    for (int x = 0; x < gt.width; ++x)
      for (int c = 0; c < lq.channels; ++c) gt.at(y, x, c) = lq.at(y / s, x / s, c);
  return gt;
}

// A paired dataset's configuration: GT and LQ folders, scale, training patch size.
inline data::DataConfig paired_config(const std::string& gt, const std::string& lq, int scale, int gt_size) {
  data::DataConfig cfg;
  cfg.dataroot_gt = gt;
  cfg.dataroot_lq = lq;
  cfg.scale = scale;
  cfg.gt_size = gt_size;
  return cfg;
}

}  // namespace sr::test
