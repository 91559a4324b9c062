#include "notify/hook_server.h"

#include <fcgiapp.h>
#include <poll.h>
#include <unistd.h>

#include "core/util/fcgi_socket.h"
#include "notify/live_channels.h"

namespace renderq::notify {

namespace {

std::string Param(FCGX_Request& request, const char* name) {
  const char* v = FCGX_GetParam(name, request.envp);
  return v == nullptr ? std::string() : std::string(v);
}

// What the client sees when the dispatcher cannot open its stream: a problem
// like the responder's, so the console falls back to polling and says why.
void Refuse(FCGX_Request& request, int status, const std::string& detail) {
  const std::string body = R"({"type":"urn:renderq:problem:events-unavailable",)"
                           R"("title":"Live events unavailable","status":)" +
                           std::to_string(status) + R"(,"detail":")" + detail + R"("})";
  const std::string head = "Status: " + std::to_string(status) +
                           "\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n"
                           "Cache-Control: no-store\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n";
  FCGX_PutStr(head.data(), static_cast<int>(head.size()), request.out);
  FCGX_PutStr(body.data(), static_cast<int>(body.size()), request.out);
}

}  // namespace

Result<int> ListenOnUnixSocket(const std::string& path, const std::string& group) {
  ::unlink(path.c_str());
  return ListenFcgiUnixSocket(path, group);
}

HookServer::HookServer(LiveHub* hub, int listen_fd, Log log)
    : hub_(hub), listen_fd_(listen_fd), log_(std::move(log)) {
  if (!log_) log_ = [](std::string_view) {};
}

HookServer::~HookServer() { Stop(); }

void HookServer::Start() {
  FCGX_Init();
  thread_ = std::thread([this] { Serve(); });
}

void HookServer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void HookServer::Serve() {
  FCGX_Request request;
  FCGX_InitRequest(&request, listen_fd_, 0);
  while (!stop_) {
    // Wait for a connection with a timeout, so that Stop() is seen; the
    // accept below then does not block.
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (FCGX_Accept_r(&request) != 0) continue;
    const std::string hook = Param(request, "RENDERQ_HOOK");
    const auto sid = SubscriberIdOf(Param(request, "RENDERQ_SUBSCRIBER"));
    const std::string stream = Param(request, "RENDERQ_STREAM");
    if (!sid) {
      Refuse(request, 400, "no subscriber channel");
    } else if (hook == "open") {
      if (Status s = hub_->Open(*sid, stream); s.ok()) {
        FCGX_PutS("Status: 204 No Content\r\n\r\n", request.out);
      } else {
        log_("cannot open a stream: " + s.ToString());
        Refuse(request, 503, "the stream could not be opened");
      }
    } else if (hook == "subscribed") {
      hub_->Subscribed(*sid);
      FCGX_PutS("Status: 204 No Content\r\n\r\n", request.out);
    } else if (hook == "unsubscribed") {
      hub_->Unsubscribed(*sid);
      FCGX_PutS("Status: 204 No Content\r\n\r\n", request.out);
    } else {
      Refuse(request, 400, "unknown hook");
    }
    FCGX_Finish_r(&request);
  }
  FCGX_Free(&request, 0);
}

}  // namespace renderq::notify
