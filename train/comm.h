// One communicator interface for data parallelism: rank, world size, local rank,
// all-reduce (sum / average), broadcast, barrier, abort. Implementations:
//   - single: world size 1; every collective is the identity (the same code path runs);
//   - mpi:    Open MPI on host buffers (Debian's Open MPI is not CUDA-aware, so CUDA
//             tensors are staged through the host); used on CPUs and in CI;
//   - nccl:   NCCL on device buffers (ncclUniqueId broadcast over MPI, ncclCommInitRank,
//             ncclAvg), collectives on a separate stream ordered by events.
// Processes are started by `mpirun -np N srengine ...` (or srun, or a Hydra mpiexec); rank and
// local rank come from the launcher's environment (detect_launch).
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/tensor.h"

namespace sr::train {

struct LaunchInfo {
  int rank = 0, world_size = 1, local_rank = 0;
  bool under_mpirun = false;  // started by an MPI launcher (any of the three below)
  std::string launcher;       // mpirun (Open MPI), mpiexec (MPICH / Intel MPI Hydra) or srun (Slurm)
  std::string variables;      // the launcher's size and rank variables as read, for messages
};
// The launcher's environment: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE / _RANK / _LOCAL_RANK),
// a Hydra mpiexec (PMI_SIZE / PMI_RANK / MPI_LOCALRANKID), Slurm's srun with pmi2 (PMI_SIZE /
// PMI_RANK and SLURM_LOCALID, the step's task count equal to PMI_SIZE) or srun otherwise
// (SLURM_STEP_NUM_TASKS / SLURM_PROCID / SLURM_LOCALID), in that order; one srun task is a
// plain process. MPI_Init must then agree with it (the MPI communicator refuses a world of one
// where the launcher said n).
LaunchInfo detect_launch();
#ifdef SRENGINE_WITH_MPI
// After MPI_Init: MPI's rank and size are the launcher's, else an error naming the launcher,
// its variables and how to start the job so that they agree.
void check_launch_matches_mpi(const LaunchInfo& info, int rank, int size);
#endif
// torchrun (torch.distributed.launch) starts N copies of a program with RANK, WORLD_SIZE and
// LOCAL_RANK set and expects each to join a PyTorch process group. srengine reads only
// mpirun's environment, so each copy would train alone, N runs aiming at one folder: a
// process not started by mpirun whose environment says it is one of several is an error
// naming the variables and the mpirun command to use instead.
void check_not_torchrun_launched(const LaunchInfo& info);

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
  // Host doubles from `root` to every rank (the replica check's hashes; NCCL's
  // broadcast takes device tensors only).
  virtual void broadcast_host(std::vector<double>& values, int root) = 0;
  virtual void barrier() = 0;
  // A barrier exempt from the timeout: where the other ranks wait for work only rank 0
  // does (validation, checkpoint files), which may legitimately take long.
  virtual void barrier_untimed() { barrier(); }
  // dist.timeout_s: a collective that waits longer ends the job (see CollectiveWatchdog).
  virtual void set_timeout(double seconds) {}
  // Ends every rank of the job with a non-zero status after printing `message`.
  [[noreturn]] virtual void abort(const std::string& message) = 0;

 protected:
  LaunchInfo info_;
};

// Ends this process when one collective waits longer than the timeout, so that a rank
// stuck outside a collective (a dead rank is handled by mpirun, which ends the job) does
// not leave the others waiting forever. A thread checks once a second; it prints which
// rank waited in which operation, calls `on_timeout` (NCCL: ncclCommAbort) and exits
// with status 1, upon which mpirun ends the other ranks. It is a separate thread because
// the waiting one is blocked inside MPI or CUDA.
class CollectiveWatchdog {
 public:
  CollectiveWatchdog(int rank, std::function<void()> on_timeout = {});
  ~CollectiveWatchdog();  // stop()
  void set_timeout(double seconds);  // <= 0: off (the default)
  // A blocking wait begins; it ends at disarm().
  void arm(const char* op);
  void disarm();
  // An asynchronous wait begins (NCCL collectives complete on a stream after the host
  // has moved on): it ends once `done`, polled by the watchdog thread, returns true. It
  // has its own slot, so blocking waits armed meanwhile do not cancel it.
  void arm_async(const char* op, std::function<bool()> done);
  // Ends the watchdog thread (idempotent): owners call it before freeing what
  // on_timeout or a `done` poll touches.
  void stop();

 private:
  struct Slot {
    bool armed = false;
    const char* op = "";
    std::chrono::steady_clock::time_point since;
  };
  void loop();
  int rank_;
  std::function<void()> on_timeout_;
  double timeout_s_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Slot blocking_, async_;
  std::function<bool()> done_;  // the async slot's poll
  std::thread thread_;
};

// RAII arm/disarm around one blocking call.
struct TimedWait {
  TimedWait(CollectiveWatchdog& w, const char* op) : w_(w) { w_.arm(op); }
  ~TimedWait() { w_.disarm(); }
  CollectiveWatchdog& w_;
};

// backend: "auto" (nccl for CUDA devices, mpi on CPUs, single when not under mpirun),
// "mpi" or "nccl". Under mpirun without MPI support compiled in, an error says so.
std::unique_ptr<Communicator> make_communicator(const std::string& backend, Device device);

}  // namespace sr::train
