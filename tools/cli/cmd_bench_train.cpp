// `srengine bench train`: the training iteration of each stage of a config, timed as the
// trainer runs it. The nets come from train/trainer.h's make_network (same seeds, EMA copy
// when ema_decay > 0), the iteration is train/stage_step.h's StageStep::run (same losses,
// optimizers and update order, so this cannot drift from training), the batches are
// synthetic (uniform LQ/GT of the configured batch_size_per_gpu, gt_size and scale) or,
// with --real-data, the training loader's. The "infer" row is network_g's forward without
// autograd on the same LQ batches.
//
// Per stage: warm-up iterations, then the median of --iters iterations of the whole
// iteration (data wait + step) and of each phase StageStep measures (forward, backward,
// optimizer incl. EMA, communication; G half and D half for srgan), LR pixels/s, images/s,
// and the peak memory of the stage: peak RSS on the CPU (VmHWM, reset per stage), the
// CUDA pool's peak on a GPU; plus the engine's peak tensor bytes. On CUDA the phase split
// is host time: the host waits only for the non-finite loss checks, which come after each
// backward has been queued and are counted in backward (see stage_step.h), so most GPU
// time lands wherever the queue fills; the whole-iteration time is synchronised.
//
// --precision fp32,bf16 runs each stage once per listed precision of network_g's convs
// (the config's `precision` otherwise), one row each, side by side in one process.
//
// Where training would capture the stage's iterations (train.cuda_graph resolving to capture:
// auto on a CUDA GPU, true on simt; train/graphed_step.h's use_cuda_graph), the stage gets a
// second row, "<stage>:graph", timed as training runs it: through a GraphedStep, warm-up
// (one eager iteration, then the capture) first, then replays. Its JSON object has "mode":
// "graph" and "graph_over_eager" (its median over the eager row's); a replay has no phase
// split. On the CPU there is no such row.
#include <malloc.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/random.h"
#include "engine/storage.h"
#include "kernels/cpu/simd.h"
#include "kernels/registry.h"
#include "layers/precision.h"
#include "nets/factory.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "train/comm.h"
#include "train/config.h"
#include "train/graphed_step.h"
#include "train/yaml/options_file.h"
#include "train/stage_step.h"
#include "train/trainer.h"
#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#endif

namespace sr::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string config, stage, device, json_path, list_json_path;
  std::vector<std::string> overrides;
  std::vector<Precision> precisions;  // empty: the config's
  int iters = 10, warmup = 2, threads = -1;
  bool real_data = false;
};

void print_usage() {
  std::printf(
      "usage: srengine bench train --config CFG [--stage NAME|infer] [--iters N] [--warmup W]\n"
      "                            [--device cpu|cuda] [--set key=value ...] [--json FILE]\n"
      "                            [--real-data] [--threads N] [--list-json FILE]\n"
      "                            [--precision fp32,tf32,bf16,fp16]\n\n"
      "Times one training iteration of each stage of CFG (JSON, or a BasicSR option file read as\n"
      "`srengine train` reads it: docs/BASICSR_YAML.md) exactly as `srengine train` runs it\n"
      "(sr: G step; srgan: G step then D step; EMA when train.ema_decay > 0), plus \"infer\":\n"
      "network_g's forward without autograd. Batches are synthetic (uniform LQ/GT of the\n"
      "configured batch_size_per_gpu, gt_size and scale) unless --real-data. Reports the median\n"
      "iteration time, LR pixels/s, images/s, peak memory (CPU: peak RSS; CUDA: pool peak) and\n"
      "the median split into data wait / forward / backward / optimizer / communication. Where\n"
      "training captures CUDA graphs (train.cuda_graph auto on a GPU, true on simt) each stage\n"
      "also gets a \"<stage>:graph\" row: replays after warm-up and capture, with graph / eager.\n\n"
      "  --stage NAME     only this stage (a name from train.stages, or infer); default: all + infer\n"
      "  --iters N        timed iterations per stage (default 10)\n"
      "  --warmup W       untimed iterations first (default 2)\n"
      "  --device D       overrides the config's device (cpu, cuda, cuda:N)\n"
      "  --set k.p=v      config override, e.g. --set datasets.train.batch_size_per_gpu=4\n"
      "  --json FILE      write a JSON array, one object per stage\n"
      "  --real-data      batches from the training loader (datasets.train) instead of synthetic\n"
      "  --threads N      OpenMP threads (default: all cores)\n"
      "  --precision LIST network_g's conv precision per row, comma-separated (default, fp32, tf32,\n"
      "                   bf16, fp16; fp16 with train.loss_scale as in training), each\n"
      "                   stage once per entry in this order; default: the config's `precision`\n"
      "  --list-json FILE write the workloads (nets, shapes, losses, optimizers) and exit;\n"
      "                   tools/peer_torch.py train reads it\n");
}

