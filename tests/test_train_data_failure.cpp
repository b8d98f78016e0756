// A training batch that cannot be made (an image unreadable past its header, without
// skip_bad_images) stops the run at its iteration; a single process first saves the training
// state of the iteration before, with that batch as the loader's next, so the work since the
// last checkpoint is kept and --resume auto, once the file is whole, ends exactly where an
// uninterrupted run ends.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <random>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/loader.h"
#include "engine/safetensors.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/checkpoint.h"
#include "train/config_types.h"
#include "train/trainer.h"
#include "train/validation.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

// The tiny config's psnr stage on `train_dir`, 5 iterations of batch 2, no checkpoint or
// validation before the end.
json bad_image_run(const std::string& run, const std::string& train_dir) {
  json c = test::tiny_train_config(run, {"datasets.train.dataroot_gt=" + train_dir, "train.stages.0.total_iter=5",
                                         "logger.save_checkpoint_freq=1000", "val.val_freq=1000"});
  c["train"]["stages"].erase(1);
  return c;
}

}  // namespace

// Six images, batch 2: three batches per epoch, so the image cut short is read once in the
// first epoch, by iteration 3 (it is picked from the loader's epoch order).
TEST_CASE("train/bad_training_image_saves_the_training_state_first") {
  test::TempDir dir;
  const std::string train_dir = dir.subdir("train");
  std::mt19937_64 rng(11);
  for (int i = 0; i < 6; ++i)
    data::write_image(train_dir + "/img" + std::to_string(i) + ".png", test::random_image(rng, 40, 40, 3));
  const std::string run = "bad_train_image";
  json c = bad_image_run(run, train_dir);
  const Config cfg = parse_config(c);
  const data::DataConfig& d = cfg.find_dataset("train")->data;
  REQUIRE(d.batch_size_per_gpu == 2);
  const std::vector<int64_t> order = data::epoch_indices(d.seed, 0, 6, d.dataset_enlarge_ratio, 0, 1);
  const std::string bad = data::Dataset(d).file((size_t)order.at(4)).gt_path;  // batch 2: iteration 3
  INFO("the image of iteration 3: " << bad);

  REQUIRE(run_training(c, {}) == 0);
  const std::string exp = test::train_exp_dir(run), final_state = state_path(exp, "psnr", 5);
  const SafetensorsFile uninterrupted = read_safetensors(final_state);

  c = bad_image_run(run, train_dir);  // a fresh experiment folder
  const std::vector<uint8_t> whole = data::read_file_bytes(bad);
  fs::resize_file(bad, whole.size() / 2);
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains(bad) && Catch::Contains("epoch 0, batch 2") &&
                                             Catch::Contains("the training state of iteration 2 was saved first") &&
                                             Catch::Contains("skip_bad_images"));
  CHECK(fs::exists(state_path(exp, "psnr", 2)));
  CHECK_FALSE(fs::exists(state_path(exp, "psnr", 3)));

  // Failing again right after that state saves nothing new and says so.
  TrainOptions resume;
  resume.resume = "auto";
  CHECK_THROWS_WITH(run_training(c, resume),
                    Catch::Contains(bad) && Catch::Contains("no iteration ran since the last training state was saved"));
  CHECK_FALSE(fs::exists(state_path(exp, "psnr", 3)));

  test::write_bytes(bad, whole);
  REQUIRE(run_training(c, resume) == 0);
  test::expect_same_tensors(uninterrupted, read_safetensors(final_state));
}

