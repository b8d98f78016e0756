// End-to-end training on the CPU with a tiny config (tests/fixtures/train_tiny.json):
// both stages run and leave their final weights, stage 2 starts from stage 1, the loss
// falls, a resumed run is bit-identical to an uninterrupted one, NaN losses are skipped
// and then stop the run with a clear message.
#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "engine/cuda_graph.h"
#include "engine/cuda_runtime.h"
#include "engine/host_round_trips.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "kernels/registry.h"
#include "layers/batch_norm.h"
#ifdef SRENGINE_WITH_SIMT
#include "kernels/simt/device.h"
#endif
#include "layers/precision.h"
#include "nets/vgg_features.h"
#include "support/parity.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "support/cuda_skip.h"
#include "train/checkpoint.h"
#include "train/comm.h"
#include "train/graphed_step.h"
#include "train/stage_step.h"
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
  // The models carry their architecture, so `srengine infer --weights` needs no config.
  CHECK(json::parse(read_safetensors(d + "/models/net_g_gan_final.safetensors").metadata.at("network_g")) ==
        c["network_g"]);
  CHECK(json::parse(read_safetensors(d + "/models/net_d_gan_6.safetensors").metadata.at("network_d")) ==
        c["network_d"]);
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

// A run's SIGINT / SIGTERM handlers (a checkpoint, then exit) last as long as the run: the
// handlers the process had before are back afterwards (the Python module's Ctrl-C, the tests').
TEST_CASE("train/stop_signal_handlers_are_restored_after_a_run") {
  void (*const mine)(int) = [](int) {};
  void (*const old_int)(int) = std::signal(SIGINT, mine);
  void (*const old_term)(int) = std::signal(SIGTERM, mine);
  json c = tiny("signals_restored", {"train.stages.0.total_iter=1", "val.val_freq=100"});
  c["train"]["stages"].erase(1);
  const int rc = run_training(c, {});
  CHECK(std::signal(SIGINT, old_int) == mine);
  CHECK(std::signal(SIGTERM, old_term) == mine);
  CHECK(rc == 0);
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

// precision bf16 (the generator's convs on AVX512-BF16) trains like fp32: the same run's
// loss falls as far, window by window, within a bf16-sized margin.
TEST_CASE("train/bf16_loss_falls_like_fp32") {
  if (!cpu::cpu_has_avx512_bf16()) {
    WARN("SKIPPED: this CPU lacks avx512_bf16");
    return;
  }
  std::vector<double> losses[2];
  const char* precisions[2] = {"fp32", "bf16"};
  for (int i = 0; i < 2; ++i) {
    const std::string run = std::string("prec_") + precisions[i];
    json c = tiny(run, {"train.stages.0.total_iter=60", "logger.print_freq=10", "val.val_freq=1000",
                        "logger.save_checkpoint_freq=1000", std::string("precision=") + precisions[i]});
    c["train"]["stages"].erase(1);
    REQUIRE(run_training(c, {}) == 0);
    for (const json& e : events(run))
      if (e["event"] == "train") losses[i].push_back(e["l_g_pix"]);
    REQUIRE(losses[i].size() == 6);
  }
  for (size_t w = 0; w < 6; ++w) {
    INFO("window " << w << ": fp32 " << losses[0][w] << ", bf16 " << losses[1][w]);
    CHECK(std::fabs(losses[1][w] - losses[0][w]) <= 0.05 * losses[0][w]);
  }
  CHECK(losses[1].back() < 0.7 * losses[1].front());
}

// precision fp16 (operands rounded to IEEE fp16, float32 sums, dynamic loss scaling) trains
// like fp32: the loss falls as far, window by window; every progress event carries the
// loss scale and the overflow-skip count, and the log line shows them.
TEST_CASE("train/fp16_loss_falls_like_fp32") {
  std::vector<double> losses[2];
  const char* precisions[2] = {"fp32", "fp16"};
  for (int i = 0; i < 2; ++i) {
    const std::string run = std::string("fp16cmp_") + precisions[i];  // not the bf16 test's folders (ctest -j)
    json c = tiny(run, {"train.stages.0.total_iter=60", "logger.print_freq=10", "val.val_freq=1000",
                        "logger.save_checkpoint_freq=1000", std::string("precision=") + precisions[i]});
    c["train"]["stages"].erase(1);
    REQUIRE(run_training(c, {}) == 0);
    for (const json& e : events(run))
      if (e["event"] == "train") {
        losses[i].push_back(e["l_g_pix"]);
        CHECK(e.contains("loss_scale") == (i == 1));
        if (i == 1) CHECK(e["overflow_skipped"].get<int64_t>() >= 0);
      }
    REQUIRE(losses[i].size() == 6);
  }
  for (size_t w = 0; w < 6; ++w) {
    INFO("window " << w << ": fp32 " << losses[0][w] << ", fp16 " << losses[1][w]);
    CHECK(std::fabs(losses[1][w] - losses[0][w]) <= 0.05 * losses[0][w]);
  }
  CHECK(losses[1].back() < 0.7 * losses[1].front());
  std::ifstream log(exp_dir("fp16cmp_fp16") + "/train.log");
  std::stringstream text;
  text << log.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("| scale ") && Catch::Contains(" skipped "));
}

