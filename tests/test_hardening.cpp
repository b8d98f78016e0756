// Regressions of the reliability review (shared/reviews/review-reliability.md, issue 21):
// one test per BAD case B1..B27 (B19 is B1), named harden/bNN_*. Each reproduces the
// review's hostile or careless use at the smallest size that shows it: crashes and hangs
// become errors naming the file, key or option; data-loss cases leave every input and
// unrelated file intact; the memory cases bound the peak RSS of the real command.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "data/image_io.h"
#include "data/image_row_writer.h"
#include "data/imresize.h"
#include "data/output_names.h"
#include "engine/pth_reader.h"
#include "engine/safetensors.h"
#include "infer/tiled_upscale.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/experiment_lock.h"
#include "train/trainer.h"
#include "train/yaml/read_yaml.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;
using sr::test::infer_fixture;
using sr::test::write_text;

namespace {

struct CliResult {
  int status = -1;      // exit status; 128 + signal when killed; -2 on timeout
  long peak_rss_kb = 0;  // the command's own peak resident set
  std::string output;    // stdout and stderr
};

// Runs `srengine ARGS...` (no shell) with a time limit, measuring its peak RSS with wait4.
CliResult run_cli(const std::vector<std::string>& args, double timeout_s = 30) {
  static int counter = 0;
  const std::string out_file = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/harden_cli_" +
                               std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".txt";
  fs::create_directories(fs::path(out_file).parent_path());
  std::vector<std::string> argv_s{test::srengine_exe()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  CliResult r;
  int status = 0;
  struct rusage ru {};
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    const pid_t done = ::wait4(pid, &status, WNOHANG, &ru);
    if (done == pid) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > timeout_s) {
      ::kill(pid, SIGKILL);
      ::wait4(pid, &status, 0, &ru);
      r.status = -2;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (r.status != -2) r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.peak_rss_kb = ru.ru_maxrss;
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  fs::remove(out_file);
  return r;
}

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_png(const std::string& path, int w, int h, int seed = 1) {
  std::mt19937_64 rng(seed);
  data::write_image(path, test::random_image(rng, w, h, 3));
}

// A training state whose record is `info` (stage "psnr"), as a crafted file would be.
std::string crafted_state(const std::string& dir, const std::string& name, const json& info) {
  fs::create_directories(dir);
  const std::string path = dir + "/" + name;
  write_safetensors(path, {{"net_g.w", Tensor::full({2}, 1.0)}},
                    {{"format", "srengine-training-state-1"}, {"state", info.dump()}});
  return path;
}

json good_record() {
  return {{"stage", "psnr"},         {"stage_index", 0},   {"iter", 4},         {"optim_g_steps", 4},
          {"optim_d_steps", 0},      {"loader_epoch", 0},  {"loader_batch", 4}, {"nan_streak", 0},
          {"best", json::object()}, {"has_net_d", false}, {"world_size", 1},   {"loader_global_batch", 2}};
}

}  // namespace

// ---- crashes --------------------------------------------------------------------------------

TEST_CASE("harden/b01_state_stage_index_out_of_range_is_an_error") {
  test::TempDir dir;
  CHECK_NOTHROW(load_training_state(crafted_state(dir.path(), "good.state", good_record())));
  for (int64_t bad : {int64_t(-1), int64_t(-100000), int64_t(INT32_MIN)}) {
    json rec = good_record();
    rec["stage_index"] = bad;
    const std::string p = crafted_state(dir.path(), "bad.state", rec);
    test::require_error([&] { load_training_state(p); }, {p, "'stage_index'", std::to_string(bad)});
  }
  // Through the trainer (the review's SIGSEGV): a clear error before any training.
  json rec = good_record();
  rec["stage_index"] = INT32_MIN;
  const std::string p = crafted_state(dir.path(), "bad.state", rec);
  json c = test::tiny_train_config("harden_b01");
  CHECK_THROWS_WITH(run_training(c, {"", p}), Catch::Contains("'stage_index'") && Catch::Contains("-2147483648"));
}

TEST_CASE("harden/b02_deeply_nested_config_is_an_error") {
  test::TempDir dir;
  const std::string deep = dir.file("deep.json");
  write_text(deep, "{\"name\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  test::require_error([&] { load_config(deep, {}); }, {deep, "nested more than"});
  // The same through --set, and brackets inside strings and comments do not count.
  json c = json::object();
  test::require_error([&] { apply_override(c, "name=" + std::string(100000, '[') + std::string(100000, ']')); },
                      {"--set 'name'", "nested more than"});
  const std::string ok = dir.file("ok.json");
  write_text(ok, "// [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n{\"name\": \"" +
                     std::string(100, '[') + "\"}");
  CHECK(read_config_file(ok)["name"] == std::string(100, '['));
}

// ---- the hang ---------------------------------------------------------------------------------

TEST_CASE("harden/b27_config_path_fifo_is_refused_not_waited_on") {
  test::TempDir dir;
  const std::string fifo = dir.file("p.json");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const CliResult r = run_cli({"config", fifo}, 20);
  INFO(r.output);
  CHECK(r.status == 1);  // -2 = still blocked after 20 s
  CHECK_THAT(r.output, Catch::Contains(fifo) && Catch::Contains("not a regular file"));
}

// ---- data loss --------------------------------------------------------------------------------

TEST_CASE("harden/b05_infer_suffix_cannot_leave_the_output_folder") {
  test::TempDir dir;
  fs::create_directories(dir.file("in"));
  fs::create_directories(dir.file("out/a"));
  fs::copy_file(infer_fixture("input.png"), dir.file("in/a.png"));
  write_text(dir.file("victim.png"), "keep");
  const CliResult r = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                               infer_fixture("rrdbnet_tiny.safetensors"), "--input", dir.file("in/a.png"), "--output",
                               dir.file("out"), "--suffix", "/../../victim"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--suffix") && Catch::Contains("/../../victim"));
  CHECK(file_text(dir.file("victim.png")) == "keep");
  // The planner itself never lets a name leave the folder.
  test::require_error(
      [&] { data::plan_outputs({dir.file("in/a.png")}, dir.file("out"), [](const std::string&) { return ".."; }, "t"); },
      {"'..'", "one file or folder name"});
}

TEST_CASE("harden/b06_output_name_collisions_are_refused_before_any_work") {
  test::TempDir dir;
  fs::create_directories(dir.file("in"));
  write_png(dir.file("in/a.png"), 8, 6, 1);
  data::write_image(dir.file("in/a.jpg"), data::read_image(dir.file("in/a.png")));
  write_png(dir.file("in/b.png"), 8, 6, 2);
  write_png(dir.file("in/b.PNG"), 8, 6, 3);
  for (const char* ext : {"png", "auto"}) {
    INFO("--ext " << ext);
    const CliResult r = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                                 infer_fixture("rrdbnet_tiny.safetensors"), "--input", dir.file("in"), "--output",
                                 dir.file(std::string("out_") + ext), "--ext", ext});
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Catch::Contains("would both be written to"));
    CHECK(fs::is_empty(dir.file(std::string("out_") + ext)));  // nothing written at all
  }
}

