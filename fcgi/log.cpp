#include "fcgi/log.h"

#include <unistd.h>

#include <string>

namespace renderq {

void LogLine(std::string_view text) {
  std::string line = "renderq-fcgi: ";
  line.reserve(line.size() + text.size() + 1);
  for (const char c : text) line.push_back(c == '\n' ? ' ' : c);
  line.push_back('\n');
  // Nothing useful can be done when stderr is gone; the result is ignored on purpose.
  const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  static_cast<void>(written);
}

}  // namespace renderq
