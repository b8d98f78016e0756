// NCCL communicator (see comm.h): the unique id travels over MPI, each rank drives the
// GPU its tensors live on (the trainer's device for this local rank), collectives run on
// their own stream, ordered after the compute stream by an event and waited on (by the
// compute stream, not the host) in wait_all().
//
// Without mpirun (dist.backend=nccl in a plain process) the communicator has one rank: the
// unique id is made in process, ncclCommInitRank(1 rank) builds a real communicator, and
// the collectives go through NCCL's kernels (ncclAvg over one rank is a copy) while the
// host-side collectives are identities. That is how one GPU checks the NCCL path.
#if defined(SRENGINE_WITH_NCCL)
#include <cuda_runtime.h>
#include <nccl.h>
#ifdef SRENGINE_WITH_MPI
#include <mpi.h>
#endif

#include <atomic>
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
  NcclCommunicator(const LaunchInfo& info, int cuda_device)
      : device_(cuda_device), watchdog_(info.rank, [this] { abort_comm(); }) {
    info_ = info;
    int rank = 0, size = 1;
#ifdef SRENGINE_WITH_MPI
    use_mpi_ = info.under_mpirun;
    if (use_mpi_ &&
        (MPI_Comm_rank(MPI_COMM_WORLD, &rank) != MPI_SUCCESS || MPI_Comm_size(MPI_COMM_WORLD, &size) != MPI_SUCCESS))
      fail("rank ", info.rank, ": MPI_Comm_rank/MPI_Comm_size failed");
    if (use_mpi_) check_launch_matches_mpi(info, rank, size);
#else
    SR_CHECK(!info.under_mpirun, "NCCL under mpirun needs srengine built with MPI (libopenmpi-dev)");
#endif
    info_.rank = rank;
    info_.world_size = size;
    CUDA_CHECK(cudaSetDevice(device_));
    ncclUniqueId id;
    if (rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
#ifdef SRENGINE_WITH_MPI
    if (use_mpi_ && MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
      fail("rank ", rank, ": MPI_Bcast of the NCCL unique id failed");
#endif
    ncclComm_t comm = nullptr;
    NCCL_CHECK(ncclCommInitRank(&comm, size, id, rank));
    comm_.store(comm);
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }
  // The watchdog thread polls done_ and may abort comm_: it stops first. A destructor
  // cannot throw, so failures are reported and teardown goes on.
  ~NcclCommunicator() override {
    watchdog_.stop();
    if (ncclComm_t c = comm_.exchange(nullptr)) report(ncclCommDestroy(c) == ncclSuccess, "ncclCommDestroy");
    if (stream_) report(cudaStreamDestroy(stream_) == cudaSuccess, "cudaStreamDestroy");
    if (ready_) report(cudaEventDestroy(ready_) == cudaSuccess, "cudaEventDestroy");
    if (done_) report(cudaEventDestroy(done_) == cudaSuccess, "cudaEventDestroy");
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
                             average ? ncclAvg : ncclSum, comm_.load(), stream_));
    launched_ = true;
  }

  void wait_all() override {
    if (!launched_) return;
    CUDA_CHECK(cudaEventRecord(done_, stream_));
    CUDA_CHECK(cudaStreamWaitEvent(cudaStreamPerThread, done_, 0));
    launched_ = false;
    // The host does not wait here; the watchdog polls the event instead (from its own
    // thread, hence the cudaSetDevice). A query error is not completion: it keeps the
    // wait armed, so a broken device ends in the timeout's message rather than silence.
    const int device = device_;
    cudaEvent_t done = done_;
    watchdog_.arm_async("ncclAllReduce (gradient buckets)", [device, done] {
      if (cudaSetDevice(device) != cudaSuccess) return false;
      const cudaError_t e = cudaEventQuery(done);
      if (e != cudaSuccess && e != cudaErrorNotReady) (void)cudaGetLastError();
      return e == cudaSuccess;
    });
  }

  void broadcast(Tensor& t, int root) override {
    SR_CHECK(t.is_cuda() && t.is_contiguous() && t.dtype() == DType::f32,
             "NCCL broadcast: expected a contiguous float32 CUDA tensor, got ", t.str());
    CUDA_CHECK(cudaEventRecord(ready_, cudaStreamPerThread));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    NCCL_CHECK(ncclBroadcast(t.raw_data(), t.raw_data(), (size_t)t.numel(), ncclFloat, root, comm_.load(), stream_));
    TimedWait timed(watchdog_, "ncclBroadcast");
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  // Host-side values: over MPI between ranks; with one rank (no mpirun) the identity.
  void all_reduce_host(std::vector<double>& values) override {
#ifdef SRENGINE_WITH_MPI
    if (!use_mpi_) return;
    TimedWait timed(watchdog_, "MPI_Allreduce (host values)");
    if (MPI_Allreduce(MPI_IN_PLACE, values.data(), (int)values.size(), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
      fail("rank ", info_.rank, ": MPI_Allreduce of host values failed");
#endif
  }

  void broadcast_host(std::vector<double>& values, int root) override {
#ifdef SRENGINE_WITH_MPI
    if (!use_mpi_) return;
    TimedWait timed(watchdog_, "MPI_Bcast (host values)");
    if (MPI_Bcast(values.data(), (int)values.size(), MPI_DOUBLE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
      fail("rank ", info_.rank, ": MPI_Bcast of host values failed");
#endif
  }

  void barrier() override {
    TimedWait timed(watchdog_, "MPI_Barrier");
    barrier_untimed();
  }
  void barrier_untimed() override {
#ifdef SRENGINE_WITH_MPI
    if (use_mpi_ && MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS) fail("rank ", info_.rank, ": MPI_Barrier failed");
#endif
  }

  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "rank %d: %s\n", info_.rank, message.c_str());
    std::fflush(stderr);
    abort_comm();
#ifdef SRENGINE_WITH_MPI
    if (use_mpi_) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
    std::_Exit(1);
  }

 private:
  // Main thread (abort) and watchdog thread (timeout) may both get here: exactly one
  // aborts the communicator, which releases kernels stuck waiting for a peer.
  void abort_comm() {
    if (ncclComm_t c = comm_.exchange(nullptr)) ncclCommAbort(c);
  }
  static void report(bool ok, const char* call) {
    if (!ok) std::fprintf(stderr, "warning: %s failed while tearing down the NCCL communicator\n", call);
  }

  int device_;
  std::atomic<ncclComm_t> comm_{nullptr};
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  bool launched_ = false;
  bool use_mpi_ = false;  // false: one rank, no mpirun, host collectives are identities
  CollectiveWatchdog watchdog_;  // stopped first thing in the destructor
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(const LaunchInfo& info, int cuda_device) {
  return std::make_unique<NcclCommunicator>(info, cuda_device);
}

}  // namespace sr::train
#endif
