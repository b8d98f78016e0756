// How many OpenMP threads the CPU kernels use, on machines the process does not have to
// itself. By default: the cores this process may run on (its affinity mask, so taskset
// and cgroup cpusets count) divided by the ranks that share the node under mpirun, so
// two ranks on two cores run one thread each instead of four threads fighting for two
// cores. OMP_NUM_THREADS, when set, wins.
#pragma once
#include <string>

namespace sr {

struct CpuThreadPlan {
  int threads = 1;        // what omp_set_num_threads gets
  int cores = 1;          // usable cores (affinity mask)
  int local_ranks = 1;    // processes of this job on this node
  bool from_env = false;  // OMP_NUM_THREADS decided
};

// The plan from the environment: OMP_NUM_THREADS, the affinity mask, and the local rank
// count of Open MPI (OMPI_COMM_WORLD_LOCAL_SIZE), MPICH/Hydra (MPI_LOCALNRANKS) or an srun
// step of several tasks (this node's entry of SLURM_STEP_TASKS_PER_NODE, SLURM_NODEID).
CpuThreadPlan plan_cpu_threads();

// This node's task count in Slurm's tasks-per-node list ("2(x3),1": 2 on nodes 0-2, 1 on node
// 3); 0 when the list is malformed or has no such node.
int slurm_tasks_on_node(const std::string& tasks_per_node, int node);

// Applies plan_cpu_threads() (omp_set_num_threads) and returns it. The CLI calls this
// first thing; it is cheap and idempotent.
CpuThreadPlan configure_cpu_threads();

}  // namespace sr
