// train.cuda_graph: the training loop's iterations captured as CUDA graphs and replayed
// (engine/cuda_graph.h; docs/GPU.md, "CUDA graphs").
//
// An iteration's work depends on its kind (StageStep::iteration_kind: "g", "g+d", "d") and on
// the shapes of its batch; each (kind, shapes) pair gets one graph. The first iteration of a
// pair runs eagerly (it makes the optimizers' state and the workspaces of that shape), the
// second is captured, then replayed, and every later one replays: the batch is copied into
// the graph's own input buffers, the iteration's learning rates are staged into the device
// rates the graph reads (StageStep::prepare_replay), the graph runs, and its losses and
// skip gate are copied out on the device, so the log window (LossWindow) reads them at the
// log line as in an eager run. Iterations with an injected NaN run eagerly. At most
// `max_graphs` pairs are kept (kMaxGraphs by default); the least recently used is destroyed
// first.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/cuda_graph.h"
#include "train/comm.h"
#include "train/config_types.h"
#include "train/run_log.h"
#include "train/stage_step.h"

namespace sr::train {

// Why `stage` of `cfg` cannot be captured as a CUDA graph; empty when it can. The one place
// that decides: a part of a step that reads on the host (a value the next kernels need)
// cannot be captured. `comm_backend`: the communicator's (Communicator::backend(), "single"
// for one process).
std::string cuda_graph_blocker(const Config& cfg, const StageConfig& stage, const std::string& comm_backend);

// Whether `stage` runs captured on `device`, from train.cuda_graph: false -> no; auto -> on a
// CUDA GPU when cuda_graph_blocker is empty, else no, and on a GPU the reason is one line of
// `log` (when given); true -> yes, or an error naming the key and the device (the CPU) or
// the reason.
bool use_cuda_graph(const Config& cfg, const StageConfig& stage, Device device, const std::string& comm_backend,
                    RunLog* log);

// The captures made in this process (tests check the re-captures a shape change causes).
uint64_t cuda_graph_captures();
// Test hook, a planted bug: replays leave the graph's input buffers as they are instead of
// copying the new batch in.
void set_cuda_graph_stale_inputs(bool stale);

class GraphedStep {
 public:
  static constexpr size_t kMaxGraphs = 4;

  // `capture` false: every iteration eager.
  // `device`: the networks' (a GPU or simt). `on_capture(iter, text)`: told each capture.
  GraphedStep(StageStep& step, Device device, bool capture,
              std::function<void(int64_t, const std::string&)> on_capture = {}, size_t max_graphs = kMaxGraphs);
  ~GraphedStep();
  GraphedStep(const GraphedStep&) = delete;
  GraphedStep& operator=(const GraphedStep&) = delete;

  // Iteration `iter` on (lq, gt): eager, captured and replayed, or replayed. The result's
  // losses and skip gate are the iteration's own tensors (copies of a graph's outputs).
  StepResult run(const Tensor& lq, const Tensor& gt, int64_t iter);
  size_t graphs() const;  // graphs held

 private:
  struct Graph;
  Graph& find_or_add(const std::string& key);

  StageStep& step_;
  Device device_;
  bool capture_;
  size_t max_graphs_;
  std::function<void(int64_t, const std::string&)> on_capture_;
  std::vector<std::unique_ptr<Graph>> graphs_;
  uint64_t uses_ = 0;
};

}  // namespace sr::train