TEST_CASE("harden/b07_in_place_infer_never_overwrites_another_input") {
  test::TempDir dir;
  fs::create_directories(dir.file("d"));
  fs::copy_file(infer_fixture("input.png"), dir.file("d/good.png"));
  data::write_image(dir.file("d/good.jpg"), data::read_image(dir.file("d/good.png")));
  const std::string before = file_text(dir.file("d/good.png"));
  auto infer_into = [&](const std::string& folder, const std::string& ext) {
    return run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                    infer_fixture("rrdbnet_tiny.safetensors"), "--input", folder, "--output", folder, "--ext", ext});
  };
  // good.jpg's output would be d/good.png: another input.
  CliResult r = infer_into(dir.file("d"), "png");
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains(dir.file("d/good.png")));
  CHECK(file_text(dir.file("d/good.png")) == before);
  // Each output its own input.
  r = infer_into(dir.file("d"), "auto");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("would overwrite its input"));
  CHECK(file_text(dir.file("d/good.png")) == before);
  // In place with new names is fine: only good.jpg, written as good.png.
  fs::remove(dir.file("d/good.png"));
  r = infer_into(dir.file("d"), "png");
  CHECK(r.status == 0);
  CHECK(data::read_image(dir.file("d/good.png")).width == 4 * data::read_image(dir.file("d/good.jpg")).width);
}

TEST_CASE("harden/b08_resize_never_overwrites_its_inputs") {
  test::TempDir dir;
  fs::create_directories(dir.file("d"));
  write_png(dir.file("d/a.png"), 16, 12, 1);
  write_png(dir.file("d/b.png"), 16, 12, 2);
  const std::string a = file_text(dir.file("d/a.png")), b = file_text(dir.file("d/b.png"));
  CliResult r = run_cli({"resize", "--scale", "0.5", dir.file("d"), dir.file("d")});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("would overwrite its input"));
  r = run_cli({"resize", "--scale", "0.5", dir.file("d/a.png"), dir.file("d/a.png")});
  CHECK(r.status == 1);
  CHECK(file_text(dir.file("d/a.png")) == a);
  CHECK(file_text(dir.file("d/b.png")) == b);
  // Another folder still works.
  r = run_cli({"resize", "--scale", "0.5", dir.file("d"), dir.file("half")});
  CHECK(r.status == 0);
  CHECK(data::read_image(dir.file("half/a.png")).width == 8);
}

TEST_CASE("harden/b09_val_set_unusable_for_metrics_stops_before_the_first_iteration") {
  test::TempDir dir;
  fs::create_directories(dir.file("val"));
  write_png(dir.file("val/tiny.png"), 8, 8);  // crop_border 4 leaves nothing of it
  json c = test::tiny_train_config(
      "harden_b09", {"datasets.val.dataroot_gt=" + dir.file("val"), "datasets.val.meta_info_file=null"});
  test::require_error([&] { run_training(c, {}); },
                      {"datasets.val", dir.file("val/tiny.png"), "val.metrics.psnr", "crop_border 4"});
  int trained = 0;
  for (const json& e : test::train_events("harden_b09")) trained += e["event"] == "train";
  CHECK(trained == 0);
}

