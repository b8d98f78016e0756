// `srengine bench kernels` (tools/cli/cmd_bench_kernels.cpp): the case list against the kernel
// registry, and a short CPU run. No GPU needed: `--list-json` lists every device's rows of
// this build, so a CUDA kernel without a cuda bench row fails here on any machine.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "kernels/cpu/conv2d_int8.h"
#include "kernels/registry.h"
#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string bench_exe() { return std::string(SRENGINE_BINARY_DIR) + "/srengine"; }

std::string scratch_dir(const char* what) {
  const std::string dir =
      std::string(SRENGINE_BINARY_DIR) + "/test_tmp/bench_kernels_" + what + "_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// Every variant in kernels/registry has a row in every case of its family, every CUDA
// kernel header (kernels/cuda/X.h) is a registry family with cases, and every case whose
// family has a CPU kernel has a CPU row.
TEST_CASE("bench/kernels_cuda_rows_cover_registry") {
  namespace k = sr::kernels;
  if (!fs::exists(bench_exe())) {
    WARN("SKIPPED: " << bench_exe() << " is not built");
    return;
  }
  const std::string dir = scratch_dir("list");
  REQUIRE(std::system((bench_exe() + " bench kernels --list-json " + dir + "/list.json > " + dir + "/log.txt 2>&1")
                          .c_str()) == 0);
  const json list = read_json(dir + "/list.json");
  REQUIRE(list["cases"].is_array());
  REQUIRE(list["cases"].size() > 0);

  std::map<std::string, int> cases_of;  // kernel family -> number of cases
  for (const json& c : list["cases"]) {
    const std::string name = c["name"], kernel = c["kernel"];
    INFO("case " << name << " (family " << kernel << ")");
    REQUIRE(c["impls"].is_array());
    std::set<std::pair<std::string, std::string>> rows;
    bool has_cpu = false;
    for (const json& i : c["impls"]) {
      rows.insert({i["device"].get<std::string>(), i["variant"].get<std::string>()});
      has_cpu = has_cpu || i["device"] == "cpu";
    }
#ifdef SRENGINE_WITH_CUDA
    CHECK_FALSE(k::variants_of(kernel).empty());  // kOpKernels names registry families
#endif
    if (k::variants_of(kernel).empty()) {  // a CUDA-only family in a CPU-only build
      CHECK(c["impls"].empty());
      continue;
    }
    ++cases_of[kernel];
    CHECK(has_cpu == !k::variants_of(kernel, "cpu").empty());
    for (const k::Variant& v : k::variants_of(kernel, "cuda")) {
      INFO("registry variant cuda/" << v.name << " has no row");
      CHECK(rows.count({"cuda", v.name}) == 1);
      for (const json& i : c["impls"])
        if (i["device"] == "cuda" && i["variant"] == v.name) CHECK(i["default"].get<bool>() == v.is_default);
    }
    for (const auto& [device, variant] : rows) {
      if (device != "cuda") continue;
      bool listed = false;
      for (const k::Variant& v : k::variants_of(kernel, "cuda")) listed = listed || variant == v.name;
      INFO("cuda row " << variant << " is no registry variant");
      CHECK(listed);
    }
  }
  // Every family with a CUDA variant has cases.
  for (const std::string& op : k::ops()) {
    if (k::variants_of(op, "cuda").empty()) continue;
    INFO("registry family " << op << " has CUDA variants but no bench case");
    CHECK(cases_of[op] > 0);
  }
#ifdef SRENGINE_WITH_CUDA
  // Every CUDA kernel header is a registry family (so the checks above cover it), except
  // the conv2d dispatcher's internals (conv2d_cudnn.h: the cuDNN variants' algorithm rules;
  // conv2d_igemm_v2_plan.h and conv2d_wgmma_plan.h: igemm_v2's and wgmma's launch plans) and
  // the inline-PTX wrappers.
  const std::set<std::string> internal = {"conv2d_problems",   "conv2d_variants", "conv2d_cudnn", "conv2d_igemm_v2_plan",
                                          "conv2d_wgmma_plan", "igemm",           "fast_div",     "ptx"};
  int headers = 0;
  for (const auto& e : fs::directory_iterator(std::string(SRENGINE_SOURCE_DIR) + "/kernels/cuda")) {
    if (e.path().extension() != ".h" || internal.count(e.path().stem().string())) continue;
    const std::string stem = e.path().stem().string();
    ++headers;
    INFO("kernels/cuda/" << stem << ".h: no registry family '" << stem << "' with bench cases");
    CHECK_FALSE(k::variants_of(stem, "cuda").empty());
    CHECK(cases_of[stem] > 0);
  }
  CHECK(headers >= 12);
#endif
  fs::remove_all(dir);
}

// The non-conv CPU rows run (batch 1, one repeat) and report a rate; the new families are
// among them.
TEST_CASE("bench/kernels_cpu_rows_run") {
  if (!fs::exists(bench_exe())) {
    WARN("SKIPPED: " << bench_exe() << " is not built");
    return;
  }
  const std::string dir = scratch_dir("cpu");
  const std::string filter = "'^(?!conv_|rdb_|rrdb_|upsample_nearest2x_conv2d_)'";
  const std::string common = bench_exe() + " bench kernels --device cpu --batch 1 --filter " + filter;
  REQUIRE(std::system((common + " --list-json " + dir + "/list.json > /dev/null 2>&1").c_str()) == 0);
  REQUIRE(std::system((common + " --repeat 1 --warmup 0 --rotations 1 --no-ceilings --json " + dir +
                       "/out.json > " + dir + "/log.txt 2>&1")
                          .c_str()) == 0);
  const json list = read_json(dir + "/list.json"), out = read_json(dir + "/out.json");
  std::map<std::string, json> row_of;
  for (const json& r : out["results"]) {
    CHECK(r["device"] == "cpu");
    row_of[r["name"]] = r;
  }
  std::set<std::string> ops;
  for (const json& c : list["cases"]) {
    bool has_cpu = false;
    for (const json& i : c["impls"]) has_cpu = has_cpu || (i["device"] == "cpu" && i["default"].get<bool>());
    if (!has_cpu) continue;
    const std::string name = c["name"];
    INFO("case " << name);
    REQUIRE(row_of.count(name) == 1);
    const json& r = row_of[name];
    CHECK(r["median_ms"].get<double>() > 0);
    CHECK(r[c["bound"] == "memory" ? "gbs" : "gflops"].get<double>() > 0);
    ops.insert(c["op"].get<std::string>());
  }
  for (const char* op : {"batch_norm_fwd", "batch_norm_bwd", "max_pool_fwd", "max_pool_bwd", "prelu_fwd",
                         "prelu_bwd", "linear_fwd", "linear_bwd", "relu_bwd", "spectral_norm_bwd", "adam",
                         "square_root_fwd", "square_root_bwd", "loss_unscale"}) {
    INFO("op " << op);
    CHECK(ops.count(op) == 1);
  }
  fs::remove_all(dir);
}

// Without a usable device, `--device cuda` is a clear error and a non-zero exit.
TEST_CASE("bench/kernels_cuda_without_device_fails_cleanly") {
  if (!fs::exists(bench_exe())) {
    WARN("SKIPPED: " << bench_exe() << " is not built");
    return;
  }
#ifdef SRENGINE_WITH_CUDA
  if (sr::cuda::available()) {
    WARN("SKIPPED: a CUDA device is present");
    return;
  }
#endif
  const std::string dir = scratch_dir("nodev");
  const int rc = std::system((bench_exe() + " bench kernels --device cuda --filter '^add/' > " + dir +
                              "/log.txt 2>&1").c_str());
  CHECK(rc != 0);
  const std::string log = read_text(dir + "/log.txt");
  CHECK_THAT(log, Catch::Contains("error: --device cuda:"));
  fs::remove_all(dir);
}

// `srengine bench infer`: fp32 and int8 rows of one run, and int8 refused for a network it
// has no int8 path for; rows of conv precisions.
TEST_CASE("bench/infer_fp32_and_int8_rows") {
  if (!fs::exists(bench_exe())) {
    WARN("SKIPPED: " << bench_exe() << " is not built");
    return;
  }
  const std::string dir = scratch_dir("infer");
  {
    std::ofstream cfg(dir + "/srvgg.json");
    cfg << R"({"name": "b", "scale": 4, "network_g": {"type": "SRVGGNetCompact", "num_in_ch": 3, "num_out_ch": 3,
              "num_feat": 16, "num_conv": 2, "upscale": 4, "act_type": "prelu"}})";
    std::ofstream rrdb(dir + "/rrdb.json");
    rrdb << R"({"name": "b", "scale": 4, "network_g": {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3,
              "num_feat": 8, "num_block": 1, "num_grow_ch": 4}})";
  }
  const std::string run = bench_exe() + " bench infer --size 13x10 --iters 2 --warmup 0 --threads 1";
  REQUIRE(std::system((run + " --config " + dir + "/srvgg.json --json " + dir + "/out.json > " + dir +
                       "/log.txt 2>&1").c_str()) == 0);
  const json rows = read_json(dir + "/out.json");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0]["precision"] == "fp32");
  CHECK(rows[1]["precision"] == "int8");
  for (const json& r : rows) {
    CHECK(r["median_ms"].get<double>() > 0);
    CHECK(r["input"] == "1x3x13x10");
  }
  CHECK(rows[0]["int8_path"].is_null());
  CHECK(rows[1]["int8_path"] == sr::cpu::conv2d_int8_isa());
  // --int8-isa all: one int8 row per vector path this CPU runs, each named.
  REQUIRE(std::system((run + " --config " + dir + "/srvgg.json --int8-isa all --json " + dir + "/all.json > " + dir +
                       "/log.txt 2>&1").c_str()) == 0);
  std::vector<std::string> want = {"fp32"};
  for (sr::cpu::Int8Isa isa : sr::cpu::kInt8Isas)
    if (isa != sr::cpu::Int8Isa::reference && sr::cpu::int8_isa_supported(isa))
      want.push_back(std::string("int8 ") + sr::cpu::int8_isa_name(isa));
  std::vector<std::string> got;
  for (const json& r : read_json(dir + "/all.json"))
    got.push_back(r["int8_path"].is_null() ? r["precision"].get<std::string>()
                                           : r["precision"].get<std::string>() + " " + r["int8_path"].get<std::string>());
  CHECK(got == want);
  CHECK(std::system((run + " --config " + dir + "/srvgg.json --int8-isa avx3 > " + dir + "/bad.txt 2>&1").c_str()) != 0);
  CHECK_THAT(read_text(dir + "/bad.txt"), Catch::Contains("--int8-isa='avx3' is not an int8 conv path"));
  // Without --precision an RRDBNet is timed in fp32 only; int8 asked for is refused by name.
  REQUIRE(std::system((run + " --config " + dir + "/rrdb.json --json " + dir + "/rrdb_default.json > " + dir +
                       "/rrdb0.txt 2>&1").c_str()) == 0);
  CHECK(read_json(dir + "/rrdb_default.json").size() == 1);
  CHECK(read_json(dir + "/rrdb_default.json")[0]["precision"] == "fp32");
  CHECK(std::system((run + " --config " + dir + "/rrdb.json --int8-isa all > " + dir + "/rrdb_isa.txt 2>&1").c_str()) != 0);
  CHECK_THAT(read_text(dir + "/rrdb_isa.txt"), Catch::Contains("--int8-isa all times int8 rows") &&
                                                   Catch::Contains("RRDBNet, which has no int8 path"));
  CHECK(std::system((run + " --config " + dir + "/rrdb.json --precision fp32,int8 > " + dir + "/rrdb.txt 2>&1").c_str()) !=
        0);
  const std::string log = read_text(dir + "/rrdb.txt");
  CHECK(log.find("int8 needs network_g of type SRVGGNetCompact") != std::string::npos);
  CHECK(log.find("RRDBNet") != std::string::npos);
  // The conv precisions: one row each, in the order asked; 'default' and unknown names refused.
  REQUIRE(std::system((run + " --config " + dir + "/rrdb.json --precision fp32,fp16,tf32 --json " + dir +
                       "/prec.json > " + dir + "/prec.txt 2>&1").c_str()) == 0);
  std::vector<std::string> precisions;
  for (const json& r : read_json(dir + "/prec.json")) {
    precisions.push_back(r["precision"].get<std::string>());
    CHECK(r["median_ms"].get<double>() > 0);
  }
  CHECK(precisions == std::vector<std::string>{"fp32", "fp16", "tf32"});
  CHECK(std::system((run + " --config " + dir + "/rrdb.json --precision fp32,default > " + dir + "/def.txt 2>&1")
                        .c_str()) != 0);
  CHECK_THAT(read_text(dir + "/def.txt"), Catch::Contains("--precision 'default': name fp32"));
  CHECK(std::system((run + " --config " + dir + "/rrdb.json --precision fp64 > " + dir + "/fp64.txt 2>&1").c_str()) !=
        0);
  CHECK_THAT(read_text(dir + "/fp64.txt"), Catch::Contains("got 'fp64'"));
  fs::remove_all(dir);
}

// A one-channel network is timed on one-channel input: `bench infer` reads network_g's
// channels as the factory does (in_chans for SwinIR), not a fixed 3.
TEST_CASE("bench/infer_one_channel_network") {
  if (!fs::exists(bench_exe())) {
    WARN("SKIPPED: " << bench_exe() << " is not built");
    return;
  }
  const std::string dir = scratch_dir("infer_y");
  {
    std::ofstream cfg(dir + "/swinir_y.json");
    cfg << R"({"name": "b", "scale": 2, "network_g": {"type": "SwinIR", "upscale": 2, "in_chans": 1, "img_size": 8,
              "window_size": 4, "img_range": 1.0, "depths": [1], "embed_dim": 8, "num_heads": [2], "mlp_ratio": 2,
              "upsampler": "pixelshuffledirect", "resi_connection": "1conv"}})";
  }
  REQUIRE(std::system((bench_exe() + " bench infer --size 8x12 --iters 1 --warmup 0 --threads 1 --config " + dir +
                       "/swinir_y.json --json " + dir + "/out.json > " + dir + "/log.txt 2>&1").c_str()) == 0);
  const json rows = read_json(dir + "/out.json");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["input"] == "1x1x8x12");
  fs::remove_all(dir);
}
