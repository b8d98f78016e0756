// train.cuda_graph: the key and its decision (train/graphed_step.h), and whole training runs
// whose iterations are captured and replayed against the same runs eagerly.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/cuda_runtime.h"
#include "support/train_support.h"
#include "support/cuda_skip.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/comm.h"
#include "train/graphed_step.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

// The key takes auto, true or false (booleans as written in YAML or JSON too), and nothing else.
TEST_CASE("config/cuda_graph_key") {
  CHECK(parse_config(test::tiny_train_config("graph_key")).train.cuda_graph == "auto");
  CHECK(parse_config(test::tiny_train_config("graph_key", {"train.cuda_graph=true"})).train.cuda_graph == "true");
  CHECK(parse_config(test::tiny_train_config("graph_key", {"train.cuda_graph=false"})).train.cuda_graph == "false");
  CHECK(parse_config(test::tiny_train_config("graph_key", {"train.cuda_graph=auto"})).train.cuda_graph == "auto");
  CHECK_THROWS_WITH(test::tiny_train_config("graph_key", {"train.cuda_graph=yes"}),
                    Catch::Contains("'train.cuda_graph' is 'yes', expected one of: auto, true, false"));
  CHECK_THROWS_WITH(test::tiny_train_config("graph_key", {"train.cuda_graph=1"}),
                    Catch::Contains("'train.cuda_graph' must be a string"));
}

// One predicate says why a stage cannot be captured; auto falls back to eager on a GPU with
// one log line, true is an error naming the key and the reason or the device.
TEST_CASE("config/cuda_graph_decision") {
  Config c = parse_config(test::tiny_train_config("graph_decision"));
  const StageConfig& psnr = c.train.stages[0];
  const Device gpu = Device::cuda(0), simt = Device::simt(), cpu = Device::cpu();
  CHECK(cuda_graph_blocker(c, psnr, "single").empty());
  CHECK(cuda_graph_blocker(c, psnr, "nccl").empty());
  CHECK_THAT(cuda_graph_blocker(c, psnr, "mpi"), Catch::Contains("MPI communicator all-reduces through the host"));
  // fp16 (its loss scale lives on the device) and the perceptual loss with criterion fro (its
  // square root is a device op) are capturable.
  StageConfig fro = psnr;
  fro.perceptual_opt = PerceptualLossConfig{};
  fro.perceptual_opt->vgg_weights = "vgg19.safetensors";
  fro.perceptual_opt->criterion = "fro";
  CHECK(cuda_graph_blocker(c, fro, "single").empty());
  Config fp16 = c;
  fp16.precision = Precision::fp16;
  CHECK(cuda_graph_blocker(fp16, psnr, "single").empty());
  CHECK(cuda_graph_blocker(fp16, fro, "nccl").empty());
  // SwinIR's stochastic depth draws on the host (its default drop_path_rate is 0.1); without it
  // SwinIR is capturable.
  Config swinir = c;
  swinir.network_g = NetworkConfig{"SwinIR", {{"type", "SwinIR"}, {"upsampler", "pixelshuffle"}}};
  CHECK_THAT(cuda_graph_blocker(swinir, psnr, "single"), Catch::Contains("stochastic depth") &&
                                                          Catch::Contains("drop_path_rate 0.1"));
  swinir.network_g->args["drop_path_rate"] = 0.0;
  CHECK(cuda_graph_blocker(swinir, psnr, "single").empty());
  // HAT's likewise (the same default).
  Config hat = c;
  hat.network_g = NetworkConfig{"HAT", {{"type", "HAT"}, {"upsampler", "pixelshuffle"}}};
  CHECK_THAT(cuda_graph_blocker(hat, psnr, "single"), Catch::Contains("HAT's stochastic depth") &&
                                                       Catch::Contains("drop_path_rate 0.1"));
  hat.network_g->args["drop_path_rate"] = 0.0;
  CHECK(cuda_graph_blocker(hat, psnr, "single").empty());

  // auto: a capturable stage on a GPU; eager on the CPU and simt.
  CHECK(use_cuda_graph(c, psnr, gpu, "single", nullptr));
  CHECK_FALSE(use_cuda_graph(c, psnr, simt, "single", nullptr));
  CHECK_FALSE(use_cuda_graph(c, psnr, cpu, "single", nullptr));
  // auto with a stage that cannot be captured: eager, one log line saying why.
  const std::string dir = test::train_exp_dir("graph_decision");
  {
    RunLog log(dir, true);
    CHECK_FALSE(use_cuda_graph(c, psnr, gpu, "mpi", &log));
    CHECK_FALSE(use_cuda_graph(c, psnr, simt, "single", &log));  // simt under auto: no line
  }
  const std::string text = read_text(dir + "/train.log");
  CHECK(count_of(text, "CUDA graphs") == 1);
  CHECK_THAT(text, Catch::Contains("[psnr] CUDA graphs off (train.cuda_graph auto): the MPI communicator"));
  // false: never.
  Config off = c;
  off.train.cuda_graph = "false";
  CHECK_FALSE(use_cuda_graph(off, psnr, gpu, "single", nullptr));
  // true: captured on a GPU and on simt; an error on the CPU and for a stage that cannot be.
  Config on = c;
  on.train.cuda_graph = "true";
  CHECK(use_cuda_graph(on, psnr, gpu, "single", nullptr));
  CHECK(use_cuda_graph(on, psnr, simt, "single", nullptr));
  CHECK_THROWS_WITH(use_cuda_graph(on, psnr, cpu, "single", nullptr),
                    Catch::Contains("train.cuda_graph is true, but the device cpu cannot capture CUDA graphs"));
  CHECK(use_cuda_graph(on, fro, simt, "single", nullptr));
  CHECK_THROWS_WITH(use_cuda_graph(on, psnr, gpu, "mpi", nullptr),
                    Catch::Contains("train.cuda_graph is true") && Catch::Contains("MPI"));
  Config on_fp16 = fp16;
  on_fp16.train.cuda_graph = "true";
  CHECK(use_cuda_graph(on_fp16, psnr, simt, "single", nullptr));
  CHECK(use_cuda_graph(fp16, psnr, gpu, "single", nullptr));
  // A run refuses before its first iteration.
  CHECK_THROWS_WITH(run_training(test::tiny_train_config("graph_on_cpu", {"train.cuda_graph=true"}), {}),
                    Catch::Contains("train.cuda_graph is true, but the device cpu"));
  CHECK_FALSE(fs::exists(test::train_exp_dir("graph_on_cpu") + "/training_states/psnr_4.state"));
}