// Not a review case, the issue's rule behind B9: whatever a later stage needs is checked
// before the first iteration, not when that stage begins (after the stages before it).
TEST_CASE("harden/later_stage_mistakes_stop_the_run_before_the_first_iteration") {
  test::TempDir dir;
  fs::create_directories(dir.file("folder.safetensors"));
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
      {{"network_d.num_feet=4"}, {"stage 'gan'", "network_d", "num_feet"}},
      {{"path.pretrain_network_d=" + dir.file("missing_d.safetensors")}, {"stage 'gan'", "missing_d.safetensors"}},
      {{"train.stages.1.perceptual_opt={\"layer_weights\": {\"conv5_4\": 1}, \"vgg_weights\": \"" +
        dir.file("vgg.safetensors") + "\"}"},
       {"stage 'gan'", "vgg_weights", dir.file("vgg.safetensors"), "does not exist"}},
      {{"train.stages.1.perceptual_opt={\"layer_weights\": {\"conv5_4\": 1}, \"vgg_weights\": \"" +
        dir.file("folder.safetensors") + "\"}"},
       {"stage 'gan'", dir.file("folder.safetensors"), "is a folder"}},
      {{"train.stages.1.scheduler={\"type\": \"CosineAnnealingRestartLR\", \"periods\": [6], "
        "\"restart_weights\": [1, 1]}"},
       {"'train.stages.1.scheduler.restart_weights' has 2 entries but 'train.stages.1.scheduler.periods' has 1"}},
  };
  for (const auto& [overrides, expected] : cases) {
    INFO(overrides[0]);
    // Refused by the config's validation (the scheduler's lengths) or by the checks train runs
    // before its first iteration.
    test::require_error([&] { run_training(test::tiny_train_config("harden_preflight", overrides), {}); }, expected);
    int trained = 0;
    for (const json& e : test::train_events("harden_preflight")) trained += e["event"] == "train";
    CHECK(trained == 0);
    CHECK_FALSE(fs::exists(test::train_exp_dir("harden_preflight") + "/training_states"));
  }
  // --stage psnr alone does not need the GAN stage's network_d.
  json c = test::tiny_train_config("harden_preflight", {"network_d.num_feet=4", "train.stages.0.total_iter=2",
                                                        "val.val_freq=100", "logger.save_checkpoint_freq=100"});
  TrainOptions only_psnr;
  only_psnr.only_stage = "psnr";
  CHECK(run_training(c, only_psnr) == 0);
}

// ---- silently wrong ------------------------------------------------------------------------

