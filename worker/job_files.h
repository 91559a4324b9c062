// The worker's housekeeping of a SQLite store's results directory (file
// names: core/result_file_names.h): the sweep at start of what crashed
// processes and finished jobs left behind.
//
// Thread-safe: no shared state. Errors as Status, never exceptions.
#pragma once

#include <string>

#include "core/store/job_store.h"
#include "core/sqlite/result_file_names.h"
#include "core/model/status.h"

namespace renderq {

struct SweepReport {
  int temps_removed = 0;        // temp files of processes that are gone
  int stale_files_removed = 0;  // previews and checkpoints of finished or unknown jobs
};

// Run once when a worker starts, before it claims: removes the temp files that
// a crashed process left in `results_dir` (never those of a live process, so
// workers sharing the directory are safe), and the previews and checkpoints of
// jobs that are terminal or no longer exist (a job that ended failed with
// worker_lost keeps its files until then). Files of queued or running jobs, and
// files whose job cannot be looked up right now, are kept.
Result<SweepReport> SweepResultsDir(const std::string& results_dir, JobStore& store);

}  // namespace renderq
