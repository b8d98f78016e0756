// Communicator implementations: single process and MPI (see comm.h); NCCL lives in
// comm_nccl.cpp.
#include "train/comm.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <tuple>

#include "engine/error.h"
#include "engine/ops.h"

#ifdef SRENGINE_WITH_MPI
#include <mpi.h>
#endif

namespace sr::train {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

class SingleCommunicator : public Communicator {
 public:
  SingleCommunicator() { info_ = LaunchInfo{}; }
  std::string backend() const override { return "single"; }
  void all_reduce(Tensor&, bool) override {}
  void broadcast(Tensor&, int) override {}
  void all_reduce_host(std::vector<double>&) override {}
  void broadcast_host(std::vector<double>&, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }
};

}  // namespace

CollectiveWatchdog::CollectiveWatchdog(int rank, std::function<void()> on_timeout)
    : rank_(rank), on_timeout_(std::move(on_timeout)) {}

CollectiveWatchdog::~CollectiveWatchdog() { stop(); }

void CollectiveWatchdog::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CollectiveWatchdog::set_timeout(double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  timeout_s_ = seconds;
  if (seconds > 0 && !thread_.joinable()) thread_ = std::thread([this] { loop(); });
}

void CollectiveWatchdog::arm(const char* op) {
  std::lock_guard<std::mutex> lk(mu_);
  blocking_ = {true, op, std::chrono::steady_clock::now()};
}

void CollectiveWatchdog::disarm() {
  std::lock_guard<std::mutex> lk(mu_);
  blocking_.armed = false;
}

void CollectiveWatchdog::arm_async(const char* op, std::function<bool()> done) {
  std::lock_guard<std::mutex> lk(mu_);
  async_ = {true, op, std::chrono::steady_clock::now()};
  done_ = std::move(done);
}

void CollectiveWatchdog::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::seconds(1));
    if (stop_ || timeout_s_ <= 0) continue;
    if (async_.armed && done_()) {
      async_.armed = false;
      done_ = nullptr;
    }
    const auto now = std::chrono::steady_clock::now();
    for (const Slot* s : {&blocking_, &async_}) {
      if (!s->armed) continue;
      const double waited = std::chrono::duration<double>(now - s->since).count();
      if (waited <= timeout_s_) continue;
      std::fprintf(stderr,
                   "rank %d: %s has waited %.0f s for the other ranks (dist.timeout_s = %g): a rank is stuck; "
                   "ending the job\n",
                   rank_, s->op, waited, timeout_s_);
      std::fflush(stderr);
      if (on_timeout_) on_timeout_();
      std::_Exit(1);  // mpirun ends the other ranks when one exits non-zero
    }
  }
}

LaunchInfo detect_launch() {
  LaunchInfo info;
  auto set = [&](const char* launcher, const char* size, const char* rank, int local_rank) {
    info.under_mpirun = true;
    info.launcher = launcher;
    info.world_size = env_int(size, 1);
    info.rank = env_int(rank, 0);
    info.local_rank = local_rank;
    info.variables = str_cat(size, "=", info.world_size, ", ", rank, "=", info.rank);
  };
  const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS");  // set by srun for its step's tasks
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) {
    // Open MPI's mpirun first: run inside a Slurm allocation or step it leaves SLURM_* behind.
    set("mpirun", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0));
  } else if (std::getenv("PMI_SIZE")) {
    // PMI_* come from a Hydra mpiexec (MPICH, Intel MPI), which sets MPI_LOCALRANKID, or from
    // srun --mpi=pmi2, which does not (its step has as many tasks as PMI ranks, and
    // SLURM_LOCALID is the rank on the node). A Hydra job under Slurm runs its proxies as an
    // srun step of one task per node, so the task counts tell the two apart.
    const bool srun = step_tasks && env_int("SLURM_STEP_NUM_TASKS", 0) == env_int("PMI_SIZE", 0);
    set(srun ? "srun" : "mpiexec", "PMI_SIZE", "PMI_RANK",
        std::getenv("MPI_LOCALRANKID") ? env_int("MPI_LOCALRANKID", 0) : srun ? env_int("SLURM_LOCALID", 0) : 0);
  } else if (step_tasks) {
    set("srun", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID", env_int("SLURM_LOCALID", 0));
  }
  // One srun task (srun --pty bash, srun -n 1) is a plain process: single, as without srun.
  if (info.launcher == "srun" && info.world_size == 1) info = LaunchInfo{};
  return info;
}