// "fp32,bf16" -> {fp32, bf16}; anything else names the bad entry and the allowed ones.
std::vector<Precision> parse_precisions(const std::string& list) {
  std::vector<Precision> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string v = list.substr(start, comma - start);
    out.push_back(parse_precision(v, "bench train: --precision"));
    start = comma + 1;
  }
  return out;
}

double since_ms(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

void sync(Device d) {
#ifdef SRENGINE_WITH_CUDA
  if (d.is_cuda()) cuda::synchronize();
#else
  (void)d;
#endif
}

// ---- peak memory of one stage -------------------------------------------------------------

// Peak RSS so far in MB: VmHWM from /proc, else getrusage's (never reset) maximum.
double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

// Starts a new peak: freed heap goes back to the OS first (else the previous stage's
// memory, still held by malloc, would count), then "5" to clear_refs resets VmHWM to the
// current RSS. Returns false where that is not possible (the peak is then the process's).
bool reset_peaks(Device d) {
  malloc_trim(0);
  reset_host_peak_memory();
#ifdef SRENGINE_WITH_CUDA
  if (d.is_cuda()) cuda::reset_peak(d.index);
#else
  (void)d;
#endif
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return f.good();
}

double device_peak_mb(Device d) {
#ifdef SRENGINE_WITH_CUDA
  if (d.is_cuda()) return cuda::pool_stats(d.index).peak_bytes / 1048576.0;
#else
  (void)d;
#endif
  return peak_rss_mb();
}

// ---- workloads ----------------------------------------------------------------------------

// What one row runs, in a form tools/peer_torch.py can rebuild in PyTorch.
json workload(const json& cfg, const json* stage) {
  const json& d = cfg.at("datasets").at("train");
  const int scale = cfg.at("scale"), gt = d.at("gt_size");
  json w = {{"stage", stage ? stage->at("name").get<std::string>() : "infer"},
            {"type", stage ? stage->at("type").get<std::string>() : "infer"},
            {"batch", d.at("batch_size_per_gpu")}, {"gt_size", gt}, {"scale", scale}, {"lr_size", gt / scale},
            {"network_g", cfg.at("network_g")}, {"ema_decay", stage ? cfg["train"]["ema_decay"].get<double>() : 0.0}};
  if (!stage) return w;
  for (const char* k : {"optim_g", "optim_d", "pixel_opt", "gan_opt", "net_d_iters", "net_d_init_iters"})
    if (stage->contains(k)) w[k] = stage->at(k);
  if (stage->at("type") != "sr" && stage->at("type") != "realesrnet") w["network_d"] = cfg.at("network_d");
  const bool percep = stage->contains("perceptual_opt") &&
                      !stage->at("perceptual_opt").value("vgg_weights", std::string()).empty();
  w["perceptual"] = percep;
  return w;
}

// The rows --stage selects: indices into train.stages, -1 for infer.
std::vector<int> selected_rows(const json& cfg, const std::string& only) {
  const json& stages = cfg["train"]["stages"];
  std::vector<int> rows;
  std::string names;
  for (size_t i = 0; i < stages.size(); ++i) {
    names += stages[i]["name"].get<std::string>() + ", ";
    if (only.empty() || stages[i]["name"] == only) rows.push_back((int)i);
  }
  if (only.empty() || only == "infer") rows.push_back(-1);
  SR_CHECK(!rows.empty(), "--stage: no stage named '", only, "' (stages: ", names, "infer)");
  return rows;
}

struct Samples {
  std::vector<double> total, data, forward, backward, optimizer, communication, g_step, d_step;
};

// Synthetic or real batches, already on the device; the time to get one is "data wait".
class BatchSource {
 public:
  BatchSource(const train::Config& cfg, Device device, bool real) : device_(device) {
    const data::DataConfig& d = cfg.find_dataset("train")->data;
    if (real) {
      loader_ = std::make_unique<data::Loader>(d);
      return;
    }
    const int64_t b = d.batch_size_per_gpu, gt = d.gt_size, scale = cfg.scale;
    const json& g = cfg.network_g->args;
    // The generator's channels in and out (in_chans for SwinIR and HAT); 3 for a type without them.
    const std::optional<NetworkChannels> ch = network_channels(g);
    const int64_t cin = ch && ch->in ? *ch->in : 3, cout = ch && ch->out ? *ch->out : cin;
    Generator gen(cfg.manual_seed + 77);
    for (int i = 0; i < 2; ++i) {  // two batches in turn, so no step sees the same input twice in a row
      Tensor lq = Tensor::empty({b, cin, gt / scale, gt / scale}), hr = Tensor::empty({b, cout, gt, gt});
      uniform_(lq, 0.0, 1.0, gen);
      uniform_(hr, 0.0, 1.0, gen);
      lq_.push_back(lq.to(device));
      gt_.push_back(hr.to(device));
    }
  }
  std::pair<Tensor, Tensor> next() {
    if (loader_) {
      data::Batch b = loader_->next();
      return {b.lq.to(device_), b.gt.to(device_)};
    }
    ++i_;
    return {lq_[i_ % 2], gt_[i_ % 2]};
  }

 private:
  Device device_;
  std::unique_ptr<data::Loader> loader_;
  std::vector<Tensor> lq_, gt_;
  size_t i_ = 0;
};

json summarise(const json& w, const Samples& s, const Options& o, int warmup, Device device, Precision precision,
               double peak_mb, double tensor_mb, bool peak_reset) {
  const double ms = median(s.total);
  const int64_t batch = w["batch"], lr = w["lr_size"];
  json r = {{"stage", w["stage"]},
            {"type", w["type"]},
            {"device", device.str()},
            {"precision", precision_name(precision)},
            {"threads", omp_get_max_threads()},
            {"data", o.real_data ? "real" : "synthetic"},
            {"batch", batch},
            {"lr_size", lr},
            {"gt_size", w["gt_size"]},
            {"iters", (int)s.total.size()},
            {"warmup", warmup},
            {"step_ms_median", ms},
            {"step_ms_min", *std::min_element(s.total.begin(), s.total.end())},
            {"lr_pixels_per_s", batch * lr * lr / (ms / 1000.0)},
            {"images_per_s", batch / (ms / 1000.0)},
            {"peak_mem_mb", peak_mb},
            {"peak_mem_kind", device.is_cuda() ? "cuda pool peak" : peak_reset ? "peak RSS of the stage"
                                                                              : "peak RSS of the process"},
            {"tensor_peak_mb", tensor_mb},
            {"data_ms", median(s.data)},
            {"forward_ms", median(s.forward)},
            {"backward_ms", median(s.backward)},
            {"optimizer_ms", median(s.optimizer)},
            {"communication_ms", median(s.communication)},
            {"workload", w}};
  if (w["type"] != "sr" && w["type"] != "realesrnet" && w["type"] != "infer") {
    r["g_step_ms"] = median(s.g_step);
    r["d_step_ms"] = median(s.d_step);
  }
  return r;
}

// One row: builds the nets and the step as the trainer does, runs warm-up + iters; `graphed`:
// through a GraphedStep that captures (the ":graph" row), else StageStep::run.
json bench_row(const train::Config& cfg, int si, const Options& o, Device device, Precision precision,
               train::Communicator& comm, bool graphed = false) {
  const train::StageConfig* stage = si >= 0 ? &cfg.train.stages[si] : nullptr;
  const json w = workload(cfg.json, si >= 0 ? &cfg.json["train"]["stages"][si] : nullptr);
  const bool peak_reset = reset_peaks(device);
  const uint64_t seed = cfg.manual_seed;
  const double ema_decay = cfg.train.ema_decay;
  const LayerOptions layers = train::layer_options(cfg);  // the config's conv_impl / rdb_impl
  std::unique_ptr<Module> g = train::make_network(*cfg.network_g, seed, 1, device, layers), ema, d;
  set_precision(*g, precision);  // as the trainer: the EMA copy stays at the device default
  BatchSource source(cfg, device, o.real_data);
  Samples s;
  // A graph per iteration kind ("g+d" and "d" alternate with net_d_iters > 1): each kind's
  // first iteration runs eagerly and its second is captured, so those stay in the warm-up.
  const int kinds = stage && stage->adversarial() ? (int)std::max<int64_t>(1, stage->net_d_iters) : 1;
  const int warmup = graphed ? std::max(o.warmup, 2 * kinds) : o.warmup;
  // body(i, lq, gt, record): iteration i (1-based), record = past the warm-up.
  auto timed = [&](auto&& body) {
    for (int i = 1; i <= warmup + o.iters; ++i) {
      const bool record = i > warmup;
      const auto t0 = Clock::now();
      auto [lq, gt] = source.next();
      sync(device);
      const double data_ms = since_ms(t0);
      body(i, lq, gt, record);
      sync(device);
      if (!record) continue;
      s.total.push_back(since_ms(t0));
      s.data.push_back(data_ms);
    }
  };
  if (!stage) {
    g->eval();
    NoGradGuard no_grad;
    timed([&](int, const Tensor& lq, const Tensor&, bool record) {
      const auto t = Clock::now();
      Tensor out = g->forward(lq);
      sync(device);
      if (record) s.forward.push_back(since_ms(t));
    });
  } else {
    const bool gan = stage->adversarial();
    if (ema_decay > 0) {  // as the trainer: an eval-mode copy of G
      ema = train::make_network(*cfg.network_g, seed, 1, device, layers);
      ema->train(false);
      std::map<std::string, Tensor> sd;
      for (auto& [k, t] : g->state_dict()) sd[k] = t;
      ema->load_state_dict(sd, true);
    }
    if (gan) d = train::make_network(*cfg.network_d, seed, 2, device, layers);
    train::StageStep step(*stage, *g, ema.get(), d.get(), ema_decay, comm, cfg.dist.bucket_mb, {}, layers);
    if (precision == Precision::fp16) step.enable_loss_scaling(cfg.train.loss_scale);  // as the trainer
    if (stage->perceptual_opt && !step.has_perceptual() && comm.rank() == 0)
      std::printf("note: stage '%s' runs without its perceptual loss (perceptual_opt.vgg_weights is empty), as "
                  "training would\n", stage->name.c_str());
    // Iterations numbered after net_d_init_iters so that every one updates G (steady state).
    const int64_t first = stage->net_d_init_iters;
    std::unique_ptr<train::GraphedStep> graph_step;
    if (graphed) graph_step = std::make_unique<train::GraphedStep>(step, device, true);
    timed([&](int i, const Tensor& lq, const Tensor& gt, bool record) {
      if (graph_step) {  // a replay's time is the whole iteration's: no phases
        (void)graph_step->run(lq, gt, first + i);
        return;
      }
      train::StepResult r = step.run(lq, gt, first + i);
      if (!record) return;
      const auto& t = r.times;
      s.forward.push_back(1e3 * t.forward), s.backward.push_back(1e3 * t.backward);
      s.optimizer.push_back(1e3 * t.optimizer), s.communication.push_back(1e3 * t.communication);
      s.g_step.push_back(1e3 * t.g_step), s.d_step.push_back(1e3 * t.d_step);
    });
  }
  json r = summarise(w, s, o, warmup, device, precision, device_peak_mb(device),
                     host_memory_stats().peak_bytes / 1048576.0, peak_reset);
  r["mode"] = graphed ? "graph" : "eager";
  return r;
}

void print_row(const json& r) {
  const bool graph = r.value("mode", "eager") == "graph";
  const std::string stage = r["stage"].get<std::string>() + (graph ? ":graph" : "");
  if (graph) {  // replays: no phase split; the ratio to the eager row instead
    std::printf("%-8s %-6s %-4s %5d %4dpx %10.1f %11.0f %7.2f %8.0f | replays, %d warm-up; graph / eager %.2f\n",
                stage.c_str(), r["type"].get<std::string>().c_str(), r["precision"].get<std::string>().c_str(),
                r["batch"].get<int>(), r["lr_size"].get<int>(), r["step_ms_median"].get<double>(),
                r["lr_pixels_per_s"].get<double>(), r["images_per_s"].get<double>(), r["peak_mem_mb"].get<double>(),
                r["warmup"].get<int>(), r["graph_over_eager"].get<double>());
    std::fflush(stdout);
    return;
  }
  char gd[64] = "";
  if (r.contains("g_step_ms"))
    std::snprintf(gd, sizeof gd, " %8.1f %8.1f", r["g_step_ms"].get<double>(), r["d_step_ms"].get<double>());
  std::printf("%-8s %-6s %-4s %5d %4dpx %10.1f %11.0f %7.2f %8.0f | %6.1f %8.1f %8.1f %8.1f %6.1f |%s\n",
              stage.c_str(), r["type"].get<std::string>().c_str(),
              r["precision"].get<std::string>().c_str(), r["batch"].get<int>(),
              r["lr_size"].get<int>(), r["step_ms_median"].get<double>(), r["lr_pixels_per_s"].get<double>(),
              r["images_per_s"].get<double>(), r["peak_mem_mb"].get<double>(), r["data_ms"].get<double>(),
              r["forward_ms"].get<double>(), r["backward_ms"].get<double>(), r["optimizer_ms"].get<double>(),
              r["communication_ms"].get<double>(), gd);
  std::fflush(stdout);
}

}  // namespace

