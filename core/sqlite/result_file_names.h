// The names of a job's files in the results directory, shared by the worker
// that writes them, the responder that has nginx serve them and renderqctl
// that checks and purges them:
//   <id>.png          the result, written once when the job succeeds
//   <id>.preview.png  the latest progressive image while the job runs
//   <id>.ckpt         the renderer's resumable state (kernels/renderer.h)
// plus the temp files of core/atomic_file.h while one of them is replaced.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace renderq {

inline constexpr std::string_view kResultFileSuffix = ".png";
inline constexpr std::string_view kPreviewFileSuffix = ".preview.png";
inline constexpr std::string_view kCheckpointFileSuffix = ".ckpt";

inline std::string ResultFileName(std::string_view job_id) {
  return std::string(job_id) + std::string(kResultFileSuffix);
}
inline std::string PreviewFileName(std::string_view job_id) {
  return std::string(job_id) + std::string(kPreviewFileSuffix);
}
inline std::string CheckpointFileName(std::string_view job_id) {
  return std::string(job_id) + std::string(kCheckpointFileSuffix);
}

struct JobFiles {
  std::string result;
  std::string preview;
  std::string checkpoint;
};

inline JobFiles JobFilesFor(const std::string& results_dir, const std::string& job_id) {
  const std::filesystem::path dir(results_dir);
  return JobFiles{
      .result = (dir / ResultFileName(job_id)).string(),
      .preview = (dir / PreviewFileName(job_id)).string(),
      .checkpoint = (dir / CheckpointFileName(job_id)).string(),
  };
}

}  // namespace renderq
