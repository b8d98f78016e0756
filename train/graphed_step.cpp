// Captured and replayed training iterations (see graphed_step.h).
#include "train/graphed_step.h"

#include <algorithm>
#include <atomic>

#include "engine/error.h"
#include "nets/hat.h"
#include "nets/swinir.h"

namespace sr::train {

namespace {
std::atomic<uint64_t> g_captures{0};
std::atomic<bool> g_stale_inputs{false};
}  // namespace

uint64_t cuda_graph_captures() { return g_captures.load(); }
void set_cuda_graph_stale_inputs(bool stale) { g_stale_inputs.store(stale); }

// Each reason is a host read inside the step: the value read decides what the next kernels
// get, which a graph (replayed without the host) cannot follow. fp16's loss scale and the
// perceptual loss's fro norm stay on the device (docs/GPU.md), so neither is a reason.
std::string cuda_graph_blocker(const Config& cfg, const StageConfig& /*stage*/, const std::string& comm_backend) {
  if (comm_backend == "mpi") return "the MPI communicator all-reduces through the host";
  // SwinIR's and HAT's stochastic depth draws each iteration's per-sample masks on the host: a
  // replayed graph would repeat the captured iteration's masks.
  if (cfg.network_g && (cfg.network_g->type == "SwinIR" || cfg.network_g->type == "HAT")) {
    const std::string& type = cfg.network_g->type;
    const auto& a = cfg.network_g->args;
    const bool given = a.contains("drop_path_rate") && a["drop_path_rate"].is_number();
    const double rate = given ? a["drop_path_rate"].get<double>()
                        : type == "HAT" ? HATOptions{}.drop_path_rate
                                        : SwinIROptions{}.drop_path_rate;
    if (rate > 0)
      return type + "'s stochastic depth (network_g.drop_path_rate " + std::to_string(rate) +
             ") draws its masks on the host each iteration";
  }
  return "";
}

bool use_cuda_graph(const Config& cfg, const StageConfig& stage, Device device, const std::string& comm_backend,
                    RunLog* log) {
  const std::string& mode = cfg.train.cuda_graph;
  if (mode == "false") return false;
  if (mode == "auto" && !device.is_cuda()) return false;  // the CPU; simt stays eager unless asked
  SR_CHECK(mode == "true" || mode == "auto", "train.cuda_graph: '", mode, "', expected auto, true or false");
  SR_CHECK(mode != "true" || !device.is_cpu(), "train.cuda_graph is true, but the device ", device.str(),
           " cannot capture CUDA graphs (a CUDA GPU or simt can): set train.cuda_graph to auto or false");
  const std::string why = cuda_graph_blocker(cfg, stage, comm_backend);
  if (why.empty()) return true;
  SR_CHECK(mode != "true", "train.cuda_graph is true, but stage '", stage.name, "' cannot be captured: ", why,
           "; set train.cuda_graph to auto (eager there) or false");
  if (log) log->info("[" + stage.name + "] CUDA graphs off (train.cuda_graph auto): " + why + "; iterations run eagerly");
  return false;
}

// One (kind, shapes) pair: its input buffers, graph and outputs. Declared in that order, so
// the outputs (tensors in the graph's memory) go before the graph.
struct GraphedStep::Graph {
  std::string key;
  uint64_t last_use = 0;
  Tensor lq, gt;                      // the static inputs the graph reads
  std::unique_ptr<StreamGraph> graph;  // null until captured (after one eager iteration)
  StepResult out;                      // the captured iteration's losses and gate
};

GraphedStep::GraphedStep(StageStep& step, Device device, bool capture,
                         std::function<void(int64_t, const std::string&)> on_capture, size_t max_graphs)
    : step_(step), device_(device), capture_(capture), max_graphs_(max_graphs), on_capture_(std::move(on_capture)) {
  SR_CHECK(!device.is_cpu(), "GraphedStep: the CPU has no stream to capture");
  SR_CHECK(max_graphs >= 1, "GraphedStep: max_graphs must be at least 1");
}

GraphedStep::~GraphedStep() = default;

size_t GraphedStep::graphs() const {
  size_t n = 0;
  for (const auto& g : graphs_) n += g->graph != nullptr;
  return n;
}

GraphedStep::Graph& GraphedStep::find_or_add(const std::string& key) {
  for (auto& g : graphs_)
    if (g->key == key) return *g;
  if (graphs_.size() >= max_graphs_) {
    auto oldest = std::min_element(graphs_.begin(), graphs_.end(),
                                   [](const auto& a, const auto& b) { return a->last_use < b->last_use; });
    graphs_.erase(oldest);  // its outputs, then its graph and memory
  }
  graphs_.push_back(std::make_unique<Graph>());
  graphs_.back()->key = key;
  return *graphs_.back();
}

StepResult GraphedStep::run(const Tensor& lq, const Tensor& gt, int64_t iter) {
  const std::string kind = capture_ ? step_.iteration_kind(iter) : "";
  if (kind.empty()) return step_.run(lq, gt, iter);
  Graph& g = find_or_add(kind + " lq " + lq.shape().str() + " gt " + gt.shape().str());
  g.last_use = ++uses_;
  if (!g.lq.defined()) {  // the warm-up: eager, on the batch itself; the input buffers are made
    g.lq = Tensor::empty(lq.shape(), lq.dtype(), lq.device());
    g.gt = Tensor::empty(gt.shape(), gt.dtype(), gt.device());
    return step_.run(lq, gt, iter);
  }
  if (!g.graph) {
    // The capture records iteration `iter` without running it (and stages no learning rate:
    // the graph reads the device rates); the replay below runs it.
    g.lq.copy_(lq);
    g.gt.copy_(gt);
    auto graph = std::make_unique<StreamGraph>(device_);
    graph->begin_capture();
    g.out = step_.run(g.lq, g.gt, iter);
    graph->end_capture();
    g.graph = std::move(graph);
    g_captures.fetch_add(1);
    if (on_capture_) on_capture_(iter, kind + ", lq " + lq.shape().str() + ", gt " + gt.shape().str());
  } else if (!g_stale_inputs.load()) {
    g.lq.copy_(lq);
    g.gt.copy_(gt);
  }
  // The iteration's rates, queued ahead of the replay into the device rates it reads
  // (Adam::stage_lr: nothing when they did not change, a wait only when the ring wraps onto
  // a slot whose copy has not run).
  step_.prepare_replay(iter);
  g.graph->replay();
  // The outputs are overwritten by the next replay: copies, queued on the device.
  StepResult r;
  for (const auto& [name, t] : g.out.losses) r.losses[name] = t.clone();
  r.skip_gate = g.out.skip_gate.clone();
  return r;
}

}  // namespace sr::train
