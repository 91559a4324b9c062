// Atomic file replacement for the results, previews and checkpoints that the
// worker writes (and for Renderer::SaveState).
//
// A reader (nginx, the next attempt of a job) sees either the old file or the
// complete new one, never a partial file: the bytes go to a temp file in the
// same directory, which is then renamed over the target. With
// Durability::kDurable the temp file is fsynced before the rename and the
// directory after it, so the new file survives a power loss once this returns
// (results and checkpoints); previews skip both fsyncs (kVisibleOnly).
//
// Temp files are named ".<target name>.tmp-<pid>-<n>", so a sweep at start can
// remove those a crashed process left behind without touching the temps of a
// live process that shares the directory (SweepResultsDir, worker/job_files.h).
//
// Thread-safe (no shared state but an atomic counter). Errors: kUnavailable
// with the path and errno text; the temp file is removed on every error path.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace renderq {

enum class Durability { kDurable, kVisibleOnly };

Status WriteFileAtomically(const std::string& path, std::span<const std::uint8_t> bytes,
                           Durability durability);

// The temp name WriteFileAtomically uses for `target_name` (a file name, no
// directory) in process `pid` with sequence number `n`.
std::string TempFileName(std::string_view target_name, pid_t pid, std::uint64_t n);

// The pid encoded in a temp file name, or nullopt when `file_name` is not one.
std::optional<pid_t> TempFileOwner(std::string_view file_name);

// Removes `path` if it exists; an absent file is not an error.
Status RemoveFileIfExists(const std::string& path);

}  // namespace renderq
