// `srengine bench infer`: network_g's CPU inference at a given image size, in float32 and in
// int8 (quant/srvgg_int8.h, SRVGGNetCompact; one row per conv2d_int8 path asked for), side by
// side in one run, with the ratio.
//
// The int8 network is calibrated (percentile, as `srengine quantize` does by default) on the
// benchmark's own input, so the timing needs no data; its quality is what `srengine quantize`
// reports. Weights are the network's random
// initialisation unless --weights is given (speed does not depend on them).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/random.h"
#include "kernels/cpu/conv2d_int8.h"
#include "layers/precision.h"
#include "nets/load_weights.h"
#include "quant/srvgg_int8.h"
#include "tools/cli/args.h"
#include "tools/cli/net_setup.h"

namespace sr::cli {

namespace {

using Clock = std::chrono::steady_clock;

void print_usage() {
  std::printf(
      "usage: srengine bench infer --config CFG [--weights W] [--size HxW] [--batch N]\n"
      "                            [--precision fp32,bf16,int8] [--iters N] [--warmup W]\n"
      "                            [--int8-isa default|all|LIST] [--threads N] [--json FILE]\n\n"
      "Times network_g's forward on the CPU (no autograd) on a random image of the given size,\n"
      "in each precision, round-robin in one run; prints the median per precision and the\n"
      "ratio to fp32. fp32, tf32, bf16, fp16: the convolutions' precision (srengine infer\n"
      "--precision; bf16 needs AVX512-BF16). int8 runs SRVGGNetCompact's int8 network\n"
      "(conv2d_int8), calibrated (percentile) on the same input.\n\n"
      "  --size HxW       LR input size (default 256x256; one number: square)\n"
      "  --batch N        images per forward (default 1)\n"
      "  --precision L    comma-separated: fp32, tf32, bf16, fp16, int8 (default fp32, and int8 for\n"
      "                   SRVGGNetCompact, the net srengine has an int8 path for)\n"
      "  --iters N        timed forwards per precision (default 5)\n"
      "  --warmup W       untimed forwards first (default 1)\n"
      "  --int8-isa P     conv2d_int8 paths, one int8 row each: default (the path int8 takes\n"
      "                   here: %s), all (every vector path this CPU runs), or a\n"
      "                   comma-separated list of avx512_vnni, avx_vnni, avx2, reference\n"
      "  --threads N      OpenMP threads (default: all cores)\n"
      "  --json FILE      write one object per precision\n",
      cpu::conv2d_int8_isa());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::pair<int, int> parse_size(const std::string& s) {
  const size_t x = s.find('x');
  const int h = parse_int_arg("bench infer", "--size", s.substr(0, x), 1, 1 << 16);
  const int w = x == std::string::npos ? h : parse_int_arg("bench infer", "--size", s.substr(x + 1), 1, 1 << 16);
  return {h, w};
}

}  // namespace

int run_bench_infer(const std::vector<std::string>& args) {
  std::string config, weights, json_path, precisions, isas = "default";
  bool precisions_given = false, isas_given = false;
  std::pair<int, int> size{256, 256};
  int batch = 1, iters = 5, warmup = 1, threads = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      print_usage();
      return 0;
    }
    // Every option takes a value: an unknown one (another benchmark's --real-data) is named as
    // unknown, not as missing its value.
    static const char* const kOptions[] = {"--config", "--weights", "--json",   "--precision", "--int8-isa",
                                           "--size",   "--batch",   "--iters", "--warmup",    "--threads"};
    SR_CHECK(std::find(std::begin(kOptions), std::end(kOptions), a) != std::end(kOptions),
             "bench infer: unknown option '", a, "' (see --help)");
    SR_CHECK(i + 1 < args.size(), "bench infer: ", a, " needs a value (see --help)");
    const std::string& v = args[++i];
    if (a == "--config") config = v;
    else if (a == "--weights") weights = v;
    else if (a == "--json") json_path = v;
    else if (a == "--precision") precisions = v, precisions_given = true;
    else if (a == "--int8-isa") isas = v, isas_given = true;
    else if (a == "--size") size = parse_size(v);
    else if (a == "--batch") batch = parse_int_arg("bench infer", a, v, 1, 1024);
    else if (a == "--iters") iters = parse_int_arg("bench infer", a, v, 1, 100000);
    else if (a == "--warmup") warmup = parse_int_arg("bench infer", a, v, 0, 100000);
    else if (a == "--threads") threads = parse_int_arg("bench infer", a, v, 1, kMaxThreads);
    else fail("bench infer: unknown option '", a, "' (see --help)");
  }
  SR_CHECK(!config.empty(), "bench infer: --config is required (see --help)");
  if (!json_path.empty()) check_output_file(json_path, {config, weights}, "bench infer: --json");
  if (threads > 0) omp_set_num_threads(threads);

  manual_seed(1);
  BuiltGenerator generator = build_generator(config);
  std::unique_ptr<Module>& net = generator.net;
  if (!weights.empty()) load_basicsr_weights(*net, weights);
  net->eval();  // inference: no stochastic depth (SwinIR), as infer / test / validation run it
  Tensor x = Tensor::empty({batch, generator.in_channels, size.first, size.second});
  uniform_(x, 0.0, 1.0);

