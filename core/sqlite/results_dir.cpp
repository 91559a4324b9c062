#include "core/sqlite/results_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/unique_fd.h"

namespace renderq {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::Unavailable(what + " " + path + ": " + std::strerror(errno));
}

// 1 when removed, 0 when it was not there.
Result<int> RemoveIfPresent(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return 1;
  if (errno == ENOENT) return 0;
  return ErrnoStatus("cannot remove", path);
}

}  // namespace

Result<std::optional<std::vector<std::uint8_t>>> ReadWholeFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::vector<std::uint8_t>>();
    return ErrnoStatus("cannot open", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", path);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path);
    if (n == 0) break;  // shrank meanwhile: what was there
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return std::optional<std::vector<std::uint8_t>>(std::move(bytes));
}

Result<int> RemoveJobFiles(const std::string& results_dir, const std::string& job_id,
                           bool result_too) {
  const JobFiles files = JobFilesFor(results_dir, job_id);
  int removed = 0;
  Status first;
  for (const std::string* path : {&files.preview, &files.checkpoint, &files.result}) {
    if (path == &files.result && !result_too) continue;
    const Result<int> r = RemoveIfPresent(*path);
    if (r.ok()) {
      removed += *r;
    } else if (first.ok()) {
      first = r.status();
    }
  }
  if (!first.ok()) return first;
  return removed;
}

}  // namespace renderq
