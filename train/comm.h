// One communicator interface for data parallelism: rank, world size, local rank,
// all-reduce (sum / average), broadcast, barrier, abort. Implementations:
//   - single: world size 1; every collective is the identity (the same code path runs);
//   - mpi:    Open MPI on host buffers (Debian's Open MPI is not CUDA-aware, so CUDA
//             tensors are staged through the host); used on CPUs and in CI;
//   - nccl:   NCCL on device buffers (ncclUniqueId broadcast over MPI, ncclCommInitRank,
//             ncclAvg), collectives on a separate stream ordered by events.
// Processes are started by `mpirun -np N srengine ...`; rank and local rank come from
// Open MPI's environment (OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace sr::train {

struct LaunchInfo {
  int rank = 0, world_size = 1, local_rank = 0;
  bool under_mpirun = false;
};
LaunchInfo detect_launch();

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::string backend() const = 0;
  int rank() const { return info_.rank; }
  int world_size() const { return info_.world_size; }
  int local_rank() const { return info_.local_rank; }

  // In place over a contiguous tensor; `average` divides the sum by the world size.
  virtual void all_reduce(Tensor& t, bool average) = 0;
  // Starts an all-reduce that completes at wait_all() (gradient buckets).
  virtual void all_reduce_async(Tensor& t, bool average) { all_reduce(t, average); }
  virtual void wait_all() {}
  virtual void broadcast(Tensor& t, int root) = 0;
  // Sums host doubles across ranks (loss logging, agreeing on a NaN skip).
  virtual void all_reduce_host(std::vector<double>& values) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with a non-zero status after printing `message`.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

 protected:
  LaunchInfo info_;
};

// backend: "auto" (nccl for CUDA devices, mpi on CPUs, single when not under mpirun),
// "mpi" or "nccl". Under mpirun without MPI support compiled in, an error says so.
std::unique_ptr<Communicator> make_communicator(const std::string& backend, Device device);

}  // namespace sr::train
