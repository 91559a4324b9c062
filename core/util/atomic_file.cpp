#include "core/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/util/unique_fd.h"

namespace renderq {
namespace {

constexpr std::string_view kTempMarker = ".tmp-";

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::Unavailable(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::span<const std::uint8_t> bytes, const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot write", path);
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open directory", dir);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot fsync directory", dir);
  return Status::Ok();
}

Status WriteTemp(const std::string& tmp, std::span<const std::uint8_t> bytes,
                 Durability durability) {
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) return ErrnoStatus("cannot create", tmp);
  RETURN_IF_ERROR(WriteAll(fd.get(), bytes, tmp));
  if (durability == Durability::kDurable && ::fsync(fd.get()) != 0) {
    return ErrnoStatus("cannot fsync", tmp);
  }
  if (!fd.Close()) return ErrnoStatus("cannot close", tmp);
  return Status::Ok();
}

}  // namespace

std::string TempFileName(std::string_view target_name, pid_t pid, std::uint64_t n) {
  return "." + std::string(target_name) + std::string(kTempMarker) + std::to_string(pid) + "-" +
         std::to_string(n);
}

std::optional<pid_t> TempFileOwner(std::string_view file_name) {
  if (file_name.empty() || file_name.front() != '.') return std::nullopt;
  const std::size_t marker = file_name.rfind(kTempMarker);
  if (marker == std::string_view::npos || marker < 2) return std::nullopt;
  const std::string_view rest = file_name.substr(marker + kTempMarker.size());
  const std::size_t dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == rest.size()) return std::nullopt;
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + dash, pid);
  if (ec != std::errc() || end != rest.data() + dash || pid <= 0) return std::nullopt;
  for (char c : rest.substr(dash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return pid;
}

Result<StagedFile> StagedFile::Stage(const std::string& path, std::span<const std::uint8_t> bytes,
                                     Durability durability) {
  static std::atomic<std::uint64_t> counter{0};
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::string tmp =
      (dir / TempFileName(target.filename().string(), ::getpid(), counter.fetch_add(1))).string();
  if (Status s = WriteTemp(tmp, bytes, durability); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return StagedFile(path, std::move(tmp), durability);
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : path_(std::move(other.path_)), temp_(std::move(other.temp_)), durability_(other.durability_) {
  other.temp_.clear();
}

StagedFile::~StagedFile() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Status StagedFile::Publish() {
  if (temp_.empty()) return Status::Internal("staged file " + path_ + " already published");
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) return ErrnoStatus("cannot rename to", path_);
  temp_.clear();
  // After the rename the new name exists; only a crash before the directory's
  // fsync could lose it, which is what kDurable rules out.
  if (durability_ != Durability::kDurable) return Status::Ok();
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  return SyncDirectory(dir.empty() ? "." : dir.string());
}

Status WriteFileAtomically(const std::string& path, std::span<const std::uint8_t> bytes,
                           Durability durability) {
  ASSIGN_OR_RETURN(StagedFile staged, StagedFile::Stage(path, bytes, durability));
  return staged.Publish();
}

Status RemoveFileIfExists(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return Status::Ok();
  return ErrnoStatus("cannot remove", path);
}

}  // namespace renderq