TEST_CASE("harden/b10_experiment_folder_has_one_owner") {
  json c = test::tiny_train_config("harden_b10");
  const std::string d = test::train_exp_dir("harden_b10");
  fs::create_directories(d);
  // Another run holds the folder (flock on experiment.lock, as a live run does).
  const int fd = ::open((d + "/experiment.lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains(d) && Catch::Contains("in use by another run"));
  CHECK_FALSE(fs::exists(d + "/config.json"));  // nothing of the other run's was touched
  ::close(fd);
  // Released (or its owner died): the folder can be owned again.
  CHECK_NOTHROW(ExperimentLock(d));
}

TEST_CASE("harden/b11_experiment_name_is_one_folder_name") {
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  for (const char* name : {"../../escaped_exp", "/tmp/abs_exp", "a/b", "..", "."}) {
    INFO(name);
    test::require_error([&] { load_config(cfg, {std::string("name=") + name}); }, {"'name'", name});
  }
  test::require_error([&] { load_config(cfg, {"name="}); }, {"'name' is empty"});
  test::require_error([&] { load_config(cfg, {"val.suffix=/../x"}); }, {"'val.suffix'", "'/'"});
  CHECK(load_config(cfg, {"name=ok name.v2"})["name"] == "ok name.v2");
}

TEST_CASE("harden/b12_crafted_state_values_are_checked") {
  test::TempDir dir;
  const std::vector<std::pair<const char*, json>> bad = {{"iter", -5},
                                                         {"stage_index", int64_t(1) << 40},
                                                         {"optim_g_steps", -1},
                                                         {"loader_epoch", -3},
                                                         {"nan_streak", "x"},
                                                         {"iter", "30"}};
  for (const auto& [key, value] : bad) {
    INFO(key << " = " << value.dump());
    json rec = good_record();
    rec[key] = value;
    const std::string p = crafted_state(dir.path(), "bad.state", rec);
    test::require_error([&] { load_training_state(p); }, {p, std::string("'") + key + "'", value.dump()});
  }
}

TEST_CASE("harden/b13_log_write_errors_stop_the_run") {
  json c = test::tiny_train_config("harden_b13");
  const std::string d = test::train_exp_dir("harden_b13");
  fs::create_directories(d);
  fs::create_symlink("/dev/full", d + "/train.log");  // every write: ENOSPC
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains(d + "/train.log") &&
                                             Catch::Contains("No space left on device"));
  CHECK_FALSE(fs::exists(d + "/training_states"));  // stopped before the first iteration
}

// ---- memory blow-ups ------------------------------------------------------------------------

TEST_CASE("harden/b03_png_header_costs_no_memory_before_the_pixel_limit") {
  test::TempDir dir;
  // The review's 69-byte file: IHDR claims 500000000x1 RGB8 (mk_png_header.py).
  auto chunk = [](const std::string& type, const std::string& body) {
    std::string c;
    const uint32_t n = (uint32_t)body.size();
    for (int i = 3; i >= 0; --i) c.push_back((char)(n >> (8 * i)));
    c += type + body;
    uint32_t crc = 0xffffffffu;  // CRC-32 of type + body
    for (unsigned char ch : type + body) {
      crc ^= ch;
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    for (int i = 3; i >= 0; --i) c.push_back((char)(crc >> (8 * i)));
    return c;
  };
  auto be32 = [](uint32_t v) { return std::string{(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v}; };
  const std::string ihdr = be32(500000000) + be32(1) + std::string{8, 2, 0, 0, 0};
  // zlib.compress(b'\0' * 100), as mk_png_header.py writes it
  const std::string idat("\x78\x9c\x63\x60\xa0\x3d\x00\x00\x00\x64\x00\x01", 12);
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", "");
  REQUIRE(png.size() == 69);
  write_text(dir.file("wide.png"), png);
  write_png(dir.file("small.png"), 8, 8);
  const CliResult base = run_cli({"resize", "--scale", "1", dir.file("small.png"), dir.file("o1.png")});
  REQUIRE(base.status == 0);
  const CliResult r = run_cli({"resize", "--scale", "1", dir.file("wide.png"), dir.file("o2.png")});
  INFO(r.output << "\npeak " << r.peak_rss_kb << " kB, baseline " << base.peak_rss_kb << " kB");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("500000000x1") && Catch::Contains("over the limit"));
  // 64 MB of slack: two runs of one command differ by up to ~10 MB of peak RSS under a loaded
  // ctest (the bug cost +1.6 GB: libpng row buffers).
  CHECK(r.peak_rss_kb < base.peak_rss_kb + 64 * 1024);
  // The header probe allocates nothing either and reports what decoding would give.
  const data::ImageInfo info = data::read_image_info(dir.file("wide.png"));
  CHECK(info.width == 500000000);
  CHECK(info.channels == 3);
}

TEST_CASE("harden/b04_weights_header_is_checked_before_the_data_is_read") {
  test::TempDir dir;
  // The review's 4 GiB file whose header says "no tensors" (sparse: no disk space), refused
  // from its first 10 bytes and its size.
  const std::string big = dir.file("big.safetensors"), small = dir.file("small.safetensors");
  const std::string head = std::string("\x02\0\0\0\0\0\0\0", 8) + "{}";
  write_text(big, head);
  write_text(small, head);
  fs::resize_file(big, uint64_t(4) << 30);
  write_png(dir.file("in.png"), 8, 8);
  auto infer_with = [&](const std::string& w) {
    return run_cli({"infer", "--config", infer_fixture("config.json"), "--weights", w, "--input",
                    dir.file("in.png"), "--output", dir.file("out")});
  };
  const CliResult base = infer_with(small);  // the same command, refused for missing keys
  const CliResult r = infer_with(big);
  INFO(r.output << "\npeak " << r.peak_rss_kb << " kB, baseline " << base.peak_rss_kb << " kB");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("trailing bytes that belong to no tensor"));
  // 64 MB of slack (two runs of one command differ by up to ~10 MB under a loaded ctest); the
  // bug read the whole file (4.4 GB for 4 GB).
  CHECK(r.peak_rss_kb < base.peak_rss_kb + 64 * 1024);
  // The reader itself reads the 8-byte length and the header, nothing of the rest.
  test::require_error([&] { read_safetensors(big); }, {big, "4294967286 trailing bytes"});
}

// ---- unclear messages ------------------------------------------------------------------------

// B14 (a signal-stopped run exits 130 / 143 after its checkpoint) is tested on the real
// process: tests/train/sigint_test.sh, ctest train/sigint_writes_checkpoint_and_exits_130
// and train/sigterm_writes_checkpoint_and_exits_143.

TEST_CASE("harden/b15_symlink_loop_fails_by_name_and_the_rest_is_done") {
  test::TempDir dir;
  fs::create_directories(dir.file("in"));
  fs::copy_file(infer_fixture("input.png"), dir.file("in/good.png"));
  fs::create_symlink("loop.png", dir.file("in/loop.png"));
  fs::create_symlink(dir.file("gone.png"), dir.file("in/broken.png"));  // a link to nothing: the same
  auto infer_input = [&](const std::string& input) {
    return run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                    infer_fixture("rrdbnet_tiny.safetensors"), "--input", input, "--output", dir.file("out")});
  };
  CliResult r = infer_input(dir.file("in"));
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("FAILED " + dir.file("in/loop.png")));
  CHECK_THAT(r.output, Catch::Contains("FAILED " + dir.file("in/broken.png")));
  CHECK_THAT(r.output, Catch::Contains("2 of 3 image(s) failed"));
  CHECK_THAT(r.output, !Catch::Contains("filesystem error"));
  CHECK(fs::exists(dir.file("out/good.png")));
  // The loop given directly as --input: one clear line.
  r = infer_input(dir.file("in/loop.png"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--input '" + dir.file("in/loop.png") + "'") &&
                           Catch::Contains("symbolic links") && !Catch::Contains("filesystem error"));
}

TEST_CASE("harden/b16_scale_without_network_g_scale_builds_that_scale") {
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  const json c = load_config(cfg, {"scale=2"});
  REQUIRE(c["network_g"].contains("scale"));  // was absent: the net was built as x4
  CHECK(c["network_g"]["scale"] == 2);
  CHECK(infer::net_scale(*make_network(c["network_g"], 0, 1, Device::cpu(), LayerOptions{})) == 2);
  test::require_error([&] { load_config(cfg, {"scale=2", "network_g.scale=4"}); },
                      {"'network_g.scale' (4) differs from 'scale' (2)"});
}