// The other way out of a bad training image: remove it and resume. Six images, batch 2,
// and the image of iteration 3 cut short: the state of iteration 2 waits at epoch 0, batch
// 2. Five images make two batches an epoch, so batch 2 is past the epoch's end: the resume
// goes on from epoch 1's first batch (before, the loader refused the position), and the
// log says the training set changed size and what became of the interrupted epoch.
TEST_CASE("train/removing_a_bad_training_image_and_resuming_goes_on_with_a_note") {
  test::TempDir dir;
  const std::string train_dir = dir.subdir("train");
  std::mt19937_64 rng(12);
  for (int i = 0; i < 6; ++i)
    data::write_image(train_dir + "/img" + std::to_string(i) + ".png", test::random_image(rng, 40, 40, 3));
  const std::string run = "bad_train_image_removed";
  json c = bad_image_run(run, train_dir);
  const data::DataConfig d = parse_config(c).find_dataset("train")->data;
  const std::vector<int64_t> order = data::epoch_indices(d.seed, 0, 6, d.dataset_enlarge_ratio, 0, 1);
  const std::string bad = data::Dataset(d).file((size_t)order.at(4)).gt_path;  // batch 2: iteration 3
  fs::resize_file(bad, fs::file_size(bad) / 2);
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains("the training state of iteration 2 was saved first"));
  const std::string exp = test::train_exp_dir(run);
  const TrainingState saved = load_training_state(state_path(exp, "psnr", 2));
  CHECK(saved.info.loader_dataset_size == 6);
  CHECK(saved.info.loader_batch == 2);

  fs::remove(bad);
  TrainOptions resume;
  resume.resume = "auto";
  REQUIRE(run_training(c, resume) == 0);
  CHECK(load_training_state(state_path(exp, "psnr", 5)).info.loader_dataset_size == 5);
  const std::string log = test::read_text(exp + "/train.log");
  CHECK_THAT(log, Catch::Contains("the training set had 6 samples when the state was saved and has 5 now") &&
                      Catch::Contains("batch 2 is past epoch 0's 2 batches now, so epoch 1 begins"));
}

// A training set is checked from its image headers before the first iteration (train and
// `srengine config --check` alike): a paired LQ that is not GT / scale, and images smaller
// than gt_size, are errors naming the image, its size, gt_size and the key, not a stop when
// the sample comes up. A RealESRGANDataset pads small images, so they pass there.
TEST_CASE("train/training_set_is_checked_from_headers_before_the_first_iteration") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq"), small = dir.subdir("small");
  std::mt19937_64 rng(5);
  for (int i = 0; i < 4; ++i) {
    const std::string name = "/img" + std::to_string(i) + ".png";
    data::write_image(gt + name, test::random_image(rng, 64, 64, 3));
    data::write_image(lq + name, test::random_image(rng, i == 2 ? 8 : 16, i == 2 ? 8 : 16, 3));
    data::write_image(small + name, test::random_image(rng, 64, 64, 3));
  }
  // (1) Paired, one 8x8 LQ beside a 64x64 GT at x4.
  json c = bad_image_run("train_set_paired", gt);
  c["datasets"]["train"]["type"] = "PairedImageDataset";
  c["datasets"]["train"]["dataroot_lq"] = lq;
  CHECK_THROWS_WITH(check_before_training(parse_config(c)),
                    Catch::Contains("datasets.train: ") && Catch::Contains(lq + "/img2.png") &&
                        Catch::Contains("8x8") && Catch::Contains(gt + "/img2.png") && Catch::Contains("64x64") &&
                        Catch::Contains("scale mismatch"));
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains(lq + "/img2.png") && Catch::Contains("scale mismatch"));
  CHECK_FALSE(fs::exists(test::train_exp_dir("train_set_paired") + "/training_states"));
  // ... and with that LQ whole, gt_size past the LQ: an LQ smaller than the LQ patch.
  data::write_image(lq + "/img2.png", test::random_image(rng, 16, 16, 3));
  REQUIRE_NOTHROW(check_before_training(parse_config(c)));
  c["datasets"]["train"]["gt_size"] = 128;
  CHECK_THROWS_WITH(check_before_training(parse_config(c)),
                    Catch::Contains("4 of 4 training images") && Catch::Contains("16x16") &&
                        Catch::Contains("LQ patch 32x32") && Catch::Contains("datasets.train.gt_size 128") &&
                        Catch::Contains("lower datasets.train.gt_size"));

  // (2) GT-only, every image 64x64 and gt_size 128: refused at start-up, with the key.
  c = bad_image_run("train_set_small", small);
  c["datasets"]["train"]["gt_size"] = 128;
  for (auto* check : {+[](const json& j) { check_before_training(parse_config(j)); },
                      +[](const json& j) { (void)run_training(j, {}); }})
    CHECK_THROWS_WITH(check(c), Catch::Contains(small + "/img") && Catch::Contains("64x64") &&
                                    Catch::Contains("datasets.train.gt_size is 128") &&
                                    Catch::Contains("lower datasets.train.gt_size") &&
                                    !Catch::Contains("no iteration ran since"));
  CHECK_FALSE(fs::exists(test::train_exp_dir("train_set_small") + "/training_states"));
  // One image too small among fitting ones names that image.
  c["datasets"]["train"]["gt_size"] = 64;
  data::write_image(small + "/img1.png", test::random_image(rng, 64, 60, 3));
  CHECK_THROWS_WITH(check_before_training(parse_config(c)),
                    Catch::Contains(small + "/img1.png' is 64x60") && Catch::Contains("datasets.train.gt_size is 64") &&
                        Catch::Contains("fix or remove the image"));
  // Under skip_bad_images the loader skips it: a note, unless every image would be skipped.
  c["datasets"]["train"]["skip_bad_images"] = true;
  CHECK_THAT(check_training_set(parse_config(c)), Catch::Contains("1 of 4 training images will be skipped") &&
                                                      Catch::Contains(small + "/img1.png"));
  c["datasets"]["train"]["gt_size"] = 128;
  CHECK_THROWS_WITH(check_before_training(parse_config(c)), Catch::Contains("4 of 4 training images"));

  // A RealESRGANDataset pads images smaller than crop_pad_size: no size refused.
  data::DataConfig r = parse_config(bad_image_run("train_set_realesrgan", small)).find_dataset("train")->data;
  r.type = data::DatasetType::realesrgan;
  r.gt_size = 256;
  r.crop_pad_size = 400;
  r.degradation.scale = r.scale;
  const data::Dataset esrgan(r);
  for (size_t i = 0; i < esrgan.size(); ++i) CHECK(esrgan.train_sample_problem(i, "datasets.train.gt_size") == "");

  // The training photos (27 of 504x312): how long the check takes.
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_NOTHROW(check_training_set(parse_config(test::tiny_train_config("train_set_photos"))));
  WARN("check_training_set on datasets/train_photos: "
       << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s");
}

