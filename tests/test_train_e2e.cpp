// End-to-end training on the CPU with a tiny config (tests/fixtures/train_tiny.json):
// both stages run and leave their final weights, stage 2 starts from stage 1, the loss
// falls, a resumed run is bit-identical to an uninterrupted one, NaN losses are skipped
// and then stop the run with a clear message.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/train_support.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;
using sr::test::expect_same_tensors;
namespace fs = std::filesystem;

namespace {

json tiny(const std::string& run, std::vector<std::string> extra = {}) {
  return test::tiny_train_config(run, std::move(extra));
}
std::string exp_dir(const std::string& run) { return test::train_exp_dir(run); }
std::vector<json> events(const std::string& run) { return test::train_events(run); }

}  // namespace

TEST_CASE("train/two_stage_run_leaves_models_and_report") {
  // Stage 2 with G's learning rate 0: G never moves, so its final weights must equal
  // stage 1's final (EMA) weights exactly, which proves stage 2 started from them (the
  // raw G is compared: the EMA of equal weights may move by an ulp).
  json c = tiny("two_stage", {"train.stages.1.optim_g.lr=0"});
  REQUIRE(run_training(c, {}) == 0);
  const std::string d = exp_dir("two_stage");
  for (const char* f : {"/models/net_g_psnr_final.safetensors", "/models/net_g_gan_final.safetensors",
                        "/models/net_d_gan_6.safetensors", "/models/net_g_ema_psnr_8.safetensors",
                        "/training_states/gan_6.state", "/train.log", "/metrics.jsonl", "/report.html"})
    CHECK(fs::exists(d + f));
  expect_same_tensors(read_safetensors(d + "/models/net_g_psnr_final.safetensors"),
                      read_safetensors(d + "/models/net_g_gan_6.safetensors"));
  // Validation ran in both stages and logged PSNR and SSIM.
  int vals = 0;
  for (const json& e : events("two_stage"))
    if (e["event"] == "val") {
      ++vals;
      CHECK(e.contains("val_psnr"));
      CHECK(e.contains("val_ssim"));
    }
  CHECK(vals == 4);  // iterations 4 and 8 of psnr, 4 and 6 of gan
  std::ifstream html(d + "/report.html");
  std::stringstream ss;
  ss << html.rdbuf();
  CHECK_THAT(ss.str(), Catch::Contains("<svg") && Catch::Contains("data:image/png;base64,"));
}

// The run's device is checked and made current before anything is built on it; a GPU the
// machine lacks is an error naming the config value (not a silent run on GPU 0).
TEST_CASE("train/missing_cuda_device_is_a_clear_error") {
  CHECK_THROWS_WITH(resolve_device("cuda:99", 0), Catch::Contains("device 'cuda:99': cuda:99 requested"));
  CHECK(resolve_device("cpu", 3) == Device::cpu());
}

TEST_CASE("train/l1_loss_falls") {
  json c = tiny("falls", {"train.stages.0.total_iter=60", "logger.print_freq=10", "val.val_freq=1000",
                          "logger.save_checkpoint_freq=1000"});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  std::vector<double> losses;
  for (const json& e : events("falls"))
    if (e["event"] == "train") losses.push_back(e["l_g_pix"]);
  REQUIRE(losses.size() == 6);
  INFO("first window " << losses.front() << ", last " << losses.back());
  CHECK(losses.back() < 0.7 * losses.front());
}

TEST_CASE("train/resume_is_bit_exact") {
  // Uninterrupted: both stages to the end. Interrupted: the same run resumed from its
  // state in the middle of the GAN stage (iteration 4 of 6). The final states must match
  // bit for bit: weights, EMA, discriminator (spectral-norm u/v too), optimizer moments.
  json c = tiny("resume");
  REQUIRE(run_training(c, {}) == 0);
  const std::string d = exp_dir("resume");
  const std::string final_state = state_path(d, "gan", 6);
  SafetensorsFile uninterrupted = read_safetensors(final_state);
  fs::remove(final_state);
  REQUIRE(find_latest_state(d).value() == state_path(d, "gan", 4));
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  expect_same_tensors(uninterrupted, read_safetensors(final_state));
  // Resuming in stage 1 replays the rest of stage 1 and all of stage 2 identically too.
  for (const auto& e : fs::directory_iterator(d + "/training_states"))
    if (e.path().filename().string().rfind("gan_", 0) == 0 || e.path().filename() == "psnr_8.state") fs::remove(e.path());
  REQUIRE(find_latest_state(d).value() == state_path(d, "psnr", 4));
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  expect_same_tensors(uninterrupted, read_safetensors(final_state));
}

TEST_CASE("train/nan_loss_is_skipped_then_stops") {
  json c = tiny("nan", {"train.inject_nan_iters=[3]"});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  int skips = 0;
  for (const json& e : events("nan")) skips += e["event"] == "nan_skip";
  CHECK(skips == 1);
  json stop = tiny("nan_stop", {"train.inject_nan_iters=[5,6,7]", "train.max_nan_steps=3"});
  CHECK_THROWS_WITH(run_training(stop, {}), Catch::Contains("3 consecutive non-finite losses") &&
                                                 Catch::Contains("iteration 7") &&
                                                 Catch::Contains("psnr_4.state"));
}

TEST_CASE("train/stage_option_needs_previous_final_weights") {
  json c = tiny("stage_only");
  TrainOptions o;
  o.only_stage = "gan";
  CHECK_THROWS_WITH(run_training(c, o), Catch::Contains("net_g_psnr_final.safetensors") &&
                                            Catch::Contains("does not exist"));
  o.only_stage = "nope";
  CHECK_THROWS_WITH(run_training(c, o), Catch::Contains("no stage named 'nope'") && Catch::Contains("psnr, gan"));
}