void check_not_torchrun_launched(const LaunchInfo& info) {
  // mpirun and mpiexec own their processes. srun's tasks may run torchrun (srun torchrun ...),
  // whose children carry srun's variables too: there RANK, WORLD_SIZE and LOCAL_RANK count
  // only where they differ from srun's own (a cluster profile may export RANK=$SLURM_PROCID).
  if (info.under_mpirun && info.launcher != "srun") return;
  const bool srun = info.launcher == "srun";
  std::string set;
  for (const auto& [name, single, own] : {std::tuple{"RANK", "0", info.rank}, {"WORLD_SIZE", "1", info.world_size},
                                          {"LOCAL_RANK", "0", info.local_rank}}) {
    const char* v = std::getenv(name);
    const std::string expected = srun ? std::to_string(own) : single;
    if (v && *v && expected != v) set += std::string(set.empty() ? "" : " ") + name + "=" + v;
  }
  if (set.empty()) return;
  const char* world = std::getenv("WORLD_SIZE");
  fail("the environment sets ", set, ", as torchrun does, but ",
       srun ? "srun started this process as rank " + std::to_string(info.rank) + " of " +
                  std::to_string(info.world_size)
            : std::string("this process was not started by mpirun"),
       ": srengine does not join a PyTorch process group, so each process would train alone, all into one "
       "experiment folder. Start one process per GPU with `mpirun -np ", world && *world ? world : "N",
       " srengine train CFG` or `srun -n N srengine train CFG` (docs/DISTRIBUTED.md), or unset RANK, WORLD_SIZE "
       "and LOCAL_RANK to train in one process");
}

#ifdef SRENGINE_WITH_MPI

#define MPI_CHECK(call)                                                                \
  do {                                                                                 \
    int rc_ = (call);                                                                  \
    if (rc_ != MPI_SUCCESS) {                                                          \
      char msg_[MPI_MAX_ERROR_STRING];                                                 \
      int len_ = 0;                                                                    \
      MPI_Error_string(rc_, msg_, &len_);                                              \
      ::sr::fail("MPI error: ", #call, " failed with ", std::string(msg_, len_), " at ", \
                 __FILE__, ":", __LINE__);                                             \
    }                                                                                  \
  } while (0)

// The launcher said this process is rank r of n; MPI_Init must agree. It does not when the
// MPI library cannot talk to the launcher (an Open MPI without Slurm's PMI started by srun,
// an MPICH mpiexec running an Open MPI build): every process then initialises as a
// singleton, a world of 1, and would train alone into the same experiment folder.
void check_launch_matches_mpi(const LaunchInfo& info, int rank, int size) {
  if (size == info.world_size && rank == info.rank) return;
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string library(version, std::min<size_t>(std::strlen(version), std::string(version).find_first_of(",\n")));
  fail(info.launcher, " started this process as rank ", info.rank, " of ", info.world_size, " (", info.variables,
       "), but MPI sees rank ", rank, " of ", size, ": the MPI library srengine is built with (", library,
       ") cannot reach this launcher, so every process would train alone. ",
       info.launcher == "srun" ? "Under Slurm start it with `srun --mpi=pmix` (or pmi2; `srun --mpi=list` shows "
                                 "what the cluster has), or run `mpirun -np N srengine ...` inside the allocation"
                               : "Start it with the mpirun of the MPI srengine is built with (Open MPI's: mpirun -np N)");
}