namespace {

// What a run reports per logged iteration, timings and speeds left out.
std::vector<json> logged(const std::string& run) {
  std::vector<json> out;
  for (json e : test::train_events(run)) {
    for (const char* k : {"it_per_s", "data_wait_s", "threads", "time_s", "seconds"}) e.erase(k);
    out.push_back(e);
  }
  return out;
}

// Every training state of a run, by file name.
std::map<std::string, SafetensorsFile> states(const std::string& run) {
  std::map<std::string, SafetensorsFile> out;
  for (const auto& e : fs::directory_iterator(test::train_exp_dir(run) + "/training_states"))
    out.emplace(e.path().filename().string(), read_safetensors(e.path().string()));
  return out;
}

// How many tensors of `b` differ from `a` (same names required).
int differing(const SafetensorsFile& a, const SafetensorsFile& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  int n = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    REQUIRE(a.tensors[i].first == b.tensors[i].first);
    n += a.tensors[i].second.to_vector() != b.tensors[i].second.to_vector();
  }
  return n;
}

// The tiny config's psnr and GAN stages on `device` with every iteration logged, learning
// rates that change mid-stage and checkpoints in the middle of each stage (written between
// replays): captured and replayed (train.cuda_graph true) equals eager bit for bit
// (parameters, Adam moments and steps, EMA, spectral-norm vectors in every training state;
// every logged loss and learning rate); a run resumed from the graph run's middle checkpoint
// ends where the eager run ended; replays that do not copy each new batch in must differ.
// No validation set: each stage's final validation of a whole photo would be most of the
// run's time on simt, and it reads the weights the training states already compare.
void expect_graph_run_equals_eager(const std::string& device) {
  const std::vector<std::string> common = {
      "device=" + device, "logger.print_freq=1", "logger.save_checkpoint_freq=3",
      "train.stages.0.total_iter=5", "train.stages.0.scheduler.milestones=[4]", "train.stages.1.total_iter=5",
      "train.stages.1.scheduler.milestones=[2,4]"};
  auto config = [&](const std::string& run, std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    json c = test::tiny_train_config(run, more);
    c["datasets"].erase("val");
    return c;
  };
  const std::string eager = "graph_run_eager_" + device, graphed = "graph_run_graphed_" + device;
  REQUIRE(run_training(config(eager, {"train.cuda_graph=false"}), {}) == 0);
  const uint64_t captures = cuda_graph_captures();
  const json graphed_config = config(graphed, {"train.cuda_graph=true"});
  REQUIRE(run_training(graphed_config, {}) == 0);
  CHECK(cuda_graph_captures() - captures == 2);  // one per stage: its iterations are of one kind and shape
  const std::string log = read_text(test::train_exp_dir(graphed) + "/train.log");
  CHECK(count_of(log, "captured a CUDA graph") == 2);
  CHECK_THAT(log, Catch::Contains("[psnr] iteration 2: captured a CUDA graph (g, lq [2, 3, 8, 8], gt [2, 3, 32, 32])"));

  const auto want = states(eager), got = states(graphed);
  REQUIRE(want.size() == 4);  // psnr_3, psnr_5, gan_3, gan_5
  REQUIRE(got.size() == want.size());
  for (const auto& [name, s] : want) {
    INFO(name);
    test::expect_same_tensors(got.at(name), s);
  }
  const std::vector<json> want_log = logged(eager), got_log = logged(graphed);
  int train_events = 0;
  REQUIRE(got_log.size() == want_log.size());
  for (size_t i = 0; i < want_log.size(); ++i) {
    INFO(want_log[i].dump());
    CHECK(got_log[i] == want_log[i]);
    train_events += want_log[i]["event"] == "train";
  }
  CHECK(train_events == 10);
  std::set<double> psnr_rates;
  for (const json& e : want_log)
    if (e["event"] == "train" && e["stage"] == "psnr") psnr_rates.insert(e["lr"].get<double>());
  CHECK(psnr_rates.size() == 2);  // the rate changed within the stage

  // Resumed from psnr_3, which the graph run wrote between replays, with graphs.
  const std::string dir = test::train_exp_dir(graphed);
  for (const char* f : {"psnr_5.state", "gan_3.state", "gan_5.state"}) fs::remove(dir + "/training_states/" + f);
  REQUIRE(find_latest_state(dir).value() == state_path(dir, "psnr", 3));
  REQUIRE(run_training(graphed_config, {"", "auto"}) == 0);
  test::expect_same_tensors(read_safetensors(state_path(dir, "gan", 5)), want.at("gan_5.state"));

  // The planted bug: stale graph inputs (iteration 2 is captured, 3 replays iteration 2's batch).
  const std::string stale = "graph_run_stale_" + device;
  set_cuda_graph_stale_inputs(true);
  json stale_config = config(stale, {"train.cuda_graph=true", "train.stages.0.total_iter=3"});
  stale_config["train"]["stages"].erase(1);
  const int run = run_training(stale_config, {});
  set_cuda_graph_stale_inputs(false);
  REQUIRE(run == 0);
  const int differ = differing(want.at("psnr_3.state"), states(stale).at("psnr_3.state"));
  INFO(differ << " tensors differ with stale graph inputs");
  CHECK(differ > 0);
}

}  // namespace

