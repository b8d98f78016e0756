// What a training run tells its user: one console line per print_freq iterations, the
// same lines in <experiment>/train.log, one JSON object per log or validation event
// in <experiment>/metrics.jsonl (the input of report.html and of any plotting tool), and
// with logger.use_tb_logger the same values as TensorBoard scalars in
// <experiment>/tb_logger/<stage>/ (one TensorBoard run per stage: each counts from iter 1).
#pragma once
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "train/tensorboard_writer.h"

#include <nlohmann/json.hpp>

namespace sr::train {

class RunLog {
 public:
  // `enabled` is false on every rank but 0 of a distributed run.
  RunLog(const std::string& experiment_dir, bool enabled);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  // Each throws sr::Error naming the file and the reason when it cannot be written.
  void info(const std::string& line);             // console + train.log
  void warn(const std::string& line);             // console (stderr) + train.log
  void error_in_file(const std::string& line);    // train.log only (the command prints the error itself)
  void event(const nlohmann::json& record);       // one line of metrics.jsonl (and a "train"
                                                  // event's numbers as TensorBoard scalars)

  // A resume from iteration `iter` of stage `stages[stage_index]` (`stages`: the config's, in
  // run order): drops the metrics.jsonl records past that point (later iterations of the
  // stage, later stages; a line a kill cut short), which the run is about to log again, so
  // report.html never doubles back. Earlier stages' records and records of stages the config
  // does not name stay. The file is replaced atomically; returns how many records went.
  int64_t drop_events_past(const std::vector<std::string>& stages, size_t stage_index, int64_t iter);

  // TensorBoard: on from enable_tensorboard; begin_stage opens the stage's event file, whose
  // START at first_iter purges what older files of the stage hold from there on (a resume,
  // or the stage run again from 1); scalars
  // go to the current stage's file. Without enable_tensorboard they do nothing.
  void enable_tensorboard(const std::string& dir);
  void begin_stage(const std::string& stage, int64_t first_iter);
  void scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step);

 private:
  static void put(std::FILE* f, const std::string& path, const std::string& text);

  bool enabled_;
  std::string log_path_, jsonl_path_;
  std::FILE* log_ = nullptr;
  std::FILE* jsonl_ = nullptr;
  std::string tensorboard_dir_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

// "1h02m" / "3m05s" / "12s"
std::string format_duration(double seconds);

}  // namespace sr::train
