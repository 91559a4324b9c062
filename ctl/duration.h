// ParseDuration: "7d", "12h", "30m", "45s", "500ms" as milliseconds, for
// `renderqctl purge --older-than`. Thread-safe: a pure function.
#pragma once

#include <string_view>

#include "core/model/job.h"
#include "core/model/status.h"

namespace renderq {

// A positive integer followed by one unit (ms, s, m, h, d, w). InvalidArgument
// for anything else, including zero, a missing unit and overflow.
Result<TimeMs> ParseDuration(std::string_view text);

}  // namespace renderq
