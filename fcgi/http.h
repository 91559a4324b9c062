// HttpRequest and HttpResponse: what the responder's handlers take and give.
//
// Plain values, so that handlers (fcgi/api.h) are pure functions of a request and
// can be tested without a socket. The FastCGI loop (fcgi/fcgi_server.h) fills an
// HttpRequest from the request's parameters and body and writes an HttpResponse
// back; nothing else touches the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace renderq {

// Bodies larger than this are refused with 413 before a byte of them is read.
inline constexpr std::uint64_t kMaxBodyBytes = 4u * 1024u * 1024u;

struct HttpRequest {
  std::string method;        // "GET", "POST", ...
  std::string path;          // "/api/v1/jobs/3f1c...", decoded, without the query
  std::string query;         // "state=queued&limit=5", without '?'; "" when none
  std::string content_type;  // as sent: "application/json; charset=utf-8"
  // CONTENT_LENGTH; nullopt when absent, empty or not a number.
  std::optional<std::uint64_t> content_length;
  std::string authorization;    // "Bearer <token>"
  std::string idempotency_key;  // "" when absent
  std::string if_none_match;    // entity tags of a conditional GET; "" when absent
  std::string remote_addr;      // for logs
  // The body as read: exactly content_length bytes when it arrived whole, fewer
  // when the client sent less than it announced, empty when nothing was read
  // (for instance because content_length was over kMaxBodyBytes).
  std::string body;

  // Empties every field but keeps the buffers, so one request value can be
  // reused for every request a thread serves.
  void Clear();
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, no duplicates
  std::string body;

  // Sets a header, replacing one of the same name (names compare case-insensitively).
  void SetHeader(std::string_view name, std::string value);
  // The value of a header, or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

// The reason phrase of a status code ("Created"), "" for unknown codes.
std::string_view ReasonPhrase(int status);

}  // namespace renderq
