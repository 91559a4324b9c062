#include "core/util/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace renderq {

Result<InstanceLock> InstanceLock::Acquire(const std::string& path) {
  // The file is never deleted: unlinking a lock file races with a process
  // that has just opened it and would then lock an orphaned inode.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (fd.get() < 0) {
    return Status::Unavailable("cannot open lock file " + path + ": " + std::strerror(errno));
  }
  int locked;
  do {
    locked = ::flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (locked != 0 && errno == EINTR);
  if (locked != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK) {
      return Status::Conflict("another renderq-worker process holds " + path);
    }
    return Status::Unavailable("cannot lock " + path + ": " + std::strerror(error));
  }
  return InstanceLock(std::move(fd), path);
}

std::string InstanceLock::PathFor(const std::string& db_path, const std::string& worker_name) {
  return db_path + ".worker-" + worker_name + ".lock";
}

}  // namespace renderq