  if (!precisions_given) precisions = dynamic_cast<SRVGGNetCompact*>(net.get()) ? "fp32,int8" : "fp32";
  std::vector<std::string> list;
  std::stringstream ss(precisions);
  for (std::string p; std::getline(ss, p, ',');) list.push_back(p);
  SR_CHECK(!list.empty(), "bench infer: --precision lists no precision (e.g. fp32,int8), got '", precisions, "'");
  SR_CHECK(!isas_given || std::find(list.begin(), list.end(), "int8") != list.end(), "bench infer: --int8-isa ",
           isas, " times int8 rows, but the precisions are ", precisions,
           precisions_given ? "" : std::string(" (the default for ") + net->type_name() + ", which has no int8 path)");
  // The int8 paths to time and the rows (a bad name is an error before any timing).
  std::vector<cpu::Int8Isa> int8_paths;
  if (isas == "default") {
    int8_paths.push_back(cpu::conv2d_int8_selected_isa());
  } else if (isas == "all") {
    for (cpu::Int8Isa isa : cpu::kInt8Isas)
      if (isa != cpu::Int8Isa::reference && cpu::int8_isa_supported(isa)) int8_paths.push_back(isa);
    if (int8_paths.empty()) int8_paths.push_back(cpu::Int8Isa::reference);
  } else {
    std::stringstream is(isas);
    for (std::string name; std::getline(is, name, ',');)
      int8_paths.push_back(cpu::int8_isa_from_name(name, "bench infer: --int8-isa"));
  }
  // One row per (precision, path): a conv precision has one, int8 one per path asked for.
  struct Row {
    std::string precision;
    Precision conv;                   // the float net's convolutions (rows without an int8 path)
    std::optional<cpu::Int8Isa> isa;  // int8 rows
  };
  std::vector<Row> row_list;
  for (const std::string& p : list) {
    if (p == "int8") {
      for (cpu::Int8Isa isa : int8_paths) row_list.push_back({p, Precision::device_default, isa});
      continue;
    }
    const Precision conv = parse_precision(p, "bench infer: --precision");
    SR_CHECK(conv != Precision::device_default, "bench infer: --precision 'default': name fp32 (the CPU's)");
    check_precision_supported(conv, Device::cpu(), "native", "bench infer: --precision");
    row_list.push_back({p, conv, std::nullopt});
  }
  std::unique_ptr<quant::SRVGGNetCompactInt8> int8;
  if (std::find(list.begin(), list.end(), "int8") != list.end()) {
    auto* srvgg = dynamic_cast<SRVGGNetCompact*>(net.get());
    SR_CHECK(srvgg, "bench infer: int8 needs network_g of type SRVGGNetCompact, ", config, " has ", net->type_name());
    int8 = std::make_unique<quant::SRVGGNetCompactInt8>(*srvgg, quant::calibrate(*srvgg, {x}, {}));
  }

  NoGradGuard no_grad;
  nlohmann::json rows = nlohmann::json::array();
  double fp32_ms = 0;
  // Warm-ups row by row, then the timed forwards round-robin over the rows (iteration i of
  // every row before iteration i + 1 of any), so that a change of machine load during the
  // run falls on every row alike and the ratios stay fair. A float row's precision is set on
  // the net before its forwards, outside the timed part.
  auto prepare = [&](size_t r) {
    if (!row_list[r].isa) set_precision(*net, row_list[r].conv);
  };
  auto run = [&](size_t r) {
    const Row& row = row_list[r];
    return row.isa ? int8->forward(x, *row.isa) : net->forward(x);
  };
  for (size_t r = 0; r < row_list.size(); ++r) {
    prepare(r);
    for (int i = 0; i < warmup; ++i) run(r);
  }
  std::vector<std::vector<double>> ms(row_list.size());
  for (int i = 0; i < iters; ++i)
    for (size_t r = 0; r < row_list.size(); ++r) {
      prepare(r);
      const auto t0 = Clock::now();
      run(r);
      ms[r].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
  const std::string input = str_cat(batch, "x", generator.in_channels, "x", size.first, "x", size.second);
  std::printf("%-6s %-12s %-12s %8s %12s %10s\n", "prec", "int8 path", "input", "threads", "median ms", "vs fp32");
  for (size_t r = 0; r < row_list.size(); ++r) {
    const std::string& p = row_list[r].precision;
    const std::optional<cpu::Int8Isa>& isa = row_list[r].isa;
    const double med = median(ms[r]);
    if (p == "fp32") fp32_ms = med;
    const char* path = isa ? cpu::int8_isa_name(*isa) : "-";
    std::printf("%-6s %-12s %-12s %8d %12.1f %10s\n", p.c_str(), path, input.c_str(), omp_get_max_threads(), med,
                fp32_ms > 0 ? (std::to_string(fp32_ms / med).substr(0, 4) + "x").c_str() : "-");
    nlohmann::json row = {{"precision", p}, {"input", input}, {"threads", omp_get_max_threads()},
                          {"median_ms", med}, {"iters", iters}};
    row["int8_path"] = isa ? nlohmann::json(path) : nlohmann::json(nullptr);
    rows.push_back(row);
  }
  if (!json_path.empty()) write_output_file(json_path, rows.dump(2) + "\n", {config, weights}, "bench infer: --json");
  return 0;
}

}  // namespace sr::cli
