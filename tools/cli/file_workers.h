// The worker pool of the folder commands (prepare, multiscale): one job per input file on
// several threads, with a progress bar, the first error stopping the rest, and the warnings
// printed once all have joined.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace sr::cli {

struct FileJobResult {
  long written = 0;     // output files the job wrote
  std::string warning;  // printed as "warning: ..." after the pool (empty: none)
};

// Runs job(0) .. job(count - 1) on min(workers, count) threads and returns the files written.
// The bar is `label` with "<written> <unit>". When several threads run, each uses one OpenMP
// thread (a full OpenMP team per worker would oversubscribe the cores); a single worker keeps
// the team. The first exception stops the other workers after their current job and is
// rethrown once they have joined.
long run_file_jobs(size_t count, int workers, const std::string& label, const std::string& unit,
                   const std::function<FileJobResult(size_t)>& job);

}  // namespace sr::cli