// fp16 with a loss scale large enough to overflow at first (the first updates are skipped
// and S backs off) and a short growth interval: a run resumed from its middle state ends
// bit-identical to the uninterrupted one, the scaler's state included.
TEST_CASE("train/fp16_resume_is_exact") {
  json c = tiny("resume_fp16", {"precision=fp16", "train.loss_scale.init=1e12", "train.loss_scale.backoff_factor=0.01",
                                "train.loss_scale.growth_interval=2"});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  const std::string d = exp_dir("resume_fp16");
  const std::string final_state = state_path(d, "psnr", 8);
  const TrainingState uninterrupted = load_training_state(final_state);
  REQUIRE(uninterrupted.info.loss_scaler.has_value());
  INFO("final scale " << uninterrupted.info.loss_scaler->scale << ", skipped " << uninterrupted.info.loss_scaler->skipped);
  CHECK(uninterrupted.info.loss_scaler->skipped > 0);  // the overflow path ran
  const TrainingState middle = load_training_state(state_path(d, "psnr", 4));
  REQUIRE(middle.info.loss_scaler.has_value());
  CHECK_FALSE(*middle.info.loss_scaler == *uninterrupted.info.loss_scaler);  // the state moved after iteration 4
  SafetensorsFile before = read_safetensors(final_state);
  fs::remove(final_state);
  REQUIRE(find_latest_state(d).value() == state_path(d, "psnr", 4));
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  expect_same_tensors(before, read_safetensors(final_state));
  const TrainingState resumed = load_training_state(final_state);
  REQUIRE(resumed.info.loss_scaler.has_value());
  CHECK(*resumed.info.loss_scaler == *uninterrupted.info.loss_scaler);
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

// SwinIR's stochastic depth draws per iteration (Philox keyed by the seed, the block, the rank
// and the iteration): a run resumed from iteration 4 ends bit-identical to the uninterrupted
// one, and the drops did change the training (the same run without them ends elsewhere).
TEST_CASE("train/swinir_stochastic_depth_resumes_exactly") {
  auto swinir = [](double rate) {
    return json{{"type", "SwinIR"},  {"img_size", 8},    {"window_size", 4}, {"depths", {2, 2}},
                {"embed_dim", 8},    {"num_heads", {2, 2}}, {"mlp_ratio", 2},  {"num_feat", 8},
                {"upsampler", "pixelshuffle"}, {"drop_path_rate", rate}}.dump();
  };
  json c = tiny("resume_swinir", {"network_g=" + swinir(0.5)});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  const std::string d = exp_dir("resume_swinir");
  const std::string final_state = state_path(d, "psnr", 8);
  SafetensorsFile uninterrupted = read_safetensors(final_state);
  fs::remove(final_state);
  REQUIRE(find_latest_state(d).value() == state_path(d, "psnr", 4));
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  expect_same_tensors(uninterrupted, read_safetensors(final_state));

  json plain = tiny("resume_swinir_plain", {"network_g=" + swinir(0.0)});
  plain["train"]["stages"].erase(1);
  REQUIRE(run_training(plain, {}) == 0);
  const SafetensorsFile without = read_safetensors(state_path(exp_dir("resume_swinir_plain"), "psnr", 8));
  const std::string key = "net_g.layers.1.residual_group.blocks.1.mlp.fc2.weight";
  REQUIRE(uninterrupted.contains(key));
  CHECK(uninterrupted.get(key).to_vector() != without.get(key).to_vector());
}

// HAT's stochastic depth (its blocks' attention and mlp branches) resumes as SwinIR's does.
TEST_CASE("train/hat_stochastic_depth_resumes_exactly") {
  const json hat = {{"type", "HAT"},       {"img_size", 8},          {"window_size", 4},  {"depths", {2, 2}},
                    {"embed_dim", 8},      {"num_heads", {2, 2}},    {"mlp_ratio", 2},    {"num_feat", 8},
                    {"compress_ratio", 2}, {"squeeze_factor", 4},    {"upsampler", "pixelshuffle"},
                    {"drop_path_rate", 0.5}};
  json c = tiny("resume_hat", {"network_g=" + hat.dump()});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  const std::string d = exp_dir("resume_hat");
  const std::string final_state = state_path(d, "psnr", 8);
  SafetensorsFile uninterrupted = read_safetensors(final_state);
  fs::remove(final_state);
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

namespace {

// One stage of the tiny config, stepped by hand on `device` (G, and D for srgan; G's EMA
// copy with the config's ema_decay when `with_ema`).
struct TinyStage {
  json cfg;
  std::unique_ptr<Module> g, d, ema;
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<StageStep> step;
  Tensor lq, gt;
  TinyStage(const std::string& run, size_t stage, Device device, std::vector<std::string> extra = {},
            std::vector<int64_t> inject_nan = {}, bool with_ema = false, const LayerOptions& layers = {}) {
    cfg = tiny(run, std::move(extra));
    const StageConfig st = parse_config(cfg).train.stages[stage];
    g = make_network(cfg["network_g"], 3, 1, device, layers);
    if (st.adversarial()) d = make_network(cfg["network_d"], 3, 2, device, layers);
    if (with_ema) ema = make_network(cfg["network_g"], 3, 1, device, layers);
    comm = make_communicator("auto", device);
    step = std::make_unique<StageStep>(st, *g, ema.get(), d.get(), with_ema ? cfg["train"]["ema_decay"].get<double>() : 0.0,
                                       *comm, 1.0, std::move(inject_nan));
    manual_seed(5);
    lq = Tensor::empty({2, 3, 8, 8});
    gt = Tensor::empty({2, 3, 32, 32});
    uniform_(lq, 0.0, 1.0);
    uniform_(gt, 0.0, 1.0);
    lq = lq.to(device);
    gt = gt.to(device);
  }
};

NamedTensors snapshot(Module& m) {
  NamedTensors out;
  for (auto& [name, p] : m.named_parameters()) out.push_back({name, p.clone()});
  return out;
}

void expect_unchanged(const NamedTensors& before, Module& m) {
  size_t i = 0;
  for (auto& [name, p] : m.named_parameters()) {
    INFO(name);
    CHECK(p.to_vector() == before.at(i++).second.to_vector());
    CHECK_FALSE(p.grad().defined());
  }
}

}  // namespace

// The window sums the losses of the updates it was given, per name, in iteration order and
// in double (as the log line always did), and starts empty again after each log line.
TEST_CASE("train/loss_window_sums_each_name_over_its_updates") {
  LossWindow w;
  const std::vector<float> pix = {0.1f, 0.30000001f, 1e-8f}, gan = {2.5f, -0.75f};
  w.add({{"l_g_pix", Tensor::full({1}, pix[0])}, {"l_g_gan", Tensor::full({1}, gan[0])}});
  w.add({{"l_g_pix", Tensor::full({1}, pix[1])}});  // no G adversarial term this iteration
  w.add({{"l_g_pix", Tensor::full({1}, pix[2])}, {"l_g_gan", Tensor::full({1}, gan[1])}});
  CHECK(w.iterations() == 3);
  const std::map<std::string, double> sums = w.take_sums();
  double want_pix = 0, want_gan = 0;
  for (float v : pix) want_pix += (double)v;
  for (float v : gan) want_gan += (double)v;
  CHECK(sums.size() == 2);
  CHECK(sums.at("l_g_pix") == want_pix);
  CHECK(sums.at("l_g_gan") == want_gan);
  CHECK(w.iterations() == 0);
  CHECK(w.take_sums().empty());
  // A skipped iteration (its gate NaN) is listed, and its losses are left out of the sums.
  w.add({{"l_g_pix", Tensor::full({1}, 0.5)}}, Tensor::zeros({1}), 7);
  w.add({{"l_g_pix", Tensor::full({1}, NAN)}, {"l_g_gan", Tensor::full({1}, 1.0)}}, Tensor::full({1}, NAN), 8);
  w.add({{"l_g_pix", Tensor::full({1}, 0.25)}}, Tensor::zeros({1}), 9);
  const LossWindow::Taken taken = w.take();
  CHECK(taken.updates == 2);
  CHECK(taken.sums.size() == 1);
  CHECK(taken.sums.at("l_g_pix") == 0.75);
  REQUIRE(taken.skipped.size() == 3);
  CHECK(taken.skipped[0] == std::pair<int64_t, bool>{7, false});
  CHECK(taken.skipped[1] == std::pair<int64_t, bool>{8, true});
  CHECK(taken.skipped[2] == std::pair<int64_t, bool>{9, false});
}

// The non-finite check is a gate on the device that the optimizers and the EMA read (so that
// a GPU step never waits for its losses); a skipped update must still leave no trace:
// no weight change, no gradient left over, no optimizer step, so that the next update is
// the one an uninterrupted run makes.
TEST_CASE("train/skipped_update_leaves_no_trace") {
  TinyStage a("skip_a", 0, Device::cpu(), {}, {2}), b("skip_b", 0, Device::cpu());
  a.step->run(a.lq, a.gt, 1);
  b.step->run(b.lq, b.gt, 1);
  const NamedTensors before = snapshot(*a.g);
  const StepResult r = a.step->run(a.lq, a.gt, 2);  // its loss is made NaN
  CHECK(r.skipped());
  expect_unchanged(before, *a.g);
  CHECK(a.step->optim_g().steps() == 1);
  a.step->run(a.lq, a.gt, 3);
  b.step->run(b.lq, b.gt, 3);
  test::expect_same_tensors(SafetensorsFile{"a", a.g->named_parameters(), {}},
                            SafetensorsFile{"b", b.g->named_parameters(), {}});
  // The discriminator: a NaN in the real batch makes its loss non-finite (G is not updated
  // before net_d_init_iters, so only D's check can skip; BCE, since the hinge maps NaN to 0).
  TinyStage gan("skip_gan", 1, Device::cpu(),
                {"train.stages.1.net_d_init_iters=5", "train.stages.1.gan_opt.gan_type=vanilla"});
  gan.step->run(gan.lq, gan.gt, 1);
  const NamedTensors d_before = snapshot(*gan.d);
  Tensor bad = gan.gt.clone();
  bad.narrow(0, 0, 1).fill_(NAN);
  CHECK(gan.step->run(gan.lq, bad, 2).skipped());
  expect_unchanged(d_before, *gan.d);
  CHECK(gan.step->optim_d()->steps() == 1);
#ifdef SRENGINE_WITH_SIMT
  // The same on the simt device, where the kernels read the gate: G, its EMA copy and the
  // step count stay, and the next iteration updates again.
  TinyStage s("skip_simt", 0, Device::simt(), {}, {2}, true);
  s.step->run(s.lq, s.gt, 1);
  const NamedTensors g_before = snapshot(*s.g), e_before = snapshot(*s.ema);
  CHECK(s.step->run(s.lq, s.gt, 2).skipped());
  expect_unchanged(g_before, *s.g);
  expect_unchanged(e_before, *s.ema);
  CHECK(s.step->optim_g().steps() == 1);
  CHECK_FALSE(s.step->run(s.lq, s.gt, 3).skipped());
  CHECK(s.step->optim_g().steps() == 2);
#endif
}

// On a GPU a training step never waits for the GPU: the losses, the non-finite gate, sigma
// and the rest stay on the device until the log line reads them (one read per loss name and
// one for the gates).
TEST_CASE("cuda/step_has_no_host_round_trips") {
  if (test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  for (size_t stage : {0, 1}) {
    TinyStage t("cuda_waits", stage, Device::cuda(0));
    t.step->run(t.lq, t.gt, 1);
    LossWindow w;
    cuda::synchronize();
    const uint64_t before = cuda::host_wait_count();
    for (int64_t iter = 2; iter <= 4; ++iter) {
      const StepResult r = t.step->run(t.lq, t.gt, iter);
      w.add(r.losses, r.skip_gate, iter);
    }
    INFO("stage " << stage);
    CHECK(cuda::host_wait_count() - before == 0);
    const auto sums = w.take_sums();
    CHECK(cuda::host_wait_count() - before == 1 + sums.size());  // the gates, then one read back per name
    for (const auto& [name, v] : sums) {
      INFO(name);
      CHECK(std::isfinite(v));
    }
  }
#endif
}

// The host round-trip counter (engine/host_round_trips.h) counts every device->host read of
// a simt tensor once (item, to_vector, a copy to the CPU) and nothing else: not host->device
// copies, not kernels, not CPU tensors. The step tests below stand on it.
TEST_CASE("simt/host_round_trip_counter") {
#ifdef SRENGINE_WITH_SIMT
  const uint64_t n = host_round_trips();
  Tensor d = Tensor::full({4}, 2.0).to(Device::simt());
  Tensor e = add(d, d);
  CHECK(host_round_trips() == n);
  CHECK(e.narrow(0, 1, 1).item() == 4.0);
  CHECK(host_round_trips() == n + 1);
  CHECK(e.to_vector().size() == 4);
  CHECK(host_round_trips() == n + 2);
  CHECK(e.to(Device::cpu()).numel() == 4);
  CHECK(host_round_trips() == n + 3);
  CHECK(Tensor::full({1}, 3.0).item() == 3.0);  // a CPU tensor: no round trip
  CHECK(host_round_trips() == n + 3);
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// Batch norm training on the simt device keeps its statistics for the backward and its
// num_batches_tracked on the device (nothing read back), with the CPU's values.
TEST_CASE("simt/batch_norm_has_no_host_round_trips") {
#ifdef SRENGINE_WITH_SIMT
  BatchNorm2d on_cpu(3), on_simt(3);
  on_simt.to(Device::simt());
  manual_seed(9);
  Tensor x = Tensor::empty({2, 3, 4, 5}), w = Tensor::empty({2, 3, 4, 5});
  uniform_(x, -1.0, 1.0);
  uniform_(w, -1.0, 1.0);
  Tensor xc = x.clone().set_requires_grad(true), xs = x.to(Device::simt()).set_requires_grad(true);
  const Tensor ws = w.to(Device::simt());
  mean(mul(on_cpu.forward(xc), w)).backward();
  const uint64_t n = host_round_trips();
  mean(mul(on_simt.forward(xs), ws)).backward();
  CHECK(host_round_trips() == n);
  auto close = [](const Tensor& a, const Tensor& b) {
    const std::vector<double> u = a.to_vector(), v = b.to_vector();
    REQUIRE(u.size() == v.size());
    for (size_t i = 0; i < u.size(); ++i) CHECK(std::fabs(u[i] - v[i]) <= 1e-5 * (1 + std::fabs(v[i])));
  };
  close(xs.grad(), xc.grad());
  close(on_simt.weight.grad(), on_cpu.weight.grad());
  close(on_simt.running_mean, on_cpu.running_mean);
  close(on_simt.running_var, on_cpu.running_var);
  CHECK(on_simt.num_batches_tracked.item() == 1.0);
  CHECK(on_cpu.num_batches_tracked.item() == 1.0);
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

namespace {

// Host round trips made by iterations 2..4 of `t` (iteration 1 first, uncounted: it makes
// the optimizers' state); `after` runs after each iteration, the uncounted first too (a test
// of the test plants a read there). The losses go to `w`, whose reads are not counted.
uint64_t count_step_round_trips(TinyStage& t, LossWindow& w,
                                const std::function<void(const StepResult&)>& after = {}) {
  const StepResult first = t.step->run(t.lq, t.gt, 1);
  if (after) after(first);
  const uint64_t before = host_round_trips();
  for (int64_t iter = 2; iter <= 4; ++iter) {
    const StepResult r = t.step->run(t.lq, t.gt, iter);
    w.add(r.losses, r.skip_gate, iter);
    if (after) after(r);
  }
  return host_round_trips() - before;
}

}  // namespace

// On the simt device (the CUDA path, interpreted) the tiny config's psnr and GAN iterations
// (G, D with spectral norm, two Adams, EMA) read nothing back: losses and the non-finite
// gate stay on the device until the log line, which reads the gates once and each loss
// name once. A read planted in the loop is seen. So do the steps the shipped configs add
// (configs/*.json): precision fp16's loss scaling, the perceptual loss (with criterion fro,
// whose norm has a square root), the realesrgan stage.
TEST_CASE("train/step_has_no_host_round_trips") {
#ifdef SRENGINE_WITH_SIMT
  for (size_t stage : {0, 1}) {
    INFO("stage " << stage);
    TinyStage t("simt_reads", stage, Device::simt(), {}, {}, true);
    LossWindow w;
    CHECK(count_step_round_trips(t, w) == 0);
    const uint64_t before = host_round_trips();
    const LossWindow::Taken taken = w.take();
    CHECK(host_round_trips() - before == 1 + taken.sums.size());  // the gates, then one read per name
    CHECK(taken.updates == 3);
    CHECK(taken.sums.size() == (stage == 0 ? 1u : 6u));  // l_g_pix; + l_g_gan, l_d_real/fake, out_d_real/fake
    const auto& sums = taken.sums;
    for (const auto& [name, v] : sums) {
      INFO(name);
      CHECK(std::isfinite(v));
    }
    TinyStage planted("simt_reads_planted", stage, Device::simt(), {}, {}, true);
    LossWindow w2;
    const uint64_t n = count_step_round_trips(planted, w2, [](const StepResult& r) {
      (void)r.losses.begin()->second.item();
    });
    CHECK(n == 3);
  }
  // precision fp16 with loss scaling: S, its counters and its update stay on the device (the
  // flags the iterations produced, replayed through the rule on the host afterwards, give
  // the state the device holds: the update ran once per iteration on the right flag).
  {
    TinyStage t("simt_reads_fp16", 0, Device::simt(), {}, {}, true);
    set_precision(*t.g, Precision::fp16);
    t.step->enable_loss_scaling(LossScaleConfig{});
    LossWindow w;
    std::vector<Tensor> flags;
    CHECK(count_step_round_trips(t, w, [&](const StepResult& r) { flags.push_back(r.overflow); }) == 0);
    REQUIRE(flags.size() == 4);
    LossScaler host(LossScaleConfig{});
    for (const Tensor& f : flags) host.update(!std::isfinite(f.item()));
    CHECK(t.step->loss_scaler()->state() == host.state());
    const LossWindow::Taken taken = w.take();
    CHECK(taken.updates == 3);
  }
  // The perceptual loss with criterion fro (its norm's square root a device op), on the
  // first VGG19 conv only (random weights stand in for ImageNet's; the interpreter keeps
  // the net small).
  {
    test::TempDir dir;
    VGGFeatureOptions vo;
    vo.layer_name_list = {"conv1_1"};
    VGGFeatureExtractor vgg(vo);
    const std::string weights = dir.file("vgg19_random.safetensors");
    write_safetensors(weights, vgg.named_parameters());
    TinyStage t("simt_reads_fro", 0, Device::simt(),
                {"train.stages.0.perceptual_opt={\"layer_weights\": {\"conv1_1\": 1.0}, \"criterion\": \"fro\", "
                 "\"vgg_weights\": \"" + weights + "\"}"},
                {}, true);
    REQUIRE(t.step->has_perceptual());
    LossWindow w;
    CHECK(count_step_round_trips(t, w) == 0);
    const LossWindow::Taken taken = w.take();
    REQUIRE(taken.sums.count("l_g_percep"));
    CHECK((std::isfinite(taken.sums.at("l_g_percep")) && taken.sums.at("l_g_percep") > 0));
  }
  // The Real-ESRGAN configs' GAN stage: realesrgan (USM-sharpened targets, made on the
  // device), the vanilla GAN loss.
  {
    TinyStage t("simt_reads_realesrgan", 1, Device::simt(),
                {"datasets.train.type=RealESRGANDataset", "datasets.train.crop_pad_size=128",
                 "train.stages.0.type=realesrnet", "train.stages.1.type=realesrgan",
                 "train.stages.1.gan_opt.gan_type=vanilla"},
                {}, true);
    LossWindow w;
    CHECK(count_step_round_trips(t, w) == 0);
    CHECK(w.take().sums.size() == 6u);
  }
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// A simt tensor against its CPU twin: every element within depth x budget x (the CPU
// tensor's largest |value| + the element's own), the worst element reported (a non-finite
// simt value fails).
#ifdef SRENGINE_WITH_SIMT
static void expect_simt_close_to_cpu(const std::string& what, const Tensor& got, const Tensor& ref, double depth,
                                     double budget) {
  REQUIRE(got.device().is_simt());
  const std::vector<double> a = got.to_vector(), b = ref.to_vector();
  REQUIRE(a.size() == b.size());
  double maxref = 0, worst = 0;
  size_t at = 0;
  for (double r : b) maxref = std::max(maxref, std::fabs(r));
  for (size_t i = 0; i < a.size(); ++i) {
    const double allowed = depth * budget * (maxref + std::fabs(b[i]));
    const double ratio = !std::isfinite(a[i]) ? INFINITY : allowed > 0 ? std::fabs(a[i] - b[i]) / allowed
                                                                       : (a[i] == b[i] ? 0.0 : INFINITY);
    if (ratio > worst || i == 0) worst = ratio, at = i;
  }
  INFO(what << ": worst element " << at << " of " << a.size() << ": simt " << a[at] << ", cpu " << b[at] << ", "
            << worst * 100 << "% of its budget (" << depth << " x " << budget << ")");
  CHECK(worst <= 1.0);
}
#endif

// The simt device (the CUDA kernels on the SIMT interpreter, docs/SIMT.md) runs a whole
// GAN iteration of the tiny config through the engine's real code: RRDBNet forward, the
// U-Net spectral-norm discriminator, the pixel and hinge losses, both backward passes, the
// two Adam steps and the EMA, every kernel the GPU would run. It must match the CPU
// device. Compared: the losses (the forward of G and D), Adam's first moments after one
// step (0.1 times each gradient: the backward), the parameters after the step, the EMA and
// the spectral-norm vectors.
// Tolerance: the parity suite's budget of the active conv variant (tf32: 2e-3 of the
// tensor's largest value plus 2e-3 of the element), times the number of convolutions in
// the longest chain behind the value, as cuda/ops_rdb allows ten budgets for its ten:
// RRDBNet here has 21 convs, the discriminator 10, so l_g_pix 21, l_g_gan 31, D's outputs
// 10, D's gradients 20 (forward and back), G's 62 (G, D, D back, G back). The first run used
// at most 3.7 single budgets (D's last conv). A wrong index or a dropped term is of the
// order of the values: hundreds of budgets. The parameters after Adam's first step differ
// by up to 2 lr where a gradient is near zero (the step is lr times its sign), which these
// budgets hold; the gradients themselves are checked through the moments.
TEST_CASE("simt/train_iteration_matches_cpu") {
#ifdef SRENGINE_WITH_SIMT
  TinyStage cpu("simt_iter_cpu", 1, Device::cpu(), {}, {}, true);
  TinyStage sim("simt_iter_simt", 1, Device::simt(), {}, {}, true);
  // The default conv variant's precision (the networks are built with the default kernel
  // choice; a build without CUDA lists no variants: the interpreter then runs tf32), and
  // the parity suite's budget for it.
  std::string precision = "tf32";
  for (const auto& v : kernels::variants_of("conv2d", "cuda"))
    if (v.name == std::string(kernels::conv_variant_name(kernels::KernelChoice{}.conv2d))) precision = v.precision;
  const double budget = precision == "tf32" ? 2e-3 : precision == "bf16" ? 1.5e-2 : 1e-5;
  const StepResult rc = cpu.step->run(cpu.lq, cpu.gt, 1);
  const uint64_t launches = ::simt::stats().launches;
  const StepResult rs = sim.step->run(sim.lq, sim.gt, 1);
  REQUIRE_FALSE(rc.skipped());
  REQUIRE_FALSE(rs.skipped());
  {
    INFO(::simt::stats().launches - launches << " kernel launches on the interpreter");
    CHECK(::simt::stats().launches - launches > 300);  // the iteration ran on the kernels (810)
  }
  auto expect_close = [&](const std::string& what, const Tensor& got, const Tensor& ref, double depth) {
    expect_simt_close_to_cpu(what, got, ref, depth, budget);
  };
  for (const auto& [name, v] : rc.losses) {
    REQUIRE(rs.losses.count(name));
    const double depth = name == "l_g_pix" ? 21 : name == "l_g_gan" ? 31 : 10;
    expect_close("loss " + name, rs.losses.at(name), v, depth);
  }
  auto expect_module = [&](const std::string& what, Module& got, Module& ref, double depth) {
    const NamedTensors a = got.named_parameters(), b = ref.named_parameters();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) expect_close(what + a[i].first, a[i].second, b[i].second, depth);
  };
  auto expect_moments = [&](const std::string& what, const Adam& got, const Adam& ref, double depth) {
    const NamedTensors a = got.state(""), b = ref.state("");
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].first.rfind("m.", 0) == 0) expect_close(what + a[i].first, a[i].second, b[i].second, depth);
  };
  expect_moments("G Adam ", sim.step->optim_g(), cpu.step->optim_g(), 62);
  expect_moments("D Adam ", *sim.step->optim_d(), *cpu.step->optim_d(), 20);
  expect_module("G ", *sim.g, *cpu.g, 62);
  expect_module("D ", *sim.d, *cpu.d, 20);
  expect_module("G EMA ", *sim.ema, *cpu.ema, 62);
  const NamedTensors bs = sim.d->named_buffers(), bc = cpu.d->named_buffers();
  REQUIRE(bs.size() == bc.size());
  for (size_t i = 0; i < bs.size(); ++i) expect_close("D buffer " + bs[i].first, bs[i].second, bc[i].second, 1);
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// precision fp16 with loss scaling on the simt device (the fp16 tensor-core conv variant on
// the interpreter) against the CPU's fp16 path (rounded operands, float32 implicit GEMM):
// one L1 iteration gives the same loss, the same scaler decision and parameters within the
// fp16 budget (fp16 keeps 11 significant bits, as tf32).
TEST_CASE("simt/fp16_train_iteration_matches_cpu") {
#ifdef SRENGINE_WITH_SIMT
  TinyStage cpu("simt_fp16_cpu", 0, Device::cpu(), {}, {}, true);
  TinyStage sim("simt_fp16_simt", 0, Device::simt(), {}, {}, true);
  for (TinyStage* t : {&cpu, &sim}) {
    set_precision(*t->g, Precision::fp16);
    t->step->enable_loss_scaling(LossScaleConfig{});
  }
  const StepResult rc = cpu.step->run(cpu.lq, cpu.gt, 1), rs = sim.step->run(sim.lq, sim.gt, 1);
  REQUIRE_FALSE(rc.skipped());
  REQUIRE_FALSE(rs.skipped());
  CHECK(std::isfinite(rc.overflow.item()) == std::isfinite(rs.overflow.item()));
  CHECK(cpu.step->loss_scaler()->state() == sim.step->loss_scaler()->state());
  const double budget = 2e-3;
  auto expect_close = [&](const std::string& what, const Tensor& got, const Tensor& ref, double depth) {
    expect_simt_close_to_cpu(what, got, ref, depth, budget);
  };
  expect_close("loss l_g_pix", rs.losses.at("l_g_pix"), rc.losses.at("l_g_pix"), 21);
  const NamedTensors a = sim.g->named_parameters(), b = cpu.g->named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) expect_close("G " + a[i].first, a[i].second, b[i].second, 62);
#else
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

namespace {

using LossLog = std::map<int64_t, std::map<std::string, std::vector<double>>>;

std::map<std::string, std::vector<double>> loss_values(const StepResult& r) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& [name, t] : r.losses) out[name] = t.to_vector();
  out["skip_gate"] = r.skip_gate.to_vector();
  return out;
}

// Everything an iteration changes: parameters, Adam moments and step counts of both
// optimizers (D's in a GAN stage), EMA weights, D's buffers (spectral-norm vectors), on the host.
std::map<std::string, std::vector<double>> training_state(TinyStage& t) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& [n, p] : t.g->named_parameters()) out["G." + n] = p.to_vector();
  for (const auto& [n, p] : t.ema->named_parameters()) out["EMA." + n] = p.to_vector();
  for (const auto& [n, p] : t.step->optim_g().state("")) out["G Adam." + n] = p.to_vector();
  out["G steps"] = {(double)t.step->optim_g().steps()};
  if (!t.d) return out;
  for (const auto& [n, p] : t.d->named_parameters()) out["D." + n] = p.to_vector();
  for (const auto& [n, p] : t.d->named_buffers()) out["D buffer." + n] = p.to_vector();
  for (const auto& [n, p] : t.step->optim_d()->state("")) out["D Adam." + n] = p.to_vector();
  out["D steps"] = {(double)t.step->optim_d()->steps()};
  return out;
}

// Iteration 1 eagerly (it makes the optimizers' state), iteration 2 captured (StreamGraph),
// then the graph replayed as iterations 2..iters; prepare_replay stages each iteration's
// learning rates first unless `stale_lr` (a planted bug: every replay reads the rate staged
// last, iteration 1's).
void run_replayed(TinyStage& t, Device device, int64_t iters, bool stale_lr, LossLog& log) {
  log[1] = loss_values(t.step->run(t.lq, t.gt, 1));
  StreamGraph graph(device);
  StepResult r;
  graph.begin_capture();
  r = t.step->run(t.lq, t.gt, 2);
  graph.end_capture();
  for (int64_t iter = 2; iter <= iters; ++iter) {
    if (!stale_lr) t.step->prepare_replay(iter);
    graph.replay();
    log[iter] = loss_values(r);  // the graph's outputs: read after each replay
  }
  r = StepResult{};  // its tensors live in the graph's memory: dropped before the graph
}

// Two stages `make` builds (named run + "_eager" and run + "_replay"), run `iters` iterations
// on the simt device, one eagerly and one captured and replayed (run_replayed), with their
// logged losses.
struct EagerAndReplayed {
  std::unique_ptr<TinyStage> eager, replayed;
  LossLog eager_log, replay_log;
};
EagerAndReplayed eager_and_replayed(const std::function<std::unique_ptr<TinyStage>(const std::string&)>& make,
                                    const std::string& run, int64_t iters) {
  EagerAndReplayed r{make(run + "_eager"), nullptr, {}, {}};
  for (int64_t iter = 1; iter <= iters; ++iter)
    r.eager_log[iter] = loss_values(r.eager->step->run(r.eager->lq, r.eager->gt, iter));
  r.replayed = make(run + "_replay");
  run_replayed(*r.replayed, Device::simt(), iters, false, r.replay_log);
  return r;
}

// got's named states bit for bit want's (a count per state on failure).
void expect_same_states(const std::map<std::string, std::vector<double>>& want,
                        const std::map<std::string, std::vector<double>>& got) {
  REQUIRE(want.size() == got.size());
  for (const auto& [name, v] : want) {
    const int64_t differ = parity::count_differing(got.at(name), v);
    INFO(name << ": " << differ << " of " << v.size() << " values differ (-1: another length)");
    CHECK(differ == 0);
  }
}

// The replay test on `device` (below).
void expect_replay_equals_eager(Device device) {
  const std::vector<std::string> lr_every_iter = {"train.stages.1.scheduler.milestones=[2,3,4,5]"};
  constexpr int64_t kIters = 5;
  TinyStage eager("graph_eager", 1, device, lr_every_iter, {}, true);
  LossLog eager_log, replay_log, stale_log;
  for (int64_t iter = 1; iter <= kIters; ++iter) eager_log[iter] = loss_values(eager.step->run(eager.lq, eager.gt, iter));
  TinyStage replayed("graph_replay", 1, device, lr_every_iter, {}, true);
  run_replayed(replayed, device, kIters, false, replay_log);
  const auto want = training_state(eager), got = training_state(replayed);
  REQUIRE(want.size() == got.size());
  for (const auto& [name, v] : want) {
    INFO(name);
    CHECK(got.at(name) == v);
  }
  CHECK(want.at("G steps") == std::vector<double>{(double)kIters});
  for (int64_t iter = 1; iter <= kIters; ++iter) {
    INFO("iteration " << iter);
    CHECK(replay_log.at(iter) == eager_log.at(iter));
  }
  CHECK(eager_log.at(kIters) != eager_log.at(2));  // the replays computed new iterations

  TinyStage stale("graph_stale_lr", 1, device, lr_every_iter, {}, true);
  run_replayed(stale, device, kIters, true, stale_log);
  const auto baked = training_state(stale);
  int differ = 0;
  for (const auto& [name, v] : want) differ += baked.at(name) != v;
  INFO(differ << " of " << want.size() << " tensors differ with the learning rate baked in");
  CHECK(differ > 0);
}

}  // namespace