TEST_CASE("harden/b17_pytorch_file_as_weights_is_named") {
  test::TempDir dir;
  write_text(dir.file("zip.pth"), std::string("PK\x03\x04\x00\x00\x08\x08\x00\x00", 10));
  write_text(dir.file("pickle.pth"), std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20", 10));
  write_text(dir.file("junk.pth"), "not a checkpoint at all");
  // --weights (read_weights_file) reads both .pth formats itself; a cut legacy pickle or junk
  // named .pth gets what is wrong instead of "header length 85966670672 exceeds the limit".
  test::require_error([&] { read_weights_file(dir.file("pickle.pth")); },
                      {"pickle.pth", "legacy torch.save header", "truncated"});
  test::require_error([&] { read_weights_file(dir.file("junk.pth")); }, {"junk.pth", "not a torch.save checkpoint"});
  const CliResult r = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights", dir.file("pickle.pth"),
                               "--input", infer_fixture("input.png"), "--output", dir.file("out")});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("legacy torch.save header") && !Catch::Contains("header length"));
  // The safetensors reader alone (training states) names both kinds.
  test::require_error([&] { read_safetensors(dir.file("zip.pth")); }, {"zip.pth", "PyTorch zip", "srengine convert"});
  test::require_error([&] { read_safetensors(dir.file("pickle.pth")); }, {"pickle.pth", "legacy PyTorch", "srengine convert"});
  // A legacy file written at pickle protocol 1 starts with the magic number as LONG text.
  const std::string protocol1 = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/pth/legacy_protocol1_tensors.pth";
  test::require_error([&] { read_safetensors(protocol1); }, {"legacy_protocol1_tensors.pth", "legacy PyTorch", "srengine convert"});
  // A real safetensors file whose 640-byte header length also starts 80 02 is read.
  std::string header = "{\"__metadata__\": {\"p\": \"x\"}}";
  header.resize(640, ' ');
  write_text(dir.file("ok.safetensors"), std::string("\x80\x02\0\0\0\0\0\0", 8) + header);
  CHECK(read_safetensors(dir.file("ok.safetensors")).metadata.at("p") == "x");
  CHECK(read_weights_file(dir.file("ok.safetensors")).empty());
  // A FIFO as --weights is refused, not waited on (as a FIFO config is, B27).
  REQUIRE(::mkfifo(dir.file("w.safetensors").c_str(), 0644) == 0);
  const CliResult f = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                               dir.file("w.safetensors"), "--input", infer_fixture("input.png"), "--output",
                               dir.file("out")}, 20);
  INFO(f.output);
  CHECK(f.status == 1);  // -2: still blocked after 20 s
  CHECK_THAT(f.output, Catch::Contains(dir.file("w.safetensors")) && Catch::Contains("not a regular file"));
}

TEST_CASE("harden/b18_config_path_is_a_folder") {
  test::TempDir dir;
  test::require_error([&] { load_config(dir.path(), {}); }, {"config '" + dir.path() + "'", "is a folder"});
}

TEST_CASE("harden/b20_crafted_state_best_must_be_an_object") {
  test::TempDir dir;
  for (const json& best : {json("x"), json{{"psnr/val_psnr", "x"}}, json{{"psnr/val_psnr", {{"value", 1.0}}}}}) {
    json rec = good_record();
    rec["best"] = best;
    const std::string p = crafted_state(dir.path(), "bad.state", rec);
    test::require_error([&] { load_training_state(p); }, {p, "'best"});
  }
}

TEST_CASE("harden/b21_huge_pre_pad_is_a_clear_error") {
  const Tensor img = Tensor::full({1, 3, 48, 64}, 0.5f);
  infer::TileOptions opt;
  opt.pre_pad = 2147483647;
  const infer::TileFn identity = [](const Tensor& t) { return t; };
  test::require_error([&] { infer::tiled_apply(img, 1, 1, opt, identity); },
                      {"a pre-pad of 2147483647", "64x48", "over the limit"});
  opt.pre_pad = 20000;  // 40064x40048: over 1e8 pixels
  test::require_error([&] { infer::tiled_apply(img, 1, 1, opt, identity); },
                      {"a pre-pad of 20000", "64x48 image 40064x40048 = 1604483072 pixels", "over the limit"});
}

TEST_CASE("harden/b22_resize_extreme_scales_are_clear_errors") {
  data::Image img(64, 48, 3, 8);
  test::require_error([&] { data::imresize(img, 1e-9); }, {"scale 1e-09", "less than half a pixel"});
  test::require_error([&] { data::imresize(img, 9999.0); }, {"scale 9999", "639936x479952", "over the limit"});
  test::TempDir dir;
  write_png(dir.file("a.png"), 8, 8);
  for (const char* s : {"0x10", "inf", "1e-9"}) {
    const CliResult r = run_cli({"resize", "--scale", s, dir.file("a.png"), dir.file("o.png")});
    INFO(s << ": " << r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, !Catch::Contains("std::") && !Catch::Contains("max_size"));
  }
  // The review's note: hex was read as 16 by strtod; now only decimal factors are taken.
  const CliResult hex = run_cli({"resize", "--scale", "0x10", dir.file("a.png"), dir.file("o.png")});
  CHECK_THAT(hex.output, Catch::Contains("decimal factor"));
  CHECK_FALSE(fs::exists(dir.file("o.png")));
}

TEST_CASE("harden/b23_set_number_overflow_names_the_option") {
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  json c = read_config_file(cfg);
  test::require_error([&] { apply_override(c, "train.stages.0.optim_g.lr=1e999"); },
                      {"--set 'train.stages.0.optim_g.lr=1e999'", "out of range"});
  test::require_error([&] { apply_override(c, "train.stages.99999999999999999999.total_iter=1"); },
                      {"index 99999999999999999999 out of range", "'train.stages' has 2 elements"});
}

