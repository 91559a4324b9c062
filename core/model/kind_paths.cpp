#include "core/model/kind_paths.h"

#include <cstdlib>

namespace renderq {

std::string InstalledKindsDir() { return RENDERQ_INSTALLED_KINDS_DIR; }
std::string InstalledRunnersDir() { return RENDERQ_INSTALLED_RUNNERS_DIR; }

std::string ChooseDir(const std::optional<std::string>& flag, const char* env_name,
                      const std::string& installed) {
  if (flag && !flag->empty()) return *flag;
  const char* env = std::getenv(env_name);
  if (env != nullptr && *env != '\0') return env;
  return installed;
}

Result<std::vector<KindSpec>> LoadKindsFrom(const std::string& dir, bool named) {
  Result<std::vector<KindSpec>> kinds = LoadKinds(dir);
  if (!kinds.ok() && kinds.status().code() == StatusCode::kNotFound && !named) {
    return std::vector<KindSpec>();
  }
  return kinds;
}

}  // namespace renderq
