#include "worker/job_files.h"

#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "core/util/atomic_file.h"

namespace renderq {
namespace {

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

// Whether the partial files of `job_id` belong to nobody any more.
bool JobIsOver(JobStore& store, const std::string& job_id) {
  const Result<Job> job = store.Get(/*owner_id=*/0, job_id);
  if (!job.ok()) return job.status().code() == StatusCode::kNotFound;
  return IsTerminal(job->state);
}

}  // namespace

Result<SweepReport> SweepResultsDir(const std::string& results_dir, JobStore& store) {
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
    if (!job_id.empty() && JobIsOver(store, job_id) &&
        RemoveFileIfExists(it->path().string()).ok()) {
      ++report.stale_files_removed;
    }
  }
  if (ec) return Status::Unavailable("cannot list " + results_dir + ": " + ec.message());
  return report;
}

}  // namespace renderq
