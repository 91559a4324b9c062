#include "ctl/result_files.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/result_file_names.h"

namespace renderq {

namespace fs = std::filesystem;

std::string ResultFilePath(const std::string& results_dir, const std::string& job_id) {
  return JobFilesFor(results_dir, job_id).result;
}

Result<int> DeleteResultFiles(const std::string& results_dir,
                              const std::vector<std::string>& job_ids) {
  int deleted = 0;
  for (const std::string& id : job_ids) {
    const JobFiles files = JobFilesFor(results_dir, id);
    for (const std::string& path : {files.result, files.preview, files.checkpoint}) {
      std::error_code ec;
      if (fs::remove(path, ec)) ++deleted;
      if (ec) return Status::Unavailable("cannot delete " + path + ": " + ec.message());
    }
  }
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
