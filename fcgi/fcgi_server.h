// FcgiServer: the libfcgi loop. A pool of threads, each with its own
// FCGX_Request, accepts FastCGI connections on one listening socket, turns each
// request into an HttpRequest, asks the Api and writes the HttpResponse back.
//
// Contract
// - Bodies: CONTENT_LENGTH is checked before any byte is read; a body is read
//   only when it is announced and at most kMaxBodyBytes long, and exactly that
//   many bytes are read (fewer when the peer sends less; the Api answers 400).
// - HEAD gets the headers of the GET answer without its body.
// - Thread safety: Start() and Stop() from one controlling thread. Call
//   FCGX_Init() before Start(). SIGUSR1 must have a handler installed without
//   SA_RESTART (main.cpp does): Stop() sends it to wake threads blocked in accept.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "fcgi/api.h"

namespace renderq {

class FcgiServer {
 public:
  // `api` must outlive the server; `listen_fd` stays owned by the caller.
  FcgiServer(const Api* api, int listen_fd, int threads);
  ~FcgiServer();  // Stop()s if still running
  FcgiServer(const FcgiServer&) = delete;
  FcgiServer& operator=(const FcgiServer&) = delete;

  void Start();
  // Finishes the requests in flight, wakes the idle threads and joins them.
  // Returns false when some thread did not exit within `timeout` (it is then
  // detached; the process should exit).
  bool Stop(std::chrono::milliseconds timeout);

 private:
  void Serve();

  const Api* api_;
  const int listen_fd_;
  const int thread_count_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> exited_{0};
  std::vector<std::thread> threads_;
};

}  // namespace renderq