TEST_CASE("harden/b24_metrics_crop_border_states_its_range") {
  test::TempDir dir;
  write_png(dir.file("a.png"), 8, 8);
  const CliResult r =
      run_cli({"metrics", "--gt", dir.file("a.png"), "--sr", dir.file("a.png"), "--crop-border", "2147483647"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--crop-border") && Catch::Contains("[0, 100000]"));
}

TEST_CASE("harden/b25_write_errors_name_the_system_reason") {
  test::TempDir dir;
  // RLIMIT_FSIZE makes a full disk on demand: writes past 4 kB fail with EFBIG.
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  struct sigaction ign {}, prev {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGXFSZ, &ign, &prev);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string weights_error, image_error;
  try {
    write_safetensors(dir.file("w.safetensors"), {{"w", Tensor::full({4096}, 1.0f)}});
  } catch (const Error& e) {
    weights_error = e.what();
  }
  try {
    std::mt19937_64 rng(1);
    data::write_image(dir.file("big.png"), test::random_image(rng, 64, 64, 3), {8, 0, 95});
  } catch (const Error& e) {
    image_error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::sigaction(SIGXFSZ, &prev, nullptr);
  CHECK_THAT(weights_error, Catch::Contains("w.safetensors") && Catch::Contains("File too large"));
  CHECK_THAT(image_error, Catch::Contains("big.png") && Catch::Contains("File too large"));
}

TEST_CASE("harden/b26_diverged_weights_are_named_at_validation") {
  json c = test::tiny_train_config("harden_b26", {"train.stages.0.optim_g.lr=1e308", "train.stages.0.total_iter=2",
                                                  "val.val_freq=1", "logger.save_checkpoint_freq=100"});
  c["train"]["stages"].erase(1);
  CHECK_THROWS_WITH(run_training(c, {}), Catch::Contains("[psnr] validation at iteration") &&
                                             Catch::Contains("diverged") && Catch::Contains("optim_g.lr"));
}

// ---- notes of the review ----------------------------------------------------------------------

TEST_CASE("harden/note_orphan_temp_files_are_removed_by_the_next_owner") {
  test::TempDir dir;
  fs::create_directories(dir.file("exp/training_states"));
  fs::create_directories(dir.file("exp/models"));
  write_text(dir.file("exp/training_states/.psnr_150.state.tmp.Ab12Cd"), "torn");
  write_text(dir.file("exp/models/.net_g_gan_final.safetensors.tmp.x9Y8z7"), "torn");
  write_text(dir.file("exp/models/net_g_psnr_5.safetensors"), "kept");
  write_text(dir.file("exp/models/.notes.tmp"), "kept (not a temp name)");
  {
    ExperimentLock lock(dir.file("exp"));
    CHECK(lock.remove_orphan_temp_files() == 2);
  }
  CHECK(fs::exists(dir.file("exp/models/net_g_psnr_5.safetensors")));
  CHECK(fs::exists(dir.file("exp/models/.notes.tmp")));
  CHECK_FALSE(fs::exists(dir.file("exp/training_states/.psnr_150.state.tmp.Ab12Cd")));
  // A real run does it when it takes the folder, and says so in train.log.
  json c = test::tiny_train_config("harden_orphans", {"train.stages.0.total_iter=1", "val.val_freq=100",
                                                      "logger.save_checkpoint_freq=100"});
  c["train"]["stages"].erase(1);
  const std::string d = test::train_exp_dir("harden_orphans");
  fs::create_directories(d + "/training_states");
  write_text(d + "/training_states/.psnr_4.state.tmp.Ab12Cd", "torn");
  REQUIRE(run_training(c, {}) == 0);
  CHECK_FALSE(fs::exists(d + "/training_states/.psnr_4.state.tmp.Ab12Cd"));
  CHECK_THAT(file_text(d + "/train.log"), Catch::Contains("removed 1 temporary file(s)"));
}

TEST_CASE("harden/note_infer_skips_hidden_files_and_says_so") {
  test::TempDir dir;
  fs::create_directories(dir.file("in"));
  fs::copy_file(infer_fixture("input.png"), dir.file("in/good.png"));
  fs::copy_file(infer_fixture("input.png"), dir.file("in/.hidden.png"));
  const CliResult r = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                               infer_fixture("rrdbnet_tiny.safetensors"), "--input", dir.file("in"), "--output",
                               dir.file("out")});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("skipped 1 hidden image file(s)"));
  CHECK(fs::exists(dir.file("out/good.png")));
  CHECK_FALSE(fs::exists(dir.file("out/.hidden.png")));
  // Named directly, a hidden file is processed.
  const CliResult one = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights",
                                 infer_fixture("rrdbnet_tiny.safetensors"), "--input", dir.file("in/.hidden.png"),
                                 "--output", dir.file("out")});
  CHECK(one.status == 0);
  CHECK(fs::exists(dir.file("out/.hidden.png")));
}

TEST_CASE("harden/note_tiny_tile_and_huge_pre_pad_are_warned_about") {
  test::TempDir dir;
  // The warnings come with the option checks, before the weights are read (missing here).
  const CliResult r = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights", dir.file("none"),
                               "--input", infer_fixture("input.png"), "--output", dir.file("out"), "--tile", "1",
                               "--pre-pad", "1000"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("warning: --tile 1 is small: each tile also runs 15 pixels of context on each "
                                       "side, up to 961.0x") &&
                           Catch::Contains("warning: --pre-pad 1000"));
  const CliResult usual = run_cli({"infer", "--config", infer_fixture("config.json"), "--weights", dir.file("none"),
                                   "--input", infer_fixture("input.png"), "--output", dir.file("out"), "--tile",
                                   "128", "--pre-pad", "10"});
  CHECK_THAT(usual.output, !Catch::Contains("warning"));
}

TEST_CASE("harden/note_set_trailing_dot_is_refused_like_a_leading_one") {
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  json c = read_config_file(cfg);
  for (const char* bad : {"name.=x", ".name=x", "a..b=1"}) {
    INFO(bad);
    test::require_error([&] { apply_override(c, bad); }, {std::string("--set '") + bad + "'", "empty path element"});
  }
  CHECK(c["name"] == "tiny");
}

