// NCCL communicator (see comm.h): the unique id travels over MPI, each rank drives GPU
// `local_rank`, collectives run on their own stream, ordered after the compute stream
// by an event and waited on (by the compute stream, not the host) in wait_all().
#if defined(SRENGINE_WITH_NCCL) && defined(SRENGINE_WITH_MPI)
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include <cstdio>
#include <cstdlib>

#include "engine/cuda_check.h"
#include "engine/error.h"
#include "train/comm.h"

#define NCCL_CHECK(call)                                                                          \
  do {                                                                                            \
    ncclResult_t r_ = (call);                                                                     \
    if (r_ != ncclSuccess)                                                                        \
      ::sr::fail("NCCL error: ", #call, " failed with ", ncclGetErrorString(r_), " at ", __FILE__, \
                 ":", __LINE__);                                                                  \
  } while (0)

namespace sr::train {

namespace {

class NcclCommunicator : public Communicator {
 public:
  // On a timeout the watchdog aborts the NCCL communicator, which releases kernels
  // stuck waiting for a peer, before the process exits.
  explicit NcclCommunicator(const LaunchInfo& info)
      : watchdog_(info.rank, [this] {
          if (comm_) ncclCommAbort(comm_);
        }) {
    info_ = info;
    int rank = 0, size = 1;
    if (MPI_Comm_rank(MPI_COMM_WORLD, &rank) != MPI_SUCCESS || MPI_Comm_size(MPI_COMM_WORLD, &size) != MPI_SUCCESS)
      fail("rank ", info.rank, ": MPI_Comm_rank/MPI_Comm_size failed");
    info_.rank = rank;
    info_.world_size = size;
    CUDA_CHECK(cudaSetDevice(info_.local_rank));
    ncclUniqueId id;
    if (rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
      fail("rank ", rank, ": MPI_Bcast of the NCCL unique id failed");
    NCCL_CHECK(ncclCommInitRank(&comm_, size, id, rank));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
    if (stream_) cudaStreamDestroy(stream_);
    if (ready_) cudaEventDestroy(ready_);
    if (done_) cudaEventDestroy(done_);
  }
  std::string backend() const override { return "nccl"; }
  void set_timeout(double seconds) override {
    if (info_.world_size > 1) watchdog_.set_timeout(seconds);
  }

  void all_reduce(Tensor& t, bool average) override {
    all_reduce_async(t, average);
    wait_all();
  }

  void all_reduce_async(Tensor& t, bool average) override {
    SR_CHECK(t.is_cuda() && t.is_contiguous() && t.dtype() == DType::f32,
             "NCCL all_reduce: expected a contiguous float32 CUDA tensor, got ", t.str());
    // The collective must see the gradients the compute stream has written so far.
    CUDA_CHECK(cudaEventRecord(ready_, cudaStreamPerThread));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    NCCL_CHECK(ncclAllReduce(t.raw_data(), t.raw_data(), (size_t)t.numel(), ncclFloat,
                             average ? ncclAvg : ncclSum, comm_, stream_));
    launched_ = true;
  }

  void wait_all() override {
    if (!launched_) return;
    CUDA_CHECK(cudaEventRecord(done_, stream_));
    CUDA_CHECK(cudaStreamWaitEvent(cudaStreamPerThread, done_, 0));
    launched_ = false;
    // The host does not wait here; the watchdog polls the event instead (from its own
    // thread, hence the cudaSetDevice).
    const int device = info_.local_rank;
    cudaEvent_t done = done_;
    watchdog_.arm("ncclAllReduce (gradient buckets)", [device, done] {
      cudaSetDevice(device);
      return cudaEventQuery(done) != cudaErrorNotReady;
    });
  }

  void broadcast(Tensor& t, int root) override {
    SR_CHECK(t.is_cuda() && t.is_contiguous() && t.dtype() == DType::f32,
             "NCCL broadcast: expected a contiguous float32 CUDA tensor, got ", t.str());
    CUDA_CHECK(cudaEventRecord(ready_, cudaStreamPerThread));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    NCCL_CHECK(ncclBroadcast(t.raw_data(), t.raw_data(), (size_t)t.numel(), ncclFloat, root, comm_, stream_));
    TimedWait timed(watchdog_, "ncclBroadcast");
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void all_reduce_host(std::vector<double>& values) override {
    TimedWait timed(watchdog_, "MPI_Allreduce (host values)");
    if (MPI_Allreduce(MPI_IN_PLACE, values.data(), (int)values.size(), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
      fail("rank ", info_.rank, ": MPI_Allreduce of host values failed");
  }

  void broadcast_host(std::vector<double>& values, int root) override {
    TimedWait timed(watchdog_, "MPI_Bcast (host values)");
    if (MPI_Bcast(values.data(), (int)values.size(), MPI_DOUBLE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
      fail("rank ", info_.rank, ": MPI_Bcast of host values failed");
  }

  void barrier() override {
    TimedWait timed(watchdog_, "MPI_Barrier");
    barrier_untimed();
  }
  void barrier_untimed() override {
    if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS) fail("rank ", info_.rank, ": MPI_Barrier failed");
  }

  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "rank %d: %s\n", info_.rank, message.c_str());
    std::fflush(stderr);
    if (comm_) ncclCommAbort(comm_), comm_ = nullptr;
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

 private:
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  bool launched_ = false;
  CollectiveWatchdog watchdog_;  // last: its thread stops before the rest is destroyed
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const LaunchInfo& info) {
  return std::make_unique<NcclCommunicator>(info);
}

}  // namespace sr::train
#endif
