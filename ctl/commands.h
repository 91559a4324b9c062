// renderqctl's commands, run against an open JobStore.
//
// Each command writes its result to `out` (text, or JSON with --json) and any
// error, one line starting "renderqctl: ", to `err`, and returns the exit code
// (ctl/cli.h). Never throws. Thread-compatible: one invocation at a time.
#pragma once

#include <ostream>

#include "core/model/clock.h"
#include "core/store/job_store.h"
#include "ctl/cli.h"

namespace renderq {

struct CommandContext {
  JobStore& store;
  const Invocation& invocation;
  const Clock& clock;
  std::ostream& out;
  std::ostream& err;
};

// `init` needs nothing beyond opening the store (which migrates); it reports here.
int RunCommand(const CommandContext& ctx);

// The exit code for a failed Status: NotFound 3, Conflict 4, InvalidArgument 2, else 1.
int ExitCodeFor(const Status& status);

// Prints "renderqctl: <context>: <message>" and returns ExitCodeFor(status).
int Fail(std::ostream& err, const std::string& context, const Status& status);

}  // namespace renderq
