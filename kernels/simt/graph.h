// Stream capture and replay on the SIMT interpreter: what CUDA graphs are to a GPU
// (cudaStreamBeginCapture, cudaStreamEndCapture, cudaGraphLaunch), for the simt device.
//   - While a capture is open on a thread, its kernel launches (with their arguments already
//     converted to the kernels' parameter types, as at a CUDA launch) and its device copies
//     and fills are recorded and NOT run: as on a GPU, captured work runs at replay only.
//   - Memory allocated during the capture (sr::simt::allocate) belongs to the graph: it stays
//     allocated, at its address, until the graph is destroyed, also where the captured code
//     freed it, as CUDA's graph memory nodes keep their addresses. So no pointer made during
//     a capture may be used after its graph is destroyed.
//   - A host->device copy records its source pointer, not the bytes: a replay reads the host
//     buffer as it is then (a per-iteration value goes up that way), so the buffer must
//     outlive the graph. A host wait (synchronize, a device->host copy) inside a capture is
//     an error, as a stream synchronisation is for CUDA.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace simt {

class Graph {
 public:
  Graph() = default;
  ~Graph();  // frees the graph's memory
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  // Runs every recorded node in order; a kernel fault throws (sr::Error) with its text.
  void replay();
  size_t nodes() const { return nodes_.size(); }
  size_t allocations() const { return memory_.size(); }

 private:
  friend struct GraphBuilder;
  std::vector<std::function<void()>> nodes_;
  std::vector<void*> memory_;
};

// Opens a capture on the calling thread (one at a time: a second is an error).
void begin_capture();
// Closes it and returns what it recorded; an error when none is open.
std::unique_ptr<Graph> end_capture();
bool capturing();  // on the calling thread

// The hooks of the launch template (simt.h) and the runtime (runtime.cpp).
namespace capture {
void record(std::function<void()> node);  // only while capturing
void note_allocation(void* p);            // while capturing: the graph owns p
bool owned_by_a_graph(void* p);           // its free waits for the graph's destruction
}  // namespace capture

}  // namespace simt
