// What every part of a training run shares (trainer.cpp, stage_loop, checkpointer,
// validator): the typed config, the device, the layer options (the config's kernel choice), the
// communicator, the log, the experiment folder, and the counters a checkpoint carries
// (NaN streak, best metrics). open_run_context fills it in the order a run needs it.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "engine/dtype.h"
#include "layers/layer_options.h"
#include "train/checkpoint.h"
#include "train/comm.h"
#include "train/config_types.h"
#include "train/experiment_lock.h"
#include "train/run_log.h"

namespace sr::train {

// What a training state records besides tensors and positions.
struct RunCounters {
  int nan_streak = 0;                       // skipped (non-finite) updates in a row
  std::map<std::string, BestMetric> best;   // "<stage>/<set>_<metric>"
  int64_t validated_iter = -1;              // the current stage's last validated iteration
};

struct RunContext {
  explicit RunContext(const Config& c) : cfg(c) {}

  const Config& cfg;
  Device device;
  LayerOptions layers;  // the config's conv_impl / rdb_impl, for every network the run builds
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<ExperimentLock> lock;  // rank 0: this run owns `dir` (declared before log: released last)
  std::unique_ptr<RunLog> log;
  std::string dir;  // <path.experiments_root>/<name>
  RunCounters counters;

  bool rank0() const { return comm->rank() == 0; }
};

// datasets.train and network_g are there (a config for `srengine test` may lack them).
void check_training_sections(const Config& cfg);

// <path.experiments_root>/<name>
std::string experiment_dir(const Config& cfg);

// Threads, device, layer options, communicator; then (rank 0) the experiment folder: its
// lock, an earlier run's folder archived (or refused) when this run starts afresh (`fresh`:
// no state to resume) from stage `first_stage` (train/experiment_folder.h), and the
// validation sets' check, all before the first iteration. Fills `ctx` member by member, so
// that after an error the communicator, once made, can still end the other ranks
// (Run::execute).
// `resume_auto`: --resume auto was given and found no state (the messages say so).
// `launch_options`: the command-line choices every rank must share besides the config
// (--stage, the state resumed); on several ranks they and the config are compared with
// rank 0's before anything is written (check_same_job_on_every_rank).
void open_run_context(RunContext& ctx, bool fresh, size_t first_stage, bool resume_auto = false,
                      const nlohmann::json& launch_options = nlohmann::json::object());

// Rank 0's `job` (the config, --stage, --resume) travels to every rank, which compares it with
// its own: a rank given another config file or other --set values (mpirun's `-np 1 A : -np 1
// B`, a file edited between nodes) would otherwise run until a collective's sizes disagree or
// the replica check at the first checkpoint. A rank that differs ends the job with an error
// naming the first differing key and both values; the others wait in a barrier for its abort.
void check_same_job_on_every_rank(Communicator& comm, const nlohmann::json& job);

// <experiment>/config.json (rank 0), once every check before the first iteration passed: a
// run that fails to start leaves the config of the run that made the folder's checkpoints.
// A resumed run (`resumed_stage`, `resumed_iter`: the state it continues) first compares the
// folder's config.json with its own (train/config_changes.h): keys that shape training and
// differ are a warning naming each key with its old and new value (the run goes on with the
// new ones, and is from then on not the run it resumes), other differences a note; when
// anything differs the old config is kept as config_until_<stage>_<iter>.json.
void write_run_config(const RunContext& ctx, const std::string& resumed_stage = "", int64_t resumed_iter = 0);

}  // namespace sr::train
