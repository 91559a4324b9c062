#include "notify/sse_frame.h"

namespace renderq::notify {

std::string SseFrame(std::int64_t id, std::string_view event, std::string_view data) {
  std::string out = "id: " + std::to_string(id) + "\nevent: " + std::string(event) + "\n";
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = data.find('\n', start);
    out += "data: ";
    out += data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out += "\n";
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  out += "\n";
  return out;
}

std::string SseComment(std::string_view text) { return ": " + std::string(text) + "\n\n"; }

}  // namespace renderq::notify
