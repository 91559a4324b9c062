// Runs the built renderqctl binary the way a user does, for tests/ctl.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace renderq::testing {

struct CtlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs build/bin/renderqctl with `args` (no shell), RENDERQ_DB and
// RENDERQ_RESULTS unset unless given in `env` ("NAME=value").
CtlRun RunCtl(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

std::string ReadFile(const std::filesystem::path& path);

}  // namespace renderq::testing
