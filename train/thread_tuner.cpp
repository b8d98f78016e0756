// ThreadTuner (see thread_tuner.h).
#include "train/thread_tuner.h"

#include <omp.h>

#include <algorithm>

namespace sr::train {

ThreadTuner::ThreadTuner(int max_threads, int window, int probe_every)
    : max_(std::max(1, max_threads)), window_(std::max(2, window)), probe_every_(std::max(1, probe_every)),
      current_(max_), windows_since_probe_(probe_every_ - 1) {}

double ThreadTuner::median_and_clear() {
  std::nth_element(samples_.begin(), samples_.begin() + samples_.size() / 2, samples_.end());
  const double m = samples_[samples_.size() / 2];
  samples_.clear();
  return m;
}

void ThreadTuner::set(int threads) { omp_set_num_threads(threads); }

void ThreadTuner::record(double seconds) {
  if (max_ <= 1) return;
  samples_.push_back(seconds);
  if ((int)samples_.size() < window_) return;
  const double m = median_and_clear();
  if (!warm_) {
    warm_ = true;
    return;
  }
  if (probe_) {
    // 5% in favour of the count already running: noise must not flip it back and forth.
    if (m < 0.95 * current_time_) {
      current_ = probe_;
      current_time_ = m;
      ++switches_;
      backoff_ = 1;
    } else {
      set(current_);
      backoff_ = std::min(4, backoff_ * 2);
    }
    probe_ = 0;
    windows_since_probe_ = 0;
    return;
  }
  current_time_ = m;
  if (++windows_since_probe_ < probe_every_ * backoff_) return;
  // Below the maximum, try more threads first (the other work may have ended); at the
  // maximum, try half.
  probe_ = current_ < max_ ? std::min(max_, current_ * 2) : std::max(1, current_ / 2);
  set(probe_);
}

}  // namespace sr::train