// MPI is initialised once per process and finalised at exit.
void ensure_mpi_initialized() {
  int initialized = 0;
  MPI_CHECK(MPI_Initialized(&initialized));
  if (initialized) return;
  // FUNNELED: only the main thread calls MPI (the watchdog thread never does; a timeout
  // ends the process with _Exit and mpirun ends the others).
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
  SR_CHECK(provided >= MPI_THREAD_FUNNELED, "MPI: the library provides thread level ", provided,
           ", srengine needs MPI_THREAD_FUNNELED (loader and OpenMP threads run beside the main thread)");
  // Errors come back as codes (and become sr::Error) instead of killing the job silently.
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  std::atexit([] {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  });
}

namespace {

// Waits for `req` without spinning a core. Open MPI's MPI_Wait and blocking collectives
// busy-poll, so a rank waiting for the others (for their gradients, or for minutes at
// barrier_untimed while rank 0 validates) would take a core from the very rank it waits
// for whenever ranks share cores. MPI_Test drives the progress; between tests the thread
// sleeps, 10 us doubling up to `max_sleep`, which bounds the added latency.
void wait_without_spinning(MPI_Request* req, std::chrono::microseconds max_sleep) {
  auto sleep = std::chrono::microseconds(10);
  for (;;) {
    int done = 0;
    MPI_CHECK(MPI_Test(req, &done, MPI_STATUS_IGNORE));
    if (done) return;
    std::this_thread::sleep_for(sleep);
    sleep = std::min(max_sleep, sleep * 2);
  }
}

constexpr std::chrono::microseconds kGradientPoll{100}, kHostPoll{1000};

MPI_Datatype mpi_type(const Tensor& t) {
  SR_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, "MPI: unsupported dtype ", t.str());
  return t.dtype() == DType::f32 ? MPI_FLOAT : MPI_DOUBLE;
}

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(const LaunchInfo& info) : watchdog_(info.rank) {
    ensure_mpi_initialized();
    info_ = info;
    int rank = 0, size = 1;
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
    check_launch_matches_mpi(info, rank, size);
    info_.rank = rank;
    info_.world_size = size;
  }
  void set_timeout(double seconds) override {
    if (info_.world_size > 1) watchdog_.set_timeout(seconds);
  }
  std::string backend() const override { return "mpi"; }

  void all_reduce(Tensor& t, bool average) override {
    all_reduce_async(t, average);
    wait_all();
  }

  // Host tensors reduce in place with MPI_Iallreduce; CUDA tensors go through a host copy.
  void all_reduce_async(Tensor& t, bool average) override {
    SR_CHECK(t.is_contiguous(), "all_reduce: tensor ", t.str(), " must be contiguous");
    Pending p{t, !t.device().is_cpu() ? t.to(Device::cpu()) : t, average, MPI_REQUEST_NULL};
    MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, p.host.raw_data(), (int)p.host.numel(), mpi_type(p.host), MPI_SUM,
                             MPI_COMM_WORLD, &p.request));
    pending_.push_back(std::move(p));
  }

  void wait_all() override {
    TimedWait timed(watchdog_, "MPI_Wait (gradient all-reduce)");
    for (Pending& p : pending_) {
      wait_without_spinning(&p.request, kGradientPoll);
      if (p.average && info_.world_size > 1) scale_(p.host, 1.0 / info_.world_size);
      if (!p.target.device().is_cpu()) p.target.copy_(p.host);
    }
    pending_.clear();
  }

  void broadcast(Tensor& t, int root) override {
    SR_CHECK(t.is_contiguous(), "broadcast: tensor ", t.str(), " must be contiguous");
    Tensor host = !t.device().is_cpu() ? t.to(Device::cpu()) : t;
    TimedWait timed(watchdog_, "MPI_Bcast");
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Ibcast(host.raw_data(), (int)host.numel(), mpi_type(host), root, MPI_COMM_WORLD, &req));
    wait_without_spinning(&req, kHostPoll);
    if (!t.device().is_cpu()) t.copy_(host);
  }

  void all_reduce_host(std::vector<double>& values) override {
    TimedWait timed(watchdog_, "MPI_Allreduce (host values)");
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, values.data(), (int)values.size(), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD,
                             &req));
    wait_without_spinning(&req, kHostPoll);
  }

  void broadcast_host(std::vector<double>& values, int root) override {
    TimedWait timed(watchdog_, "MPI_Bcast (host values)");
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Ibcast(values.data(), (int)values.size(), MPI_DOUBLE, root, MPI_COMM_WORLD, &req));
    wait_without_spinning(&req, kHostPoll);
  }

  void barrier() override {
    TimedWait timed(watchdog_, "MPI_Barrier");
    barrier_untimed();
  }
  void barrier_untimed() override {
    MPI_Request req = MPI_REQUEST_NULL;
    MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &req));
    wait_without_spinning(&req, kHostPoll);
  }

  [[noreturn]] void abort(const std::string& message) override {
    std::fprintf(stderr, "rank %d: %s\n", info_.rank, message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }

 private:
  struct Pending {
    Tensor target, host;
    bool average;
    MPI_Request request;
  };
  std::vector<Pending> pending_;
  CollectiveWatchdog watchdog_;  // last: its thread stops before the rest is destroyed
};

}  // namespace