// A captured GAN iteration (G and the U-Net spectral-norm D, both Adams, EMA), replayed on
// the simt device, equals eager iterations bit for bit: parameters, moments, step counts,
// EMA weights, spectral-norm vectors and every logged loss, with a learning rate that
// changes at every iteration. Replaying without writing the new learning rates (a value
// baked into the graph) must differ.
TEST_CASE("train/cuda_graph_replay_equals_eager") {
#ifdef SRENGINE_WITH_SIMT
  expect_replay_equals_eager(Device::simt());
  CHECK_THROWS_WITH(StreamGraph(Device::cpu()), Catch::Contains("needs a GPU or the simt device, not cpu"));
  StreamGraph unused(Device::simt());
  CHECK_THROWS_WITH(unused.replay(), Catch::Contains("replay before end_capture"));
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// What became capturable with the loss scale and the fro norm on the device: a psnr
// iteration with precision fp16 (loss scaling, S growing every 2 updates, so S and 1/S move
// between replays) and the perceptual loss with criterion fro, captured and replayed on the
// simt device (a host read inside the capture is an error there), equals eager iterations
// bit for bit: G, its EMA, Adam's state, the losses and the scaler's state (S grew twice).
TEST_CASE("train/cuda_graph_replay_equals_eager_fp16_fro") {
#ifdef SRENGINE_WITH_SIMT
  test::TempDir dir;
  VGGFeatureOptions vo;
  vo.layer_name_list = {"conv1_1"};
  VGGFeatureExtractor vgg(vo);
  const std::string weights = dir.file("vgg19_random.safetensors");
  write_safetensors(weights, vgg.named_parameters());
  const std::vector<std::string> extra = {
      "train.stages.0.perceptual_opt={\"layer_weights\": {\"conv1_1\": 1.0}, \"criterion\": \"fro\", "
      "\"perceptual_weight\": 0.01, \"vgg_weights\": \"" + weights + "\"}"};
  const LossScaleConfig scaling{1024, 2, 0.5, 2};
  auto make = [&](const std::string& run) {
    auto t = std::make_unique<TinyStage>(run, 0, Device::simt(), extra, std::vector<int64_t>{}, true);
    set_precision(*t->g, Precision::fp16);
    t->step->enable_loss_scaling(scaling);
    return t;
  };
  auto state = [](TinyStage& t) {
    auto out = training_state(t);
    const LossScalerState ls = t.step->loss_scaler()->state();
    out["loss scaler"] = {ls.scale, (double)ls.good_steps, (double)ls.skipped};
    return out;
  };
  constexpr int64_t kIters = 5;
  const EagerAndReplayed r = eager_and_replayed(make, "graph_fp16", kIters);
  const auto want = state(*r.eager);
  expect_same_states(want, state(*r.replayed));
  CHECK(want.at("loss scaler") == std::vector<double>{4096, 1, 0});
  for (int64_t iter = 1; iter <= kIters; ++iter) {
    INFO("iteration " << iter);
    REQUIRE(r.replay_log.at(iter).count("l_g_percep"));
    CHECK(r.replay_log.at(iter) == r.eager_log.at(iter));
  }
#else
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// The dense blocks of the native bf16 conv (igemm_v2 with nf and gc multiples of 8: packed
// twins allocated inside the forward, handed from block to block along the trunk and saved for
// the backward) under capture: a psnr iteration of a two-RRDB G captured and replayed on the
// simt device equals eager iterations bit for bit (G, its EMA, Adam's state, the losses).
TEST_CASE("train/cuda_graph_replay_equals_eager_packed_twins") {
#ifdef SRENGINE_WITH_SIMT
  LayerOptions layers;
  layers.kernels.conv2d = kernels::ConvVariant::igemm_v2;
  const std::vector<std::string> extra = {"network_g.num_feat=8", "network_g.num_grow_ch=8", "network_g.num_block=2"};
  auto make = [&](const std::string& run) {
    return std::make_unique<TinyStage>(run, 0, Device::simt(), extra, std::vector<int64_t>{}, true, layers);
  };
  constexpr int64_t kIters = 3;
  const EagerAndReplayed r = eager_and_replayed(make, "graph_twins", kIters);
  expect_same_states(training_state(*r.eager), training_state(*r.replayed));
  for (int64_t iter = 1; iter <= kIters; ++iter) {
    INFO("iteration " << iter);
    CHECK(r.replay_log.at(iter) == r.eager_log.at(iter));
  }
#else
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// The same on a GPU: CUDA graphs (engine/cuda_graph.cu).
TEST_CASE("cuda/cuda_graph_replay_equals_eager") {
  if (test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  activate_device(Device::cuda(0), "test");
  expect_replay_equals_eager(Device::cuda(0));
#endif
}

namespace {

// A batch of `n` pairs of `gt_size` GT patches, drawn fresh for iteration `iter`.
std::pair<Tensor, Tensor> graph_batch(Device device, int64_t n, int64_t gt_size, int64_t iter) {
  manual_seed(100 + (uint64_t)iter);
  Tensor lq = Tensor::empty({n, 3, gt_size / 4, gt_size / 4}), gt = Tensor::empty({n, 3, gt_size, gt_size});
  uniform_(lq, 0.0, 1.0);
  uniform_(gt, 0.0, 1.0);
  return {lq.to(device), gt.to(device)};
}

// The batch shape of each iteration: a full batch, then a partial one (1 pair) of a larger
// gt_size, then the full batch again. With net_d_iters 2 and two graphs kept, each shape
// change evicts both graphs of the shape before, which are made again when it returns.
constexpr size_t kGraphsKept = 2;
std::pair<int64_t, int64_t> graph_shape(int64_t iter) {
  if (iter >= 6 && iter <= 11) return {1, 24};
  return {2, 16};
}

// Iterations 1..iters of the GAN stage through a GraphedStep, captured or eager, each
// iteration's losses logged as the loop's LossWindow would read them.
void run_graphed(TinyStage& t, Device device, bool capture, int64_t iters, LossLog& log) {
  GraphedStep graphed(*t.step, device, capture, {}, kGraphsKept);
  for (int64_t iter = 1; iter <= iters; ++iter) {
    const auto [n, size] = graph_shape(iter);
    const auto [lq, gt] = graph_batch(device, n, size, iter);
    log[iter] = loss_values(graphed.run(lq, gt, iter));
    CHECK(graphed.graphs() <= kGraphsKept);
  }
}

// The loop's runner on `device` (below): a GAN stage with D-only iterations (net_d_iters 2),
// an injected NaN, a learning rate that changes at every iteration and batch shapes that
// change, graphed against eager.
void expect_graphed_equals_eager(Device device) {
  const std::vector<std::string> extra = {"train.stages.1.scheduler.milestones=[3,4,5,6,7,8,9,10,11,12,13,14,15,16]",
                                          "train.stages.1.net_d_iters=2"};
  constexpr int64_t kIters = 15;
  TinyStage eager("graphed_eager", 1, device, extra, {8}, true);
  TinyStage graphed("graphed_replay", 1, device, extra, {8}, true);
  LossLog eager_log, graphed_log;
  run_graphed(eager, device, false, kIters, eager_log);
  const uint64_t captures = cuda_graph_captures();
  run_graphed(graphed, device, true, kIters, graphed_log);
  // Odd iterations are "d", even ones "g+d". 2x16: warm-up 1 and 2, captures 3 and 4,
  // replay 5; 1x24: warm-up 6 and 7 (evicting 2x16's graphs), 8 eager (the injected NaN),
  // captures 9 and 10, replay 11; 2x16 again: warm-up 12 and 13, captures 14 and 15.
  CHECK(cuda_graph_captures() - captures == 6);
  const auto want = training_state(eager), got = training_state(graphed);
  REQUIRE(want.size() == got.size());
  for (const auto& [name, v] : want) {
    INFO(name);
    CHECK(got.at(name) == v);
  }
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {  // NaN equals NaN
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
  };
  for (int64_t iter = 1; iter <= kIters; ++iter) {
    INFO("iteration " << iter);
    REQUIRE(graphed_log.at(iter).size() == eager_log.at(iter).size());
    for (const auto& [name, v] : eager_log.at(iter)) {
      INFO(name);
      CHECK(same(graphed_log.at(iter).at(name), v));
    }
  }
  CHECK(std::isnan(eager_log.at(8).at("skip_gate").at(0)));  // the injected NaN ran (eagerly)

  // A planted bug: replays that do not copy the new batch in. Iterations 3 and 4 are the
  // captures (which copy their batches in), iteration 5 the first replay: it must differ.
  TinyStage stale("graphed_stale", 1, device, extra, {8}, true);
  LossLog stale_log;
  set_cuda_graph_stale_inputs(true);
  run_graphed(stale, device, true, 5, stale_log);
  set_cuda_graph_stale_inputs(false);
  CHECK(stale_log.at(4) == eager_log.at(4));
  CHECK(stale_log.at(5) != eager_log.at(5));
}

}  // namespace

// The training loop's runner (train/graphed_step.h) on the simt device: a graph per
// iteration kind and batch shape, made after one eager iteration of that pair, re-made after
// a shape change and an eviction, with its inputs copied in and its losses copied out,
// equals eager iterations bit for bit, D-only iterations, an injected NaN and a learning
// rate that changes at every iteration included. Stale graph inputs must differ.
TEST_CASE("train/graphed_step_equals_eager") {
#ifdef SRENGINE_WITH_SIMT
  expect_graphed_equals_eager(Device::simt());
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

namespace {

// The host round trips (on simt: the learning-rate ring's StreamMark waits) of each of
// iterations 1..iters of the tiny psnr stage (one Adam) run through a GraphedStep: eager
// warm-up, capture, replays.
std::vector<uint64_t> waits_per_iteration(const std::string& run, int64_t iters, const std::vector<std::string>& extra) {
  TinyStage t(run, 0, Device::simt(), extra);
  GraphedStep graphed(*t.step, Device::simt(), true);
  std::vector<uint64_t> waits;
  for (int64_t iter = 1; iter <= iters; ++iter) {
    const uint64_t before = host_round_trips();
    graphed.run(t.lq, t.gt, iter);
    waits.push_back(host_round_trips() - before);
  }
  CHECK(graphed.graphs() == 1);
  return waits;
}

}  // namespace

// Adam's learning-rate ring (train/optimizer.h) under a GraphedStep: a rate that changes
// every iteration (linear warm-up) takes a slot per iteration and waits for nothing while
// the host is fewer than kLrSlots iterations ahead; then each iteration wraps onto a slot
// whose copy simt reports as not run (StreamMark::done is false until waited) and waits
// exactly once. A constant rate copies nothing after the first iteration, so it never
// wraps. A ring that reuses slots without waiting (a planted bug) is caught.
TEST_CASE("train/graphed_step_waits_only_when_the_lr_ring_wraps") {
#ifdef SRENGINE_WITH_SIMT
  const int64_t slots = (int64_t)Adam::kLrSlots;
  const std::vector<std::string> warmup = {"train.stages.0.warmup_iter=100"};
  std::vector<uint64_t> want(slots, 0);
  want.push_back(1);
  want.push_back(1);
  CHECK(waits_per_iteration("ring_changing", slots + 2, warmup) == want);
  CHECK(waits_per_iteration("ring_constant", slots + 2, {"train.stages.0.scheduler.milestones=[100]"}) ==
        std::vector<uint64_t>(slots + 2, 0));
  set_lr_ring_reuse_without_wait(true);
  const std::vector<uint64_t> planted = waits_per_iteration("ring_planted", slots + 2, warmup);
  set_lr_ring_reuse_without_wait(false);
  CHECK(planted != want);
#else
  std::printf("SKIPPED: srengine was built without the SIMT interpreter\n");
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
#endif
}

// The same on a GPU.
TEST_CASE("cuda/graphed_step_equals_eager") {
  if (test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  activate_device(Device::cuda(0), "test");
  expect_graphed_equals_eager(Device::cuda(0));
#endif
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
