#include "worker/runner_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/util/unique_fd.h"

namespace renderq {
namespace {

std::string Quoted(std::string_view file) {
  std::string shown(file.substr(0, 200));
  return "\"" + shown + (file.size() > 200 ? "...\"" : "\"");
}

const char* KindOf(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::vector<std::string_view> Components(std::string_view file) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= file.size()) {
    std::size_t end = file.find('/', start);
    if (end == std::string_view::npos) end = file.size();
    parts.push_back(file.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

bool IsPlausibleRunnerFile(std::string_view file) {
  if (file.empty() || file.size() > 4096 || file.front() == '/') return false;
  if (file.find('\0') != std::string_view::npos) return false;
  for (std::string_view part : Components(file)) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

Result<std::string> ReadRunnerFile(int dir_fd, std::string_view file, std::uint64_t max_bytes) {
  if (!IsPlausibleRunnerFile(file)) {
    return Status::InvalidArgument(Quoted(file) +
                                   ": not a relative path inside the job's directory");
  }
  std::vector<std::string_view> parts = Components(file);
  UniqueFd owned;
  int at = dir_fd;
  // Directories on the way: O_NOFOLLOW with O_DIRECTORY refuses a link.
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    std::string name(parts[i]);
    int fd = openat(at, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return Status::InvalidArgument(Quoted(file) + ": " + name +
                                     " is not a directory inside DIR (" + std::strerror(errno) +
                                     ")");
    }
    owned = UniqueFd(fd);
    at = fd;
  }
  std::string last(parts.back());
  // Look before opening: a FIFO or a device is never opened.
  struct stat before {};
  if (fstatat(at, last.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::InvalidArgument(Quoted(file) + ": " + std::strerror(errno));
  }
  if (!S_ISREG(before.st_mode))
    return Status::InvalidArgument(Quoted(file) + ": " + KindOf(before.st_mode));
  if (static_cast<std::uint64_t>(before.st_size) > max_bytes) {
    return Status::InvalidArgument(Quoted(file) + ": " + std::to_string(before.st_size) +
                                   " bytes, over the limit of " + std::to_string(max_bytes));
  }
  int fd = openat(at, last.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidArgument(Quoted(file) + ": " + std::strerror(errno));
  UniqueFd opened(fd);
  // And look again at what was opened: the name may have been swapped meanwhile.
  struct stat after {};
  if (fstat(fd, &after) != 0 || !S_ISREG(after.st_mode)) {
    return Status::InvalidArgument(Quoted(file) + ": " + KindOf(after.st_mode));
  }
  std::string bytes;
  bytes.reserve(static_cast<std::size_t>(after.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Unavailable(Quoted(file) + ": read: " + std::strerror(errno));
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Status::InvalidArgument(Quoted(file) + ": over the limit of " +
                                     std::to_string(max_bytes) + " bytes");
    }
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  return bytes;
}

}  // namespace renderq
