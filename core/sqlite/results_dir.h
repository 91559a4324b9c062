// A job's files in a results directory (names: core/sqlite/result_file_names.h):
// how the SQLite backend keeps results, previews and checkpoints beside its
// database, sweeps what crashed processes left, and checks them against the
// succeeded jobs.
//
// Thread-safe: no shared state. Errors as Status (kUnavailable with the path
// and errno text), never exceptions.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/sqlite/result_file_names.h"
#include "core/model/status.h"
#include "core/store/store_types.h"

namespace renderq {

// The whole file, or nullopt when it does not exist.
Result<std::optional<std::vector<std::uint8_t>>> ReadWholeFile(const std::string& path);

// Removes the preview and checkpoint of a job (what a finished job no longer
// needs) and, with `result_too`, its result. Absent files are fine; returns how
// many were removed, or the first error after trying all of them.
Result<int> RemoveJobFiles(const std::string& results_dir, const std::string& job_id,
                           bool result_too);

// Removes the temp files that a crashed process left in `results_dir` (never
// those of a live process, so workers sharing the directory are safe), and
// the previews and checkpoints of jobs for which `job_is_over` says so (a job
// that is terminal or no longer exists).
Result<SweepReport> SweepResultsDir(const std::string& results_dir,
                                    const std::function<bool(const std::string&)>& job_is_over);

struct ResultFileCheck {
  std::vector<std::string> orphans;  // result files (paths) of no succeeded job
  std::vector<std::string> missing;  // ids of succeeded jobs without a result file
};

// Compares the result files ("<id>.png") in `results_dir` with the ids of the
// succeeded jobs; previews, checkpoints and temp files are neither.
Result<ResultFileCheck> CompareResultFiles(const std::string& results_dir,
                                           const std::vector<std::string>& succeeded_ids);

}  // namespace renderq
