// One line per event on stderr, for journald: "renderq-fcgi: <text>".
// Thread-safe: each line goes out in a single write(2), so lines from different
// threads never interleave.
#pragma once

#include <string_view>

namespace renderq {

void LogLine(std::string_view text);

}  // namespace renderq
