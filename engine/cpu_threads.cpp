// CPU thread plan (see cpu_threads.h).
#include "engine/cpu_threads.h"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

int slurm_tasks_on_node(const std::string& tasks_per_node, int node) {
  // "2(x3),1": counts per node in node order, "c(xr)" repeating c for r nodes. The whole list
  // is read first: a malformed one counts for no node.
  std::vector<std::pair<long, long>> entries;  // (count, repeat)
  const char* p = tasks_per_node.c_str();
  while (*p) {
    char* end = nullptr;
    const long count = std::strtol(p, &end, 10);
    if (end == p || count <= 0 || count >= 1 << 20 || *p == '+' || *p == '-' || *p == ' ') return 0;
    p = end;
    long repeat = 1;
    if (p[0] == '(' && p[1] == 'x') {
      repeat = std::strtol(p + 2, &end, 10);
      if (end == p + 2 || repeat <= 0 || *end != ')') return 0;
      p = end + 1;
    }
    entries.emplace_back(count, repeat);
    if (*p == ',' && p[1]) ++p;
    else if (*p) return 0;
  }
  long first = 0;
  for (const auto& [count, repeat] : entries) {
    if (node >= first && node - first < repeat) return (int)count;
    first += repeat;
  }
  return 0;
}

CpuThreadPlan plan_cpu_threads() {
  CpuThreadPlan p;
  p.cores = usable_cores();
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}) {
    if (const int n = env_positive(name)) {
      p.local_ranks = n;
      break;
    }
  }
  // Under srun (a step: SLURM_STEP_NUM_TASKS set), this node's tasks of the step. A batch
  // script's own process is alone on its cores whatever the allocation's tasks per node.
  const char* step_tasks = std::getenv("SLURM_STEP_TASKS_PER_NODE");
  if (p.local_ranks == 1 && env_positive("SLURM_STEP_NUM_TASKS") > 1 && step_tasks)
    if (const int n = slurm_tasks_on_node(step_tasks, env_positive("SLURM_NODEID") ? env_positive("SLURM_NODEID") : 0))
      p.local_ranks = n;
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
