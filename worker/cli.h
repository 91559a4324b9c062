// The renderq-worker command line (Boost.Program_options).
//
//   renderq-worker --device N|cpu --db PATH|URI [--results DIR] [--name NAME]
//                  [--checkpoint-seconds S] [--log-file F] [...]
//
// --db falls back to the RENDERQ_DB environment variable. Pure: parsing
// touches no files, so it is unit-tested directly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model/status.h"
#include "worker/worker.h"

namespace renderq {

struct WorkerCommandLine {
  bool help = false;
  std::string help_text;  // filled when help is true
  std::string db_path;
  std::string results_dir;    // "" = the store's default
  std::string log_file;       // "" = stderr
  double lease_seconds = 15;  // heartbeat age after which a job's worker counts as lost
  // Job kinds (docs/kinds.md): unset means RENDERQ_KINDS_DIR / RENDERQ_RUNNERS_DIR,
  // else the installed directories; the scratch defaults to $TMPDIR (or /tmp)
  // /renderq-worker-<name>.
  std::optional<std::string> kinds_dir;
  std::optional<std::string> runners_dir;
  std::optional<std::string> scratch_dir;
  // Tests only (a hidden option): the planted fencing bug of
  // StoreOptions::test_accept_stale_finish, self-fencing off too.
  bool test_accept_stale_finish = false;
  WorkerOptions worker;
};

// `args` excludes argv[0]. `env_db` is RENDERQ_DB (nullopt when unset).
// kInvalidArgument with a one-line message for bad usage.
Result<WorkerCommandLine> ParseWorkerCommandLine(const std::vector<std::string>& args,
                                                 const std::optional<std::string>& env_db);

}  // namespace renderq
