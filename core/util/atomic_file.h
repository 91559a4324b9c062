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
#include <utility>

#include "core/model/status.h"

namespace renderq {

enum class Durability { kDurable, kVisibleOnly };

Status WriteFileAtomically(const std::string& path, std::span<const std::uint8_t> bytes,
                           Durability durability);

// The same in two steps, for a caller that must decide between writing the
// bytes and putting them in place (the SQLite store renames a result only
// while it holds the write lock that fences the job's lease): Stage() writes
// (and with kDurable syncs) the temp file; Publish() renames it over the
// target and syncs the directory. A StagedFile destroyed unpublished removes
// its temp file.
class StagedFile {
 public:
  static Result<StagedFile> Stage(const std::string& path, std::span<const std::uint8_t> bytes,
                                  Durability durability);
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  StagedFile(const StagedFile&) = delete;
  ~StagedFile();

  Status Publish();

 private:
  StagedFile(std::string path, std::string temp, Durability durability)
      : path_(std::move(path)), temp_(std::move(temp)), durability_(durability) {}
  std::string path_;
  std::string temp_;  // "" once published or moved from
  Durability durability_;
};

// The temp name WriteFileAtomically uses for `target_name` (a file name, no
// directory) in process `pid` with sequence number `n`.
std::string TempFileName(std::string_view target_name, pid_t pid, std::uint64_t n);

// The pid encoded in a temp file name, or nullopt when `file_name` is not one.
std::optional<pid_t> TempFileOwner(std::string_view file_name);

// Removes `path` if it exists; an absent file is not an error.
Status RemoveFileIfExists(const std::string& path);

}  // namespace renderq