#endif  // SRENGINE_WITH_MPI

#ifdef SRENGINE_WITH_NCCL
std::unique_ptr<Communicator> make_nccl_communicator(const LaunchInfo& info, int cuda_device);
#endif

std::unique_ptr<Communicator> make_communicator(const std::string& backend, Device device) {
  const LaunchInfo info = detect_launch();
  SR_CHECK(backend == "auto" || backend == "mpi" || backend == "nccl", "dist.backend: expected auto, mpi or nccl, got '",
           backend, "'");
  if (!info.under_mpirun) {
    SR_CHECK(backend != "nccl" || device.is_cuda(), "dist.backend: nccl needs a CUDA device, got ", device.str());
    // An explicit nccl without mpirun: a one-rank NCCL communicator (bootstrapped in
    // process), so the NCCL path runs on a single GPU; auto stays single-process.
    if (backend == "nccl") {
#ifdef SRENGINE_WITH_NCCL
      return make_nccl_communicator(info, device.index);
#else
      fail("dist.backend: nccl requested (device ", device.str(),
           ") but srengine was built without NCCL (install NCCL or set NCCL_ROOT, and rebuild)");
#endif
    }
    return std::make_unique<SingleCommunicator>();
  }
#ifndef SRENGINE_WITH_MPI
  fail("started by ", info.launcher, " (", info.world_size, " ranks) but srengine was built without MPI: install "
       "libopenmpi-dev (tools/setup.sh) and rebuild");
#else
  SR_CHECK(backend != "nccl" || device.is_cuda(), "dist.backend: nccl needs a CUDA device, got ", device.str());
  const bool nccl = backend == "nccl" || (backend == "auto" && device.is_cuda());
  if (nccl) {
#ifdef SRENGINE_WITH_NCCL
    ensure_mpi_initialized();
    return make_nccl_communicator(info, device.index);
#else
    SR_CHECK(backend == "auto", "dist.backend: nccl requested (device ", device.str(),
             ") but srengine was built without NCCL (install libnccl-dev and rebuild, or use dist.backend=mpi)");
    // auto on a GPU without NCCL still trains, with MPI through host copies (slower).
    if (info.rank == 0)
      std::fprintf(stderr, "warning: srengine was built without NCCL; gradients on %s are all-reduced by MPI "
                           "through host memory\n", device.str().c_str());
#endif
  }
  return std::make_unique<MpiCommunicator>(info);
#endif
}

}  // namespace sr::train
