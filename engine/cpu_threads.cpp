// CPU thread plan (see cpu_threads.h).
#include "engine/cpu_threads.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace sr {

namespace {

int env_positive(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == 0 && n > 0 && n < 1 << 20 ? (int)n : 0;
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

CpuThreadPlan plan_cpu_threads() {
  CpuThreadPlan p;
  p.cores = usable_cores();
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    if (const int n = env_positive(name)) {
      p.local_ranks = n;
      break;
    }
  }
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env && *env) {  // also "4,2" (nested levels): OpenMP has parsed it
    p.threads = omp_get_max_threads();
    p.from_env = true;
  } else {
    p.threads = std::max(1, p.cores / p.local_ranks);
  }
  return p;
}

CpuThreadPlan configure_cpu_threads() {
  const CpuThreadPlan p = plan_cpu_threads();
  if (!p.from_env) omp_set_num_threads(p.threads);
  return p;
}

}  // namespace sr
