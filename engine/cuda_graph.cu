// CUDA graphs for StreamGraph (see cuda_graph.h): capture on the calling thread's per-thread
// stream, instantiate, launch. Memory the captured work allocates from the stream-ordered
// pool becomes the graph's (memory nodes); AutoFreeOnLaunch frees what a replay allocated
// and nobody freed before the next replay.
#include "engine/cuda_check.h"
#include "engine/cuda_graph.h"

namespace sr::cuda {

bool stream_capture_active() {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  CUDA_CHECK(cudaStreamIsCapturing(cudaStreamPerThread, &status));
  return status == cudaStreamCaptureStatusActive;
}

void stream_capture_begin() {
  // Thread-local mode: another thread's unsafe calls (a loader's cudaMalloc) do not break it.
  CUDA_CHECK(cudaStreamBeginCapture(cudaStreamPerThread, cudaStreamCaptureModeThreadLocal));
}

void* stream_capture_end() {
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamEndCapture(cudaStreamPerThread, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiateWithFlags(&exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch);
  (void)cudaGraphDestroy(graph);  // the executable graph keeps what it needs
  CUDA_CHECK(err);
  return exec;
}

void graph_launch(void* exec) {
  CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec), cudaStreamPerThread));
}

void graph_destroy(void* exec) noexcept {
  if (exec) (void)cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec));  // no throw in teardown
}

}  // namespace sr::cuda
