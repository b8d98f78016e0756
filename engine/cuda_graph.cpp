// StreamGraph (see cuda_graph.h): a GPU's CUDA graph or the simt device's recording.
#include "engine/cuda_graph.h"

#include "engine/error.h"
#if defined(SRENGINE_WITH_SIMT)
#include "kernels/simt/graph.h"
#endif

namespace sr {

struct StreamGraph::SimtGraph {
#if defined(SRENGINE_WITH_SIMT)
  std::unique_ptr<::simt::Graph> graph;
#endif
};

bool stream_capturing(Device device) {
#if defined(SRENGINE_WITH_SIMT)
  if (device.is_simt()) return ::simt::capturing();
#endif
#if defined(SRENGINE_WITH_CUDA)
  if (device.is_cuda()) return cuda::stream_capture_active();
#endif
  (void)device;
  return false;
}

StreamGraph::StreamGraph(Device device) : device_(device) {
  SR_CHECK(device.is_cuda() || device.is_simt(), "a CUDA graph needs a GPU or the simt device, not ", device.str());
#if !defined(SRENGINE_WITH_CUDA)
  SR_CHECK(!device.is_cuda(), "a CUDA graph on ", device.str(), ": srengine was built without CUDA");
#endif
#if !defined(SRENGINE_WITH_SIMT)
  SR_CHECK(!device.is_simt(), "a CUDA graph on simt: srengine was built without the SIMT interpreter");
#endif
}

StreamGraph::~StreamGraph() {
#if defined(SRENGINE_WITH_CUDA)
  cuda::graph_destroy(exec_);
#endif
#if defined(SRENGINE_WITH_SIMT)
  if (open_ && device_.is_simt()) ::simt::end_capture();  // an abandoned capture (an error inside it)
#endif
}

void StreamGraph::begin_capture() {
  SR_CHECK(!open_ && !ready_, "CUDA graph on ", device_.str(), ": begin_capture on a graph that ",
           open_ ? "is capturing" : "was captured");
  if (device_.is_simt()) {
#if defined(SRENGINE_WITH_SIMT)
    ::simt::begin_capture();
#endif
  } else {
#if defined(SRENGINE_WITH_CUDA)
    cuda::stream_capture_begin();
#endif
  }
  open_ = true;
}

void StreamGraph::end_capture() {
  SR_CHECK(open_, "CUDA graph on ", device_.str(), ": end_capture without begin_capture");
  open_ = false;
  if (device_.is_simt()) {
#if defined(SRENGINE_WITH_SIMT)
    simt_ = std::make_unique<SimtGraph>();
    simt_->graph = ::simt::end_capture();
#endif
  } else {
#if defined(SRENGINE_WITH_CUDA)
    exec_ = cuda::stream_capture_end();
#endif
  }
  ready_ = true;
}

void StreamGraph::replay() {
  SR_CHECK(ready_, "CUDA graph on ", device_.str(), ": replay before end_capture");
  if (device_.is_simt()) {
#if defined(SRENGINE_WITH_SIMT)
    simt_->graph->replay();
#endif
  } else {
#if defined(SRENGINE_WITH_CUDA)
    cuda::graph_launch(exec_);
#endif
  }
}

}  // namespace sr
