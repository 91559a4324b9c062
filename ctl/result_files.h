// Result files on disk, as renderqctl sees them: `<results>/<job id>.png`, the
// file nginx serves through X-Accel-Redirect to /internal/results/<id>.png
// (the SQLite store's own, or a web host's cache of a PostgreSQL store's).
// Thread-safe: no shared state; errors as Status, never exceptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/status.h"

namespace renderq {

std::string ResultFilePath(const std::string& results_dir, const std::string& job_id);

// Deletes the cached results ("<id>.png") last written before `cutoff` (ms
// since the epoch): a web host's copies of a PostgreSQL store's results.
// Returns how many were deleted; a missing results_dir holds none.
Result<int> DeleteCachedResults(const std::string& results_dir, std::int64_t cutoff);

struct ResultFileReport {
  std::vector<std::string> orphans;  // files with no succeeded job (paths)
  std::vector<std::string> missing;  // succeeded jobs with no file (ids)
};

// Compares the `<id>.png` files in results_dir with the succeeded jobs. A missing
// results_dir counts as empty. Other files (a running job's `<id>.preview.png` and
// `<id>.ckpt`, the worker's `.<name>.tmp-<pid>-<n>` temporaries) are ignored.
Result<ResultFileReport> CompareResultFiles(const std::string& results_dir,
                                            const std::vector<std::string>& succeeded_ids);

}  // namespace renderq
