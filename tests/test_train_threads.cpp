// The CPU thread count on shared machines (engine/cpu_threads.h, train/thread_tuner.h):
// the plan divides the usable cores among the ranks of a node, the tuner follows measured
// iteration times, and a run's weights do not depend on the thread count, which is what
// lets the tuner switch counts mid-run.
#include <catch2/catch.hpp>

#include <omp.h>
#include <stdlib.h>

#include "engine/cpu_threads.h"
#include "support/train_support.h"
#include "train/checkpoint.h"
#include "train/thread_tuner.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;

namespace {

// Sets (or unsets, with nullptr) an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old, had_ = true;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace

TEST_CASE("threads/plan_divides_cores_among_local_ranks") {
  ScopedEnv omp("OMP_NUM_THREADS", nullptr), ompi("OMPI_COMM_WORLD_LOCAL_SIZE", "2");
  const CpuThreadPlan p = plan_cpu_threads();
  CHECK(p.local_ranks == 2);
  CHECK(p.threads == std::max(1, p.cores / 2));
  CHECK_FALSE(p.from_env);
  {
    ScopedEnv pinned("OMP_NUM_THREADS", "3");
    CHECK(plan_cpu_threads().from_env);
  }
}

// Under srun the ranks on this node are its entry of SLURM_STEP_TASKS_PER_NODE; a batch
// script's own process (no step) is alone whatever the allocation's tasks per node.
TEST_CASE("threads/srun_step_tasks_on_this_node_share_the_cores") {
  CHECK(slurm_tasks_on_node("2(x3),1", 0) == 2);
  CHECK(slurm_tasks_on_node("2(x3),1", 2) == 2);
  CHECK(slurm_tasks_on_node("2(x3),1", 3) == 1);
  CHECK(slurm_tasks_on_node("2(x3),1", 4) == 0);
  CHECK(slurm_tasks_on_node("4", 0) == 4);
  CHECK(slurm_tasks_on_node("3,1,2", 2) == 2);
  for (const char* bad : {"", "x", "3(x2", "3(x0)", "0", "-2", "2;1", "2(x3)1"}) CHECK(slurm_tasks_on_node(bad, 1) == 0);
  ScopedEnv omp("OMP_NUM_THREADS", nullptr), ompi("OMPI_COMM_WORLD_LOCAL_SIZE", nullptr),
      hydra("MPI_LOCALNRANKS", nullptr), per_node("SLURM_NTASKS_PER_NODE", "8"), step(("SLURM_STEP_NUM_TASKS"), nullptr),
      list("SLURM_STEP_TASKS_PER_NODE", "2(x2),1"), node("SLURM_NODEID", "1");
  CHECK(plan_cpu_threads().local_ranks == 1);  // no step: the batch script's process
  {
    ScopedEnv in_step("SLURM_STEP_NUM_TASKS", "5");
    const CpuThreadPlan p = plan_cpu_threads();
    CHECK(p.local_ranks == 2);
    CHECK(p.threads == std::max(1, p.cores / 2));
  }
}

TEST_CASE("threads/tuner_keeps_the_faster_count") {
  const int saved = omp_get_max_threads();
  // Contended: 2 threads take 10 ms per iteration, 1 thread 6 ms.
  ThreadTuner t(2, 4, 2);
  auto feed = [&](int n) {
    for (int i = 0; i < n; ++i) t.record(omp_get_max_threads() == 1 ? 0.006 : 0.010);
  };
  omp_set_num_threads(2);
  feed(4 * 3);  // warm-up window, one timed window, then the probe at 1 thread
  CHECK(t.threads() == 1);
  CHECK(omp_get_max_threads() == 1);
  CHECK(t.switches() == 1);
  // Alone again: 2 threads 5 ms, 1 thread 9 ms; the next probe (upwards) wins.
  ThreadTuner u(2, 4, 2);
  omp_set_num_threads(2);
  for (int i = 0; i < 4 * 3; ++i) u.record(omp_get_max_threads() == 1 ? 0.009 : 0.005);
  CHECK(u.threads() == 2);  // the probe at 1 thread lost and was undone
  CHECK(omp_get_max_threads() == 2);
  omp_set_num_threads(saved);
}

TEST_CASE("threads/weights_do_not_depend_on_the_thread_count") {
  const int saved = omp_get_max_threads();
  auto run = [&](const std::string& name, int threads) {
    ScopedEnv pin("OMP_NUM_THREADS", std::to_string(threads).c_str());  // also pins the tuner
    json c = test::tiny_train_config(name, {"train.stages.0.total_iter=4", "val.val_freq=100",
                                            "logger.save_checkpoint_freq=100"});
    c["train"]["stages"].erase(1);
    omp_set_num_threads(threads);
    REQUIRE(run_training(c, {}) == 0);
    int logged = 0;  // the log reports the pinned count (it said 1 whenever the tuner was off)
    for (const json& e : test::train_events(name))
      if (e["event"] == "train") {
        CHECK(e["threads"] == threads);
        ++logged;
      }
    CHECK(logged > 0);
    return read_safetensors(state_path(test::train_exp_dir(name), "psnr", 4));
  };
  const SafetensorsFile one = run("threads_1", 1), two = run("threads_2", 2);
  omp_set_num_threads(saved);
  test::expect_same_tensors(one, two);
}
