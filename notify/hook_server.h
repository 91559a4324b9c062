// nginx's two questions about an event stream, answered over FastCGI on a
// unix socket that only nginx may reach (mode 0660, nginx's group):
//
//   RENDERQ_HOOK=open        (nginx's auth_request) a subscriber is about to
//                            be subscribed: LiveHub::Open. 204 lets nchan go
//                            on; otherwise nginx answers 503 (error_page).
//                            (Not nchan_authorize_request: Debian's nchan
//                            1.3.6 crashes the worker when that request fails.)
//   RENDERQ_HOOK=subscribed  (nchan_subscribe_request) it is: LiveHub::Subscribed.
//   RENDERQ_HOOK=unsubscribed (nchan_unsubscribe_request) its client has gone:
//                            LiveHub::Unsubscribed.
//
// with RENDERQ_SUBSCRIBER=s.<sid> and RENDERQ_STREAM=j.<job>|o.<owner>, the
// channels the responder chose after checking the client's token.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "core/model/status.h"
#include "notify/live_hub.h"

namespace renderq::notify {

// ListenFcgiUnixSocket (core/util/fcgi_socket.h) after removing what a killed
// renderq-notify left at `path`.
Result<int> ListenOnUnixSocket(const std::string& path, const std::string& group);

class HookServer {
 public:
  using Log = std::function<void(std::string_view)>;

  // `hub` must outlive the server; `listen_fd` stays the caller's.
  HookServer(LiveHub* hub, int listen_fd, Log log = nullptr);
  ~HookServer();
  HookServer(const HookServer&) = delete;
  HookServer& operator=(const HookServer&) = delete;

  void Start();
  void Stop();  // returns once the serving thread has ended

 private:
  void Serve();

  LiveHub* hub_;
  int listen_fd_;
  Log log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace renderq::notify
