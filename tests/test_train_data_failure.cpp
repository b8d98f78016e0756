// A training batch that cannot be made (an image unreadable past its header, without
// skip_bad_images) stops the run at its iteration; a single process first saves the training
// state of the iteration before, with that batch as the loader's next, so the work since the
// last checkpoint is kept and --resume auto, once the file is whole, ends exactly where an
// uninterrupted run ends.
#include <catch2/catch.hpp>

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
