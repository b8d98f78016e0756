// The OpenMP thread count of CPU training, measured rather than assumed. On a machine
// shared with other work, a step split over every core waits at each of its hundreds of
// barriers for whichever thread the scheduler has just taken off its core: beside one busy
// process on 2 cores the quickstart fell from ~11 to 1-5 it/s with 2 threads, while 1
// thread keeps a whole core. The tuner times windows of iterations at the current count
// and now and then a window at half (or, after a reduction, twice) of it, and keeps the
// faster. Every CPU kernel sums each element on one thread in a fixed order, so the count
// never changes a result: switching is invisible in the weights.
#pragma once
#include <vector>

namespace sr::train {

class ThreadTuner {
 public:
  // `max_threads` is the planned count (engine/cpu_threads.h); 1 disables tuning.
  // Each window is `window` iterations. The first probe follows the first timed window;
  // later ones come every `probe_every` windows, twice as long after each probe that lost
  // (up to 4x: at most ~2% of the iterations run at a trial count).
  explicit ThreadTuner(int max_threads, int window = 8, int probe_every = 12);

  // After each iteration: its wall time. May call omp_set_num_threads for the next one.
  void record(double seconds);
  int threads() const { return current_; }
  // How many times the count changed (for the log).
  int switches() const { return switches_; }

 private:
  double median_and_clear();
  void set(int threads);

  int max_, window_, probe_every_, backoff_ = 1;
  int current_, probe_ = 0;       // probe_: the count under trial, 0 when none
  int windows_since_probe_, switches_ = 0;
  bool warm_ = false;             // the first window (allocation warm-up) is not timed
  double current_time_ = 0;       // median iteration time at current_
  std::vector<double> samples_;
};

}  // namespace sr::train
