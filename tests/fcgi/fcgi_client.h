// A minimal FastCGI client (one request per connection, as nginx does by
// default), so tests can talk to the real renderq-fcgi over its unix socket.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace renderq::test {

using FcgiParams = std::vector<std::pair<std::string, std::string>>;

struct FcgiReply {
  int status = 0;    // from the "Status:" line (200 when absent)
  std::string head;  // the CGI header block
  std::string body;
  // The value of a header in `head`, "" when absent.
  std::string Header(std::string_view name) const;
};

// Sends one request (params, then `body` on stdin) and reads the answer until
// FCGI_END_REQUEST. nullopt when the connection fails or the reply is cut off.
// Every socket operation has a 5 s timeout.
std::optional<FcgiReply> FcgiCall(const std::string& socket_path, const FcgiParams& params,
                                  std::string_view body);

// True once something accepts connections on `socket_path`.
bool CanConnect(const std::string& socket_path);

}  // namespace renderq::test