// A batch that cannot be made at a fresh run's first iteration: no training state was ever
// saved, and the message does not say one was.
TEST_CASE("train/bad_image_at_the_first_batch_of_a_fresh_run_says_no_state_was_saved") {
  test::TempDir dir;
  const std::string train_dir = dir.subdir("train");
  std::mt19937_64 rng(12);
  for (int i = 0; i < 6; ++i)
    data::write_image(train_dir + "/img" + std::to_string(i) + ".png", test::random_image(rng, 40, 40, 3));
  json c = bad_image_run("bad_first_batch", train_dir);
  const Config cfg = parse_config(c);
  const data::DataConfig& d = cfg.find_dataset("train")->data;
  const std::vector<int64_t> order = data::epoch_indices(d.seed, 0, 6, d.dataset_enlarge_ratio, 0, 1);
  const std::string bad = data::Dataset(d).file((size_t)order.at(0)).gt_path;  // batch 0
  const std::vector<uint8_t> whole = data::read_file_bytes(bad);
  fs::resize_file(bad, whole.size() / 2);  // the header is whole: the start-up check passes
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains(bad) && Catch::Contains("the stage's first batch") &&
                                             !Catch::Contains("no iteration ran since the last training state"));
  CHECK_FALSE(fs::exists(state_path(test::train_exp_dir("bad_first_batch"), "psnr", 0)));
}

// The start-up check reads a header from a file's first 64 KiB and the whole file only when
// the header lies past them: a large PNG (header in the prefix) and a JPEG whose 128 KiB of
// APP1 segments come before its frame header both give their true size.
TEST_CASE("train/training_set_header_check_reads_a_prefix_and_falls_back_to_the_file") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  std::mt19937_64 rng(9);
  data::write_image(gt + "/big.png", test::random_image(rng, 200, 150, 3));
  REQUIRE(fs::file_size(gt + "/big.png") > (64u << 10));
  data::write_image(dir.file("plain.jpg"), test::random_image(rng, 96, 80, 3));
  std::vector<uint8_t> jpeg = data::read_file_bytes(dir.file("plain.jpg"));
  std::vector<uint8_t> app1 = {0xFF, 0xE1, 0xFF, 0xFF};  // a 65535-byte APP1 segment
  app1.resize(2 + 65535, 0x20);
  for (int i = 0; i < 2; ++i) jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  data::write_file_bytes(gt + "/late_header.jpg", jpeg);
  REQUIRE(data::read_image(gt + "/late_header.jpg").width == 96);
  json c = bad_image_run("train_set_prefix", gt);
  c["datasets"]["train"]["gt_size"] = 400;
  CHECK_THROWS_WITH(check_before_training(parse_config(c)),
                    Catch::Contains("big.png' is 200x150") && Catch::Contains("late_header.jpg' is 96x80"));
}
