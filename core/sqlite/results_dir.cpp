#include "core/sqlite/results_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <system_error>

#include "core/util/atomic_file.h"
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

namespace fs = std::filesystem;

// A temp file's owner is gone when no such process exists. Our own pid cannot
// own a temp yet (the sweep runs before any write), so it was a predecessor's.
bool OwnerIsGone(pid_t pid) {
  if (pid == ::getpid()) return true;
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

// The job id of a preview or checkpoint file name, or "" for any other name.
std::string PartialFileJobId(std::string_view name) {
  for (std::string_view suffix : {kPreviewFileSuffix, kCheckpointFileSuffix}) {
    if (name.size() > suffix.size() && name.ends_with(suffix) && name.front() != '.') {
      return std::string(name.substr(0, name.size() - suffix.size()));
    }
  }
  return "";
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

Result<SweepReport> SweepResultsDir(const std::string& results_dir,
                                    const std::function<bool(const std::string&)>& job_is_over) {
  SweepReport report;
  std::error_code ec;
  for (fs::directory_iterator it(results_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::optional<pid_t> owner = TempFileOwner(name);
    if (owner) {
      if (OwnerIsGone(*owner) && RemoveFileIfExists(it->path().string()).ok()) {
        ++report.temps_removed;
      }
      continue;
    }
    const std::string job_id = PartialFileJobId(name);
    if (!job_id.empty() && job_is_over(job_id) && RemoveFileIfExists(it->path().string()).ok()) {
      ++report.stale_files_removed;
    }
  }
  if (ec) return Status::Unavailable("cannot list " + results_dir + ": " + ec.message());
  return report;
}

Result<ResultFileCheck> CompareResultFiles(const std::string& results_dir,
                                           const std::vector<std::string>& succeeded_ids) {
  ResultFileCheck report;
  std::set<std::string> on_disk;
  std::error_code ec;
  if (fs::exists(results_dir, ec)) {
    for (fs::directory_iterator it(results_dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      // "<id>.png" only: an id has no dot, previews ("<id>.preview.png") do.
      const bool result =
          p.extension() == kResultFileSuffix && p.stem().string().find('.') == std::string::npos;
      if (result && it->is_regular_file(ec)) {
        on_disk.insert(p.stem().string());
      }
    }
  }
  if (ec) return Status::Unavailable("cannot list " + results_dir + ": " + ec.message());
  const std::set<std::string> succeeded(succeeded_ids.begin(), succeeded_ids.end());
  for (const std::string& id : on_disk) {
    if (!succeeded.contains(id)) report.orphans.push_back(JobFilesFor(results_dir, id).result);
  }
  for (const std::string& id : succeeded) {
    if (!on_disk.contains(id)) report.missing.push_back(id);
  }
  return report;
}

}  // namespace renderq
