// One captured stretch of the calling thread's stream work, replayed: CUDA graphs on a GPU
// (cudaStreamBeginCapture on the per-thread stream, cudaStreamEndCapture,
// cudaGraphInstantiate, cudaGraphLaunch: engine/cuda_graph.cu) and their emulation on the simt
// device (kernels/simt/graph.h). The rules a captured training step follows are in
// docs/GPU.md ("The sync-free step and CUDA graphs"): no host wait inside the capture; what a
// replay reads from the host (learning rates, chunk tables) outlives the graph; the graph's
// outputs are read after each replay, before the next; no tensor made during the capture is
// used after the graph is destroyed.
#pragma once
#include <memory>

#include "engine/dtype.h"  // Device

namespace sr {

class StreamGraph {
 public:
  // `device`: a GPU or the simt device; the CPU cannot capture (an error naming it).
  explicit StreamGraph(Device device);
  ~StreamGraph();
  StreamGraph(const StreamGraph&) = delete;
  StreamGraph& operator=(const StreamGraph&) = delete;

  void begin_capture();  // the work queued from here on is recorded, not run
  void end_capture();    // closes the capture and makes the graph replayable
  void replay();         // runs the captured work once more
  bool captured() const { return ready_; }

 private:
  struct SimtGraph;  // the simt device's recording (kernels/simt/graph.h)
  Device device_;
  bool open_ = false, ready_ = false;
  void* exec_ = nullptr;  // a GPU's cudaGraphExec_t
  std::unique_ptr<SimtGraph> simt_;
};

// Whether the calling thread's stream on `device` is being captured (a StreamGraph between
// begin_capture and end_capture): work queued now is recorded for the replays, so a value
// the host stages for one iteration (a learning rate) must be queued outside. False on the CPU.
bool stream_capturing(Device device);

namespace cuda {
// engine/cuda_graph.cu: the CUDA calls, checked.
bool stream_capture_active();
void stream_capture_begin();
void* stream_capture_end();  // the instantiated cudaGraphExec_t
void graph_launch(void* exec);
void graph_destroy(void* exec) noexcept;
}  // namespace cuda

}  // namespace sr
