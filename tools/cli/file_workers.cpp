// The folder commands' worker pool (see file_workers.h).
#include "tools/cli/file_workers.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <omp.h>

#include "tools/cli/progress_bar.h"

namespace sr::cli {

long run_file_jobs(size_t count, int workers, const std::string& label, const std::string& unit,
                   const std::function<FileJobResult(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<long> done{0}, written{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::exception_ptr error;
  std::vector<std::string> warnings;
  ProgressBar bar(label, (long)count);
  const int pool_size = (int)std::min<size_t>(std::max(workers, 1), count);
  auto work = [&] {
    if (pool_size > 1) omp_set_num_threads(1);
    for (size_t i; !failed && (i = next++) < count;) {
      try {
        const FileJobResult r = job(i);
        written += r.written;
        std::lock_guard<std::mutex> lk(mu);
        if (!r.warning.empty()) warnings.push_back(r.warning);
        bar.update(++done, std::to_string(written.load()) + " " + unit);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < pool_size; ++w) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return written.load();
}

}  // namespace sr::cli
