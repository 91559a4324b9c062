// InstanceLock: at most one live renderq-worker process per worker name.
//
// The lock is an flock(2) on "<database>.worker-<name>.lock", beside the
// database, held for the life of the process. The kernel drops it when the
// process dies, however it dies, so a process that holds it knows that no
// other live process works under its name: a job the store still shows as
// leased to that name was left by a dead predecessor (a SIGKILL, an OOM kill,
// a power cut) and can be requeued at once instead of after its lease lapses.
// systemd's Restart=always then brings an interrupted job back within a
// second. The lock is only meaningful on the database's own host, which
// SQLite in WAL mode requires anyway.
#pragma once

#include <string>
#include <utility>

#include "core/model/status.h"
#include "core/util/unique_fd.h"

namespace renderq {

class InstanceLock {
 public:
  // kConflict when another process holds the lock for this name;
  // kUnavailable when the lock file cannot be opened or locked.
  static Result<InstanceLock> Acquire(const std::string& path);
  static std::string PathFor(const std::string& db_path, const std::string& worker_name);

  const std::string& path() const { return path_; }

 private:
  InstanceLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  UniqueFd fd_;  // the lock lives as long as the descriptor
  std::string path_;
};

}  // namespace renderq