int run_bench_train(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::string {
      SR_CHECK(i + 1 < args.size(), flag, " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      print_usage();
      return 0;
    } else if (a == "--config") o.config = value("--config");
    else if (a == "--stage") o.stage = value("--stage");
    else if (a == "--iters") o.iters = parse_int_arg("bench train", "--iters", value("--iters"), 1, 1000000);
    else if (a == "--warmup") o.warmup = parse_int_arg("bench train", "--warmup", value("--warmup"), 0, 1000000);
    else if (a == "--device") o.device = value("--device");
    else if (a == "--set") o.overrides.push_back(value("--set"));
    else if (a == "--json") o.json_path = value("--json");
    else if (a == "--list-json") o.list_json_path = value("--list-json");
    else if (a == "--threads")
      o.threads = parse_int_arg("bench train", "--threads", value("--threads"), 1, kMaxThreads);
    else if (a == "--real-data") o.real_data = true;
    else if (a == "--precision") o.precisions = parse_precisions(value("--precision"));
    else if (o.config.empty() && !a.empty() && a[0] != '-') o.config = a;
    else fail("unknown argument '", a, "' (see srengine bench train --help)");
  }
  SR_CHECK(!o.config.empty(), "--config is required (see srengine bench train --help)");
  if (!o.json_path.empty()) check_output_file(o.json_path, {o.config}, "bench train: --json");
  if (!o.list_json_path.empty()) check_output_file(o.list_json_path, {o.config}, "bench train: --list-json");
  if (!o.device.empty()) o.overrides.push_back("device=" + o.device);
  const train::LoadedConfig loaded = train::load_config_or_options(o.config, o.overrides, train::ConfigUse::train);
  train::print_config_notes(loaded.notes);
  const json& cfg = loaded.config;
  const train::Config typed = train::parse_config(cfg);
  const std::vector<int> rows = selected_rows(cfg, o.stage);
  if (!o.list_json_path.empty()) {
    json list = json::array();
    for (int si : rows) list.push_back(workload(cfg, si >= 0 ? &cfg["train"]["stages"][si] : nullptr));
    write_output_file(o.list_json_path, list.dump(1) + "\n", {o.config}, "bench train: --list-json");
    return 0;
  }
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const train::LaunchInfo launch = train::detect_launch();
  train::check_not_torchrun_launched(launch);
  const Device device = train::resolve_device(typed.device, launch.local_rank);
  SR_CHECK(!device.is_simt() || typed.train.cuda_graph == "true",
           "device simt: the SIMT interpreter checks kernels, it does not time them (use cpu or cuda; with "
           "train.cuda_graph true, simt runs the graphed rows as a check that they work)");
  auto comm = train::make_communicator(typed.dist.backend, device);
  const bool print = comm->rank() == 0;
  if (print) {
    std::printf("bench train: %s on %s (%s, %d threads), %s batches, median of %d iterations after %d warm-up\n",
                o.config.c_str(), device.str().c_str(), cpu::simd_isa(), omp_get_max_threads(),
                o.real_data ? "real (training loader)" : "synthetic", o.iters, o.warmup);
    std::printf("%-8s %-6s %-4s %5s %6s %10s %11s %7s %8s | %6s %8s %8s %8s %6s | %8s %8s\n", "stage", "type", "prec",
                "batch", "LR",
                "step ms", "LR px/s", "img/s", "peak MB", "data", "forward", "backward", "optim", "comm", "G step",
                "D step");
  }
  json out = json::array();
  if (o.precisions.empty()) o.precisions.push_back(typed.precision);
  for (Precision p : o.precisions) check_precision_supported(p, device, typed.conv_impl);
  for (int si : rows)
    for (Precision p : o.precisions) {
      json r = bench_row(typed, si, o, device, p, *comm);
      if (print) print_row(r);
      const double eager_ms = r["step_ms_median"];
      out.push_back(std::move(r));
      // What training runs when it captures: the replays, beside the eager row.
      if (si < 0 || device.is_cpu() ||
          !train::use_cuda_graph(typed, typed.train.stages[si], device, comm->backend(), nullptr))
        continue;
      json g = bench_row(typed, si, o, device, p, *comm, true);
      g["graph_over_eager"] = g["step_ms_median"].get<double>() / eager_ms;
      if (print) print_row(g);
      out.push_back(std::move(g));
    }
  if (!o.json_path.empty() && print) {
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    for (auto& r : out) r["date"] = date, r["version"] = SRENGINE_VERSION;
    write_output_file(o.json_path, out.dump(1) + "\n", {o.config}, "bench train: --json");
  }
  return 0;
}

}  // namespace sr::cli
