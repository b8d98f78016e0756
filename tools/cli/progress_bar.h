// A one-line progress bar on stderr for long CLI jobs (prepare, resize of folders).
// Redrawn in place on a terminal; when stderr is a file or pipe it prints a line at
// every 10% instead, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace sr::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, long total)
      : label_(std::move(label)), total_(total), tty_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()) {}

  // Shows `done` of total, with a free-form note (e.g. "1234 sub-images").
  void update(long done, const std::string& note = "") {
    const int pct = total_ > 0 ? (int)(100 * done / total_) : 100;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (tty_) {
      const int width = 30, fill = total_ > 0 ? (int)(width * done / total_) : width;
      std::fprintf(stderr, "\r%s [%s%s] %ld/%ld %3d%% %.1fs %s", label_.c_str(), std::string(fill, '#').c_str(),
                   std::string(width - fill, '.').c_str(), done, total_, pct, secs, note.c_str());
      if (done >= total_) std::fputc('\n', stderr);
    } else if (pct / 10 > last_decile_ || done >= total_) {
      last_decile_ = pct / 10;
      std::fprintf(stderr, "%s %ld/%ld %d%% %.1fs %s\n", label_.c_str(), done, total_, pct, secs, note.c_str());
    }
    std::fflush(stderr);
  }

 private:
  std::string label_;
  long total_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sr::cli
