// Capture and replay on the interpreter (see graph.h).
#include "kernels/simt/graph.h"

#include <mutex>
#include <set>
#include <string>

#include "engine/error.h"
#include "kernels/simt/device.h"

// The interpreter's sticky launch error (interpreter.cpp), for replay's check.
enum cudaError_t : int;
cudaError_t cudaGetLastError();
const char* cudaGetErrorString(cudaError_t err);

namespace simt {

namespace {
thread_local std::unique_ptr<Graph> t_capture;  // the graph being recorded on this thread
std::mutex g_owned_mutex;
std::set<void*> g_owned;  // allocations that belong to a graph (captured or alive)
}  // namespace

struct GraphBuilder {
  static std::vector<std::function<void()>>& nodes(Graph& g) { return g.nodes_; }
  static std::vector<void*>& memory(Graph& g) { return g.memory_; }
};

Graph::~Graph() {
  for (void* p : memory_) {
    {
      std::lock_guard<std::mutex> lock(g_owned_mutex);
      g_owned.erase(p);
    }
    device_free(p);
  }
}

void Graph::replay() {
  SR_CHECK(!capturing(), "simt: a graph replayed inside a stream capture");
  for (auto& node : nodes_) {
    node();
    const cudaError_t e = cudaGetLastError();
    if ((int)e != 0) sr::fail("simt graph replay: ", cudaGetErrorString(e));
  }
}

void begin_capture() {
  SR_CHECK(!t_capture, "simt: a stream capture is already open on this thread");
  t_capture = std::make_unique<Graph>();
}

std::unique_ptr<Graph> end_capture() {
  SR_CHECK(t_capture != nullptr, "simt: end_capture without an open stream capture");
  return std::move(t_capture);
}

bool capturing() { return t_capture != nullptr; }

namespace capture {

void record(std::function<void()> node) {
  SR_CHECK(t_capture != nullptr, "simt: internal error: a node recorded outside a capture");
  GraphBuilder::nodes(*t_capture).push_back(std::move(node));
}

void note_allocation(void* p) {
  SR_CHECK(t_capture != nullptr, "simt: internal error: a graph allocation outside a capture");
  GraphBuilder::memory(*t_capture).push_back(p);
  std::lock_guard<std::mutex> lock(g_owned_mutex);
  g_owned.insert(p);
}

bool owned_by_a_graph(void* p) {
  std::lock_guard<std::mutex> lock(g_owned_mutex);
  return g_owned.count(p) != 0;
}

}  // namespace capture

}  // namespace simt