// ---- prepare, resize and degrade: outputs planned and options checked before any write ------

namespace {

// `srengine prepare` with 16-pixel crops every 16 pixels, one worker, and `extra` arguments.
CliResult run_prepare_cli(const std::string& in, const std::string& out, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"prepare", "--input", in, "--output", out, "--crop-size", "16", "--step", "16",
                                "--workers", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

size_t entries_in(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  return (size_t)std::distance(fs::directory_iterator(dir), fs::directory_iterator());
}

// {"scale": 4}: every degradation key at its official value.
std::string official_degrade_config(const test::TempDir& dir) {
  write_text(dir.file("degrade.json"), R"({"scale": 4})");
  return dir.file("degrade.json");
}

}  // namespace

TEST_CASE("harden/prepare_refuses_one_folder_for_hr_and_lq_sub_images") {
  test::TempDir dir;
  fs::create_directories(dir.file("hr"));
  write_png(dir.file("hr/a.png"), 40, 40);
  // "pq/" is "pq": the LQ crops (same names) would replace every HR crop.
  const CliResult r = run_prepare_cli(dir.file("hr"), dir.file("pq"), {"--lq-output", dir.file("pq/")});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--lq-output") && Catch::Contains("same folder"));
  CHECK_FALSE(fs::exists(dir.file("pq")));
}

TEST_CASE("harden/prepare_refuses_outputs_that_overwrite_inputs_or_each_other") {
  test::TempDir dir;
  // a.png and ax4.png both make a_s001.png ... (the scale tag is removed from names).
  fs::create_directories(dir.file("hr"));
  write_png(dir.file("hr/a.png"), 40, 40, 1);
  write_png(dir.file("hr/ax4.png"), 40, 40, 2);
  CliResult r = run_prepare_cli(dir.file("hr"), dir.file("sub"));
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("hr/a.png") && Catch::Contains("hr/ax4.png") && Catch::Contains("a_s001.png"));
  CHECK(entries_in(dir.file("sub")) == 0);
  // In place: the input a_s001.png would be replaced by a crop of a.png before being read.
  fs::create_directories(dir.file("same"));
  write_png(dir.file("same/a.png"), 40, 40, 3);
  write_png(dir.file("same/a_s001.png"), 16, 16, 4);
  const std::string kept = file_text(dir.file("same/a_s001.png"));
  r = run_prepare_cli(dir.file("same"), dir.file("same"));
  CHECK(r.status == 1);
  CHECK(file_text(dir.file("same/a_s001.png")) == kept);
  CHECK(entries_in(dir.file("same")) == 2);
  // An earlier run's folder (HR or LQ) would mix old and new sub-images.
  fs::create_directories(dir.file("old"));
  write_png(dir.file("old/stale.png"), 16, 16, 5);
  r = run_prepare_cli(dir.file("same"), dir.file("old"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--output '" + dir.file("old") + "' is not empty (it holds 1 file"));
  CHECK(entries_in(dir.file("old")) == 1);
  r = run_prepare_cli(dir.file("same"), dir.file("new"), {"--lq-output", dir.file("old"), "--scale", "2"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--lq-output '" + dir.file("old") + "' is not empty"));
  CHECK(entries_in(dir.file("new")) == 0);
  CHECK(entries_in(dir.file("old")) == 1);
}

TEST_CASE("harden/prepare_checks_compression_and_scale_before_writing") {
  test::TempDir dir;
  fs::create_directories(dir.file("hr"));
  write_png(dir.file("hr/a.png"), 40, 40);
  CliResult r = run_prepare_cli(dir.file("hr"), dir.file("sub"), {"--compression", "10"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--compression") && Catch::Contains("[0, 9]") && Catch::Contains("'10'"));
  CHECK_FALSE(fs::exists(dir.file("sub")));
  // --scale sets the LQ factor only: alone, it would be ignored.
  r = run_prepare_cli(dir.file("hr"), dir.file("sub"), {"--scale", "3"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--scale 3 needs --lq-output"));
  CHECK_FALSE(fs::exists(dir.file("sub")));
  r = run_prepare_cli(dir.file("hr"), dir.file("sub"), {"--compression", "9"});
  CHECK(r.status == 0);
  CHECK(entries_in(dir.file("sub")) == 9);
}

TEST_CASE("harden/resize_modcrop_must_be_a_whole_number") {
  test::TempDir dir;
  write_png(dir.file("a.png"), 18, 18);
  for (const char* bad : {"4.9", "4x", "0"}) {
    const CliResult r = run_cli({"resize", "--scale", "1/2", "--modcrop", bad, dir.file("a.png"), dir.file("o.png")});
    INFO(bad << ": " << r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Catch::Contains("--modcrop") && Catch::Contains(std::string("'") + bad + "'"));
    CHECK_FALSE(fs::exists(dir.file("o.png")));
  }
  CHECK(run_cli({"resize", "--scale", "1/2", "--modcrop", "4", dir.file("a.png"), dir.file("o.png")}).status == 0);
  CHECK(data::read_image(dir.file("o.png")).width == 8);
}

// A write that fails part-way (a full disk, made here with RLIMIT_FSIZE) goes to a temporary
// file: the good file of that name stays as it was and nothing is left behind.
TEST_CASE("harden/failed_image_write_keeps_the_existing_file") {
  test::TempDir dir;
  write_png(dir.file("good.png"), 16, 16);
  const std::string good = file_text(dir.file("good.png"));
  REQUIRE(good.size() < 4096);
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  struct sigaction ign {}, prev {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGXFSZ, &ign, &prev);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string error;
  try {
    std::mt19937_64 rng(2);
    data::write_image(dir.file("good.png"), test::random_image(rng, 64, 64, 3), {8, 0, 95});
  } catch (const Error& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::sigaction(SIGXFSZ, &prev, nullptr);
  CHECK_THAT(error, Catch::Contains("good.png") && Catch::Contains("File too large"));
  CHECK(file_text(dir.file("good.png")) == good);
  CHECK(entries_in(dir.path()) == 1);
}

// The row writer replaces the file a symbolic link names, as write_image does, and keeps the link.
TEST_CASE("harden/row_writer_follows_a_symbolic_link") {
  test::TempDir dir;
  write_png(dir.file("real.png"), 4, 4);
  fs::create_symlink(dir.file("real.png"), dir.file("link.png"));
  data::ImageRowWriter w(dir.file("link.png"), 6, 2, 1, 8);
  const std::vector<float> rows(12, 0.5f);
  w.write_rows(rows.data(), 2);
  w.finish();
  CHECK(fs::is_symlink(fs::symlink_status(dir.file("link.png"))));
  CHECK(data::read_image(dir.file("real.png")).width == 6);
  CHECK(entries_in(dir.path()) == 2);
}

TEST_CASE("harden/degrade_refuses_outputs_that_overwrite_inputs_or_each_other") {
  test::TempDir dir;
  const std::string cfg = official_degrade_config(dir);
  auto degrade = [&](const std::string& in, const std::string& out) {
    return run_cli({"degrade", "--config", cfg, "--input", in, "--output", out});
  };
  // a.png and a.jpg both make a_0.png.
  fs::create_directories(dir.file("two"));
  write_png(dir.file("two/a.png"), 24, 24, 1);
  write_png(dir.file("two/a.jpg"), 24, 24, 2);
  CliResult r = degrade(dir.file("two"), dir.file("lq"));
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("two/a.png") && Catch::Contains("two/a.jpg") && Catch::Contains("a_0.png"));
  CHECK(entries_in(dir.file("lq")) == 0);
  // In place: the input a_0.png would be replaced.
  fs::create_directories(dir.file("same"));
  write_png(dir.file("same/a.png"), 24, 24, 3);
  write_png(dir.file("same/a_0.png"), 24, 24, 4);
  const std::string kept = file_text(dir.file("same/a_0.png"));
  r = degrade(dir.file("same"), dir.file("same"));
  CHECK(r.status == 1);
  CHECK(file_text(dir.file("same/a_0.png")) == kept);
  // An earlier run's folder.
  fs::create_directories(dir.file("old"));
  write_png(dir.file("old/b_0.png"), 8, 8, 5);
  r = degrade(dir.file("same"), dir.file("old"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--output '" + dir.file("old") + "' is not empty"));
  CHECK(entries_in(dir.file("old")) == 1);
  // A --dump-params file named like one of the LQ images it describes.
  r = run_cli({"degrade", "--config", cfg, "--input", dir.file("same"), "--output", dir.file("new"), "--count", "2",
               "--dump-params", dir.file("new/a_1.png")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Catch::Contains("--dump-params '" + dir.file("new/a_1.png") + "' is the name of an LQ image"));
  CHECK_FALSE(fs::exists(dir.file("new")));
}

TEST_CASE("harden/degrade_seed_takes_the_whole_uint64_range") {
  test::TempDir dir;
  const std::string cfg = official_degrade_config(dir);
  fs::create_directories(dir.file("gt"));
  write_png(dir.file("gt/a.png"), 24, 24);
  auto degrade = [&](const std::string& seed, const std::string& out) {
    return run_cli({"degrade", "--config", cfg, "--input", dir.file("gt"), "--output", dir.file(out), "--seed", seed});
  };
  for (const char* bad : {"99999999999999999999", "18446744073709551616", "-1", "1e3"}) {
    const CliResult r = degrade(bad, "bad");
    INFO(bad << ": " << r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Catch::Contains("--seed") && Catch::Contains(std::string("'") + bad + "'"));
    CHECK_FALSE(fs::exists(dir.file("bad")));
  }
  // 2^64-1 is a seed of its own, not 2^63-1 (which it was clamped to).
  REQUIRE(degrade("18446744073709551615", "top").status == 0);
  REQUIRE(degrade("9223372036854775807", "mid").status == 0);
  CHECK(file_text(dir.file("top/a_0.png")) != file_text(dir.file("mid/a_0.png")));
}

// Real-ESRGAN's option file works as it is: its degradation keys are read (the official
// values, so the LQ equals the JSON defaults'), and its DF2K folders, absent here, are not.
TEST_CASE("harden/degrade_reads_a_basicsr_option_file") {
  if (!yaml_reader_built()) {
    WARN("SKIPPED: this build has no yaml-cpp (libyaml-cpp-dev)");
    return;
  }
  test::TempDir dir;
  const std::string yml = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/yaml/train_realesrnet_x4plus.yml";
  fs::create_directories(dir.file("gt"));
  write_png(dir.file("gt/a.png"), 24, 24);
  const CliResult r = run_cli({"degrade", "--config", yml, "--input", dir.file("gt"), "--output", dir.file("yml"),
                               "--seed", "5"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE(run_cli({"degrade", "--config", official_degrade_config(dir), "--input", dir.file("gt"), "--output",
                   dir.file("json"), "--seed", "5"})
              .status == 0);
  CHECK(file_text(dir.file("yml/a_0.png")) == file_text(dir.file("json/a_0.png")));
}
