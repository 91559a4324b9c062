// Server-Sent Events framing (WHATWG HTML, "Server-sent events"): each event
// is "id:", "event:" and "data:" lines and a blank line. renderq's data is
// one line of JSON; a newline in it would still be framed correctly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace renderq::notify {

std::string SseFrame(std::int64_t id, std::string_view event, std::string_view data);
// A comment line: ignored by clients, keeps idle connections open.
std::string SseComment(std::string_view text);

}  // namespace renderq::notify
