// Where the programs find job kinds (SPEC "Your own GPU program: job kinds"):
// the kinds directory (--kinds-dir, RENDERQ_KINDS_DIR, else the installed
// /etc/renderq/kinds.d) and the runners directory that {runners_dir} names
// (--runners-dir, RENDERQ_RUNNERS_DIR, else the installed
// <prefix>/share/renderq/runners). The installed defaults are the build's
// (cmake cache: RENDERQ_KINDS_INSTALL_DIR, RENDERQ_RUNNERS_INSTALL_DIR).
//
// Pure apart from reading the directory; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model/kind_file.h"
#include "core/model/status.h"

namespace renderq {

std::string InstalledKindsDir();
std::string InstalledRunnersDir();

// The directory from the flag, else the variable, else the installed one.
std::string ChooseDir(const std::optional<std::string>& flag, const char* env_name,
                      const std::string& installed);

// The kinds a program serves or accepts: every kind file in `dir`. A missing
// directory is no kinds when it is the installed default (a host that runs
// only scenes), and an error when someone named it.
Result<std::vector<KindSpec>> LoadKindsFrom(const std::string& dir, bool named);

}  // namespace renderq
