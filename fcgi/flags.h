// The command line of renderq-fcgi (--help prints it).
#pragma once

#include <cstdint>
#include <string>

#include "core/model/cost_model.h"
#include "core/model/queue_rules.h"

namespace renderq {

struct Flags {  // defaults as --help shows them
  std::string db;
  std::string socket;
  std::string socket_group;
  int threads = 0;  // ParseFlags: $RENDERQ_FCGI_THREADS, else 64, unless given
  std::string results;
  double max_render_seconds = kDefaultMaxRenderSeconds;
  std::int64_t max_queued = QueueLimits{}.max_queued;
  std::int64_t max_queued_per_owner = QueueLimits{}.max_queued_per_owner;
  double max_drain_seconds = QueueLimits{}.max_drain_seconds;
};

// Parses argv (and RENDERQ_DB when --db is absent). Prints the help and exits 0
// on --help; prints the error and exits 2 on a bad or missing flag.
Flags ParseFlags(int argc, char** argv);

}  // namespace renderq
