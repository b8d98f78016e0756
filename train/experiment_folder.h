// What a run that starts afresh does with an experiment folder an earlier run filled.
// Writing a new run into it would interleave two runs' logs, let keep_last prune the new
// run's checkpoints by iteration number while the old run's later ones stay, and let
// `--resume auto` pick the old run's newest state. So, as BasicSR's mkdir_and_rename does,
// a fresh run of every stage renames the old folder to <folder>_archived_<time> and starts
// an empty one; a fresh run of one later stage (--stage, which needs the earlier stages'
// final models in place) is refused while the folder holds checkpoints of that stage or a
// later one.
#pragma once
#include <string>
#include <vector>

namespace sr::train {

// Whether `dir` holds an earlier run's results: a checkpoint, a model, a saved validation
// image, a metrics line or a report. A folder with only a log or config.json (a run that
// failed before its first iteration) does not.
bool holds_previous_run(const std::string& dir);

// Renames `dir` to <dir>_archived_<YYYYmmdd_HHMMSS> (data::archive_existing_folder, as
// `srengine test` archives its results) and returns the new path; an error naming both paths,
// and how to go on, when it cannot.
std::string archive_experiment_folder(const std::string& dir);

// The checkpoint files (models/net_g_<stage>_*, net_g_ema_, net_d_, training_states/<stage>_*)
// of the given stages in `dir`, sorted.
std::vector<std::string> stage_checkpoint_files(const std::string& dir, const std::vector<std::string>& stages);

}  // namespace sr::train
