#include "core/store/result_cache.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "core/util/atomic_file.h"

namespace renderq {
namespace {

namespace fs = std::filesystem;

// "<id>.png", as the SQLite backend names its results, so a results directory
// reads the same whichever backend filled it.
constexpr std::string_view kSuffix = ".png";

std::string CachedName(const std::string& job_id) { return job_id + std::string(kSuffix); }

}  // namespace

std::optional<std::string> ResultCache::Find(const std::string& job_id) const {
  const std::string name = CachedName(job_id);
  struct stat st {};
  if (::stat((fs::path(dir_) / name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::nullopt;
  }
  return name;
}

Result<std::string> ResultCache::Put(const std::string& job_id,
                                     std::span<const std::uint8_t> bytes) const {
  const std::string name = CachedName(job_id);
  RETURN_IF_ERROR(
      WriteFileAtomically((fs::path(dir_) / name).string(), bytes, Durability::kVisibleOnly));
  return name;
}

Result<int> ResultCache::DeleteWrittenBefore(TimeMs cutoff) const {
  int deleted = 0;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return 0;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    // "<id>.png" only: an id has no dot, temp files and other names do.
    if (p.extension() != kSuffix || p.stem().string().find('.') != std::string::npos) continue;
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    const TimeMs written_ms = TimeMs{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (written_ms >= cutoff) continue;
    std::error_code remove_ec;
    if (fs::remove(p, remove_ec)) ++deleted;
    if (remove_ec) {
      return Status::Unavailable("cannot delete " + p.string() + ": " + remove_ec.message());
    }
  }
  if (ec) return Status::Unavailable("cannot list " + dir_ + ": " + ec.message());
  return deleted;
}

}  // namespace renderq
