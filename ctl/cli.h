// The renderqctl command line: parsed into an Invocation, validated against the
// table of commands, with the help text (commands, options, exit codes).
// Thread-safe: pure functions; never throws (Boost's exceptions stop here).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/model/status.h"

namespace renderq {

// Exit codes, documented in --help; scripts branch on them.
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,        // storage or file system error
  kExitUsage = 2,        // bad command line
  kExitNotFound = 3,     // no such job or token
  kExitConflict = 4,     // the job's or token's state forbids it (e.g. cancel a finished job)
  kExitCheckFailed = 5,  // `check` found problems
};

struct Invocation {
  bool help = false;
  bool json = false;
  std::string db;                         // --db, else $RENDERQ_DB
  std::string results_dir;                // --results, else $RENDERQ_RESULTS, else the store's default
  std::string command;                    // "jobs", "token create", ...
  std::vector<std::string> args;          // the command's positional arguments
  std::optional<std::string> state;       // jobs --state
  int limit = 20;                         // jobs --limit
  std::optional<std::string> older_than;  // purge --older-than
};

// InvalidArgument (exit 2) for unknown commands or options, a wrong number of
// arguments, options that do not belong to the command, or no database.
// env_db and env_results may be null (variable unset).
Result<Invocation> ParseCommandLine(const std::vector<std::string>& argv, const char* env_db,
                                    const char* env_results);

std::string HelpText();

}  // namespace renderq
