// Result files on disk, as renderqctl sees them: `<results>/<job id>.png`, the
// file nginx serves through X-Accel-Redirect to /internal/results/<id>.png.
// Thread-safe: no shared state; errors as Status, never exceptions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace renderq {

std::string ResultFilePath(const std::string& results_dir, const std::string& job_id);

// Deletes the files of `job_ids`: `<id>.png`, the worker's preview `<id>.preview.png`
// and a checkpoint `<id>.ckpt` a lost job may have left (absent files are fine);
// returns how many were deleted. Unavailable on the first file that cannot be removed.
Result<int> DeleteResultFiles(const std::string& results_dir,
                              const std::vector<std::string>& job_ids);

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
