// renderqctl: administration of a renderq queue database (SPEC "Administration").
// Usage and exit codes: renderqctl --help (ctl/cli.cpp).
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "core/model/clock.h"
#include "core/store/open_job_store.h"
#include "ctl/cli.h"
#include "ctl/commands.h"

int main(int argc, char** argv) {
  using namespace renderq;
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto invocation =
        ParseCommandLine(args, std::getenv("RENDERQ_DB"), std::getenv("RENDERQ_RESULTS"));
    if (!invocation.ok()) {
      std::cerr << "renderqctl: " << invocation.status().message()
                << "\n(renderqctl --help lists commands and options)\n";
      return kExitUsage;
    }
    if (invocation->help) {
      std::cout << HelpText();
      return kExitOk;
    }
    // Opening migrates the schema: `init` is just this, and every other command
    // also works on a database an older version created.
    StoreOptions options;
    options.results_dir = invocation->results_dir;
    auto store = OpenJobStore(invocation->db, options);
    if (!store.ok()) return Fail(std::cerr, RedactedDb(invocation->db), store.status());
    const CommandContext ctx{**store, *invocation, *SystemClock::Instance(), std::cout, std::cerr};
    return RunCommand(ctx);
  } catch (const std::exception& e) {  // a bug, or out of memory: still a clean exit
    std::cerr << "renderqctl: " << e.what() << "\n";
    return kExitError;
  }
}
