// A small HTTP/1.1 receiver on a loopback port for the delivery tests: it
// records every request and answers as the test says (a status, a body, a
// redirect, or nothing at all: a receiver that hangs). One thread per
// connection; the destructor stops everything.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace renderq::notify::testing {

struct ReceivedRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Answer {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool hang = false;  // keep the connection open and say nothing
};

inline Answer Reply(int status, std::string body = {},
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  Answer a;
  a.status = status;
  a.body = std::move(body);
  a.headers = std::move(headers);
  return a;
}

inline Answer Hang() {
  Answer a;
  a.hang = true;
  return a;
}

class HttpReceiver {
 public:
  using Handler = std::function<Answer(const ReceivedRequest&, int index)>;

  // Listens on `address` (an IPv4 or IPv6 literal), port 0 = the kernel's pick.
  explicit HttpReceiver(Handler handler, const std::string& address = "127.0.0.1", int port = 0);
  ~HttpReceiver();

  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  // Answers whose bytes the peer did not all take (it closed early).
  int answers_cut_short() const { return cut_short_.load(); }
  std::vector<ReceivedRequest> requests() const;
  // Waits until `n` requests arrived; false after `seconds`.
  bool WaitForRequests(std::size_t n, double seconds) const;

 private:
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> cut_short_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

}  // namespace renderq::notify::testing
