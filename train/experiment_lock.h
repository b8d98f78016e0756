// One owner per experiment folder. Two runs writing into one <experiments_root>/<name>
// interleave their logs and overwrite each other's checkpoints without a word, so a run
// (rank 0 of it) holds an exclusive lock on <experiment>/experiment.lock from before it
// writes anything until it ends. The lock is flock(2): the kernel drops it when the
// process dies, SIGKILL included, so a crashed run never leaves a stale lock behind.
#pragma once
#include <string>

namespace sr::train {

class ExperimentLock {
 public:
  // Creates `experiment_dir` and takes the lock; a folder owned by another live run is an
  // error naming the folder and the owner's pid.
  explicit ExperimentLock(const std::string& experiment_dir);
  ~ExperimentLock();
  ExperimentLock(const ExperimentLock&) = delete;
  ExperimentLock& operator=(const ExperimentLock&) = delete;

  // Removes the temporary files (".<name>.tmp.XXXXXX") that a killed checkpoint write
  // left in the folder, models/ and training_states/ (safe: this run owns the folder and
  // writes none yet). Returns how many were removed.
  int remove_orphan_temp_files() const;

 private:
  std::string dir_;
  int fd_ = -1;
};

}  // namespace sr::train
