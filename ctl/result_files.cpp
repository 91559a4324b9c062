#include "ctl/result_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/sqlite/result_file_names.h"

namespace renderq {

namespace fs = std::filesystem;

std::string ResultFilePath(const std::string& results_dir, const std::string& job_id) {
  return JobFilesFor(results_dir, job_id).result;
}

Result<int> DeleteCachedResults(const std::string& results_dir, std::int64_t cutoff) {
  int deleted = 0;
  std::error_code ec;
  if (!fs::exists(results_dir, ec)) return 0;
  for (fs::directory_iterator it(results_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != kResultFileSuffix || p.stem().string().find('.') != std::string::npos) {
      continue;
    }
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    const std::int64_t written_ms =
        std::int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (written_ms >= cutoff) continue;
    std::error_code remove_ec;
    if (fs::remove(p, remove_ec)) ++deleted;
    if (remove_ec)
      return Status::Unavailable("cannot delete " + p.string() + ": " + remove_ec.message());
  }
  if (ec) return Status::Unavailable("cannot list " + results_dir + ": " + ec.message());
  return deleted;
}

Result<ResultFileReport> CompareResultFiles(const std::string& results_dir,
                                            const std::vector<std::string>& succeeded_ids) {
  ResultFileReport report;
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
    if (!succeeded.contains(id)) report.orphans.push_back(ResultFilePath(results_dir, id));
  }
  for (const std::string& id : succeeded) {
    if (!on_disk.contains(id)) report.missing.push_back(id);
  }
  return report;
}

}  // namespace renderq
