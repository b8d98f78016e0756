// `srengine bench train` smoke test: two iterations of every stage of the tiny training
// config (plus the infer row) run, and --json holds one object per row with the keys
// tools/bench_vs_torch.sh reads; on simt with train.cuda_graph true a stage also gets its
// graph row (replays). No timing assertions: only that the numbers exist and are positive
// where they must be.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

TEST_CASE("bench/train_smoke_json") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
  const std::string dir = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/bench_train_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  const std::string cmd = exe + " bench train --config " + cfg + " --iters 2 --warmup 1 --device cpu --json " + dir +
                          "/out.json > " + dir + "/log.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(dir + "/out.json");
  REQUIRE(in.good());
  const nlohmann::json rows = nlohmann::json::parse(in);
  REQUIRE(rows.is_array());
  REQUIRE(rows.size() == 3);  // psnr, gan, infer
  std::vector<std::string> stages;
  for (const auto& r : rows) {
    for (const char* key : {"stage", "step_ms_median", "lr_pixels_per_s", "images_per_s", "peak_mem_mb", "data_ms",
                            "forward_ms", "backward_ms", "optimizer_ms", "communication_ms", "workload"})
      CHECK(r.contains(key));
    CHECK(r["step_ms_median"].get<double>() > 0);
    CHECK(r["lr_pixels_per_s"].get<double>() > 0);
    CHECK(r["peak_mem_mb"].get<double>() > 0);
    CHECK(r["iters"].get<int>() == 2);
    stages.push_back(r["stage"]);
  }
  CHECK(stages == std::vector<std::string>{"psnr", "gan", "infer"});
  CHECK(rows[1].contains("g_step_ms"));
  CHECK(rows[1].contains("d_step_ms"));
  CHECK(rows[1]["workload"].contains("network_d"));
  // --list-json describes the same workloads without running them.
  const std::string list = exe + " bench train --config " + cfg + " --stage gan --list-json " + dir + "/list.json";
  REQUIRE(std::system(list.c_str()) == 0);
  const nlohmann::json w = nlohmann::json::parse(std::ifstream(dir + "/list.json"));
  REQUIRE(w.size() == 1);
  CHECK(w[0]["type"] == "srgan");
  CHECK(w[0]["batch"] == 2);
  CHECK(w[0]["lr_size"] == 8);
  fs::remove_all(dir);
}

// Where training captures (train.cuda_graph true on simt here; auto on a GPU) a stage gets a
// second row timed as training runs it: warm-up (one eager iteration, then the capture),
// then replays. The psnr stage of the tiny config on the simt device, one timed iteration and
// no warm-up asked for: an eager row and a graph row, whose warm-up is raised to cover the
// eager iteration and the capture, with its ratio to the eager row.
TEST_CASE("bench/train_graph_rows_on_simt") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
#ifndef SRENGINE_WITH_SIMT
  WARN("SKIPPED: srengine was built without the SIMT interpreter");
  return;
#endif
  const std::string dir = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/bench_train_graph_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  const std::string cmd = exe + " bench train --config " + cfg + " --stage psnr --iters 1 --warmup 0 --device simt" +
                          " --set train.cuda_graph=true --json " + dir + "/out.json > " + dir + "/log.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const nlohmann::json rows = nlohmann::json::parse(std::ifstream(dir + "/out.json"));
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["stage"] == "psnr");
  CHECK(rows[0]["mode"] == "eager");
  CHECK(rows[0]["warmup"] == 0);
  CHECK(rows[1]["stage"] == "psnr");
  CHECK(rows[1]["mode"] == "graph");
  CHECK(rows[1]["warmup"] == 2);  // the eager warm-up and the capture
  CHECK(rows[1]["iters"] == 1);
  CHECK(rows[1]["step_ms_median"].get<double>() > 0);
  CHECK(rows[1]["graph_over_eager"].get<double>() ==
        rows[1]["step_ms_median"].get<double>() / rows[0]["step_ms_median"].get<double>());
  CHECK_FALSE(rows[0].contains("graph_over_eager"));
  std::ifstream log(dir + "/log.txt");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("psnr:graph") != std::string::npos);
  CHECK(text.find("graph / eager") != std::string::npos);
  fs::remove_all(dir);
}

// Synthetic batches have the generator's channels as the factory reads them: a one-channel
// SwinIR (in_chans 1) trained on Y gets one-channel LQ and GT, not a fixed num_in_ch of 3.
TEST_CASE("bench/train_one_channel_swinir") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
  const std::string dir = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/bench_train_y_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  const std::string swinir = R"('network_g={"type": "SwinIR", "upscale": 4, "in_chans": 1, "img_size": 8,)"
                             R"( "window_size": 4, "img_range": 1.0, "depths": [1], "embed_dim": 8, "num_heads": [2],)"
                             R"( "mlp_ratio": 2, "upsampler": "pixelshuffledirect", "resi_connection": "1conv"}')";
  const std::string cmd = exe + " bench train --config " + cfg + " --stage psnr --iters 1 --warmup 0 --device cpu" +
                          " --set " + swinir + " --set datasets.train.color=y --set datasets.val.color=y" +
                          " --set network_d.num_in_ch=1 --json " + dir + "/out.json > " + dir + "/log.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream log(dir + "/log.txt");
  INFO(std::string(std::istreambuf_iterator<char>(log), {}));
  REQUIRE(rc == 0);
  const nlohmann::json rows = nlohmann::json::parse(std::ifstream(dir + "/out.json"));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["step_ms_median"].get<double>() > 0);
  fs::remove_all(dir);
}
