// What a training run tells its user: one console line per print_freq iterations, the
// same lines in <experiment>/train.log, and one JSON object per log or validation event
// in <experiment>/metrics.jsonl (the input of report.html and of any plotting tool).
#pragma once
#include <cstdio>
#include <map>
#include <string>

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
  void event(const nlohmann::json& record);       // one line of metrics.jsonl

 private:
  static void put(std::FILE* f, const std::string& path, const std::string& text);

  bool enabled_;
  std::string log_path_, jsonl_path_;
  std::FILE* log_ = nullptr;
  std::FILE* jsonl_ = nullptr;
};

// "1h02m" / "3m05s" / "12s"
std::string format_duration(double seconds);

}  // namespace sr::train
