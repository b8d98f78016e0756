// One stage's iterations; Run (trainer.cpp) chooses the stages and prepares the networks.
// A stage starts from a training state or from iteration 0, broadcasts rank 0's networks,
// builds its StageStep (train/stage_step.h: the stage type's math) and its loader, then
// per iteration: batch -> step (off the CPU through a GraphedStep, train/graphed_step.h:
// captured and replayed under train.cuda_graph) -> NaN streak -> progress line ->
// validation at val_freq -> stop signals -> checkpoint at save_checkpoint_freq. It ends
// with validation, a checkpoint and the final generator. A failed validation stops the run
// after a checkpoint of its iteration; a batch that cannot be made, after one of the
// iteration before (single process).
#pragma once
#include <cstdint>
#include <memory>

#include "data/loader.h"
#include "train/checkpointer.h"
#include "train/graphed_step.h"
#include "train/pair_pool.h"
#include "train/run_context.h"
#include "train/stage_step.h"
#include "train/validator.h"

namespace sr::train {

// While a run lasts, SIGINT / SIGTERM (and SIGHUP / SIGPIPE unless ignored) set a flag that
// the loop reads once per iteration;
// every rank then agrees on the iteration, writes a checkpoint and leaves. A second stop
// signal ends the process at once (exit status 128 + signal, by the signal). The scope
// starts with no signal pending and puts the previous handlers back when the run ends, so a
// process that trains and goes on (the Python module, the tests) gets its own Ctrl-C back.
// Scopes that overlap (runs in two threads) share the handlers: the last one to end restores
// them, in whatever order the runs end; a stop signal stops every run then going.
class StopSignalScope {
 public:
  StopSignalScope();
  ~StopSignalScope();
  // The stop signal received and not yet acted on (0: none).
  static int pending();
  // A stop this process still owes a run whose scope has not begun (the Python module: Ctrl-C
  // reached a run in one thread while another was still starting): each scope that begins
  // while it is set starts with it pending. 0 withdraws it.
  static void set_carried_over(int signal);
  // "SIGINT", "SIGHUP (the terminal closed)", ...
  static const char* name(int signal);
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;
};

// Where a stage starts: iteration 0 and the loader's first batch, or a training state's.
struct StageStart {
  int64_t iter = 0, global_batch = 0;
  int64_t dataset_size = 0;  // training samples when the state was saved; 0: unknown (older state)
  data::LoaderPosition pos;
};

class StageLoop {
 public:
  StageLoop(RunContext& ctx, Checkpointer& checkpointer, Validator& validator, const RunNets& nets)
      : ctx_(ctx), checkpointer_(checkpointer), validator_(validator), nets_(nets) {}

  // Runs stage `si` from `resume` (nullptr: from its start). Returns the signal that stopped
  // it after its checkpoint (SIGINT, SIGTERM), or 0 when every iteration ran.
  int run(size_t si, const TrainingState* resume);

 private:
  struct ProgressWindow;
  class CpuThreads;

  StageStart restore(const TrainingState* resume);
  void broadcast_nets();
  void restore_optimizers(StageStep& step, const TrainingState* resume);
  std::unique_ptr<data::Loader> make_loader(const StageStart& start, const StageConfig& stage);
  // The iterations after start.iter; returns the stopping signal or 0.
  // `graphed`: off the CPU, the iterations' runner (train/graphed_step.h); null on the CPU.
  int iterate(size_t si, int64_t first, StageStep& step, GraphedStep* graphed, data::Loader& loader,
              CpuThreads& threads);
  void finish(size_t si, StageStep& step, const data::Loader& loader);
  // Validation at `iter`. When it fails the run stops with its error, after every rank has
  // saved the training state of `iter` (so the iterations since the last checkpoint are kept),
  // unless the generator diverged: a state of those weights is not saved.
  void validate(size_t si, int64_t iter, StageStep& step, const data::Loader& loader);
  void log_progress(const std::string& name, int64_t iter, int64_t total, const StageStep& step, ProgressWindow& w,
                    int threads, int64_t epoch);
  int stop_requested(size_t si, int64_t iter, StageStep& step, const data::Loader& loader);
  // When loader.next() fails at `iter`: saves what can be kept and returns the end of the
  // error message (how to go on).
  std::string keep_work_before_data_failure(size_t si, int64_t iter, int64_t first, StageStep& step,
                                            const data::Loader& loader, const data::LoaderPosition& at);
  void note_skipped(const std::string& name, int64_t iter);

  RunContext& ctx_;
  Checkpointer& checkpointer_;
  Validator& validator_;
  RunNets nets_;
  std::unique_ptr<PairPool> pool_;  // realesrnet / realesrgan stages: the training-pair pool
};

}  // namespace sr::train
