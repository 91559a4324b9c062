// ResultCache: a web host's copies of results that its backend keeps
// elsewhere (PostgreSQL keeps every byte in the database), in the directory
// nginx serves through X-Accel-Redirect, so a result crosses the network once
// per web host and is then sent by nginx like a SQLite backend's own file.
//
// A cached copy is written visible-only (no fsync): the backend holds the
// durable one, and a copy lost in a crash is fetched again. Results never
// change once a job succeeded, so a copy never goes stale; it goes when
// `renderqctl purge` deletes results older than its cutoff.
//
// Thread-safe: every method may be called from any thread (files are replaced
// atomically, so a reader sees a whole copy or none).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/model/job.h"
#include "core/model/status.h"

namespace renderq {

class ResultCache {
 public:
  explicit ResultCache(std::string dir) : dir_(std::move(dir)) {}

  // The cached copy's name inside the directory, if there is one.
  std::optional<std::string> Find(const std::string& job_id) const;
  // Keeps a copy of the result; returns its name inside the directory.
  Result<std::string> Put(const std::string& job_id, std::span<const std::uint8_t> bytes) const;
  // Removes the copies written before `cutoff`; returns how many.
  Result<int> DeleteWrittenBefore(TimeMs cutoff) const;

 private:
  const std::string dir_;
};

}  // namespace renderq
