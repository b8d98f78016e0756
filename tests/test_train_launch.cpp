// Which launcher started the process (train/comm.h detect_launch): Open MPI's mpirun, a
// Hydra mpiexec or Slurm's srun, read from each one's variables, mpirun's first.
#include <catch2/catch.hpp>

#include "support/scoped_env.h"
#include "train/comm.h"

using namespace sr;

TEST_CASE("distributed/launcher_variables_are_read") {
  test::ScopedEnv env;
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_SIZE",
                           "PMI_RANK", "MPI_LOCALRANKID", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID", "SLURM_LOCALID",
                           "SLURM_NTASKS", "RANK", "WORLD_SIZE", "LOCAL_RANK"})
    env.unset(name);
  CHECK(!train::detect_launch().under_mpirun);
  // A batch script in a Slurm allocation is no srun step: one process.
  env.set("SLURM_NTASKS", "8");
  env.set("SLURM_PROCID", "0");
  CHECK(!train::detect_launch().under_mpirun);
  env.set("SLURM_STEP_NUM_TASKS", "8");
  env.set("SLURM_PROCID", "5");
  env.set("SLURM_LOCALID", "1");
  train::LaunchInfo srun = train::detect_launch();
  CHECK(srun.under_mpirun);
  CHECK(srun.launcher == "srun");
  CHECK((srun.world_size == 8 && srun.rank == 5 && srun.local_rank == 1));
  CHECK(srun.variables == "SLURM_STEP_NUM_TASKS=8, SLURM_PROCID=5");
  env.set("PMI_SIZE", "4");
  env.set("PMI_RANK", "3");
  env.set("MPI_LOCALRANKID", "2");
  train::LaunchInfo hydra = train::detect_launch();
  CHECK(hydra.launcher == "mpiexec");
  CHECK((hydra.world_size == 4 && hydra.rank == 3 && hydra.local_rank == 2));
  // srun --mpi=pmi2: PMI_* without MPI_LOCALRANKID, the step's tasks as many as PMI's ranks:
  // srun, the rank on the node from SLURM_LOCALID (all would pick GPU 0 otherwise).
  env.unset("MPI_LOCALRANKID");
  env.set("PMI_SIZE", "8");
  env.set("PMI_RANK", "5");
  train::LaunchInfo pmi2 = train::detect_launch();
  CHECK(pmi2.launcher == "srun");
  CHECK((pmi2.world_size == 8 && pmi2.rank == 5 && pmi2.local_rank == 1));
  // A Hydra job under Slurm: its proxies are an srun step of one task per node (here 2).
  env.set("SLURM_STEP_NUM_TASKS", "2");
  env.set("MPI_LOCALRANKID", "3");
  train::LaunchInfo hydra_slurm = train::detect_launch();
  CHECK(hydra_slurm.launcher == "mpiexec");
  CHECK((hydra_slurm.world_size == 8 && hydra_slurm.local_rank == 3));
  env.unset("PMI_SIZE");
  env.unset("PMI_RANK");
  env.unset("MPI_LOCALRANKID");
  // One srun task (srun --pty bash, srun -n 1): a plain process.
  env.set("SLURM_STEP_NUM_TASKS", "1");
  env.set("SLURM_PROCID", "0");
  env.set("SLURM_LOCALID", "0");
  CHECK(!train::detect_launch().under_mpirun);
  // torchrun's variables under srun: refused where they differ from srun's own.
  env.set("SLURM_STEP_NUM_TASKS", "2");
  env.set("SLURM_PROCID", "1");
  env.set("SLURM_LOCALID", "1");
  env.set("RANK", "1");
  env.set("WORLD_SIZE", "2");
  env.set("LOCAL_RANK", "1");
  CHECK_NOTHROW(train::check_not_torchrun_launched(train::detect_launch()));  // a profile's RANK=$SLURM_PROCID
  env.set("WORLD_SIZE", "4");
  env.set("RANK", "3");
  CHECK_THROWS_WITH(train::check_not_torchrun_launched(train::detect_launch()),
                    Catch::Contains("RANK=3 WORLD_SIZE=4") && Catch::Contains("srun started this process as rank 1 of 2"));
  env.unset("RANK");
  env.unset("WORLD_SIZE");
  env.unset("LOCAL_RANK");
  env.set("PMI_SIZE", "4");
  env.set("PMI_RANK", "3");
  env.set("MPI_LOCALRANKID", "2");
  // mpirun run inside an allocation (srun's variables left behind) is mpirun.
  env.set("OMPI_COMM_WORLD_SIZE", "2");
  env.set("OMPI_COMM_WORLD_RANK", "1");
  env.set("OMPI_COMM_WORLD_LOCAL_RANK", "0");
  train::LaunchInfo ompi = train::detect_launch();
  CHECK(ompi.launcher == "mpirun");
  CHECK((ompi.world_size == 2 && ompi.rank == 1 && ompi.local_rank == 0));
}