TEST_CASE("train/cuda_graph_run_equals_eager") {
#ifdef SRENGINE_WITH_SIMT
  expect_graph_run_equals_eager("simt");
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// RCAN's channel attention keeps constant weights per spatial size; validation at another size
// between the captured iterations (on the training net itself: no EMA) must not free the ones
// the graph reads (simt, whose freed memory is unmapped; one stage, validation of a 12x10 image
// every 2 iterations, captured 8x8 patches).
TEST_CASE("train/cuda_graph_rcan_with_validation_equals_eager") {
#ifdef SRENGINE_WITH_SIMT
  const std::string val = test::train_exp_dir("graph_rcan_val_images");
  fs::remove_all(val);
  fs::create_directories(val);
  data::Image img(48, 40, 3, 8);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 3; ++c) img.at(y, x, c) = (float)((x * 7 + y * 13 + c * 29) % 256) / 255.0f;
  data::write_image(val + "/v.png", img);
  const json rcan = {{"type", "RCAN"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 4}, {"num_group", 1},
                     {"num_block", 1}, {"squeeze_factor", 2}};
  auto config = [&](const std::string& run, const std::string& graph) {
    json c = test::tiny_train_config(run, {"device=simt", "network_g=" + rcan.dump(), "train.stages.0.total_iter=5",
                                           "train.stages.0.scheduler.milestones=[4]", "logger.save_checkpoint_freq=5",
                                           "val.val_freq=2", "val.save_img=false", "train.ema_decay=0",
                                           "train.cuda_graph=" + graph});
    c["train"]["stages"] = json::array({c["train"]["stages"][0]});
    c["datasets"]["val"] = {{"type", "GTOnlyBicubicDataset"}, {"dataroot_gt", val}};
    return train::validate_config(c);
  };
  REQUIRE(run_training(config("graph_rcan_eager", "false"), {}) == 0);
  const uint64_t captures = cuda_graph_captures();
  REQUIRE(run_training(config("graph_rcan_graphed", "true"), {}) == 0);
  CHECK(cuda_graph_captures() - captures == 1);
  test::expect_same_tensors(states("graph_rcan_graphed").at("psnr_5.state"), states("graph_rcan_eager").at("psnr_5.state"));
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// The same on a GPU, where train.cuda_graph auto is on.
TEST_CASE("cuda/cuda_graph_run_equals_eager") {
  if (test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  expect_graph_run_equals_eager("cuda");
#endif
}
