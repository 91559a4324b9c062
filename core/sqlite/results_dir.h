// A job's files in a results directory (names: core/result_file_names.h): how
// the SQLite store keeps results, previews and checkpoints beside its
// database, and how renderqctl finds them.
//
// Thread-safe: no shared state. Errors as Status (kUnavailable with the path
// and errno text), never exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/sqlite/result_file_names.h"
#include "core/model/status.h"

namespace renderq {

// The whole file, or nullopt when it does not exist.
Result<std::optional<std::vector<std::uint8_t>>> ReadWholeFile(const std::string& path);

// Removes the preview and checkpoint of a job (what a finished job no longer
// needs) and, with `result_too`, its result. Absent files are fine; returns how
// many were removed, or the first error after trying all of them.
Result<int> RemoveJobFiles(const std::string& results_dir, const std::string& job_id,
                           bool result_too);

}  // namespace renderq
