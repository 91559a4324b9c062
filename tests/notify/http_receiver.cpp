#include "tests/notify/http_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace renderq::notify::testing {

HttpReceiver::HttpReceiver(Handler handler, const std::string& address, int port)
    : handler_(std::move(handler)) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  const bool v6 = address.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, address.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  listen_fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("cannot listen on " + address + ": " + std::strerror(errno));
  }
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  acceptor_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  });
}

HttpReceiver::~HttpReceiver() {
  stop_ = true;
  acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : workers_) t.join();
  for (int fd : open_fds_) close(fd);
  close(listen_fd_);
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

bool HttpReceiver::WaitForRequests(std::size_t n, double seconds) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::duration<double>(seconds),
                      [&] { return requests_.size() >= n; });
}

namespace {

// Reads until `pred(buffer)` or the peer closes / the receiver stops.
bool ReadUntil(int fd, std::string& buffer, const std::atomic<bool>& stop,
               const std::function<bool(const std::string&)>& pred) {
  char chunk[4096];
  while (!pred(buffer)) {
    if (stop) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void HttpReceiver::Serve(int fd) {
  std::string buffer;
  int index = 0;
  for (;;) {
    if (!ReadUntil(fd, buffer, stop_,
                   [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; })) {
      return;
    }
    const std::size_t head_end = buffer.find("\r\n\r\n");
    ReceivedRequest req;
    const std::string head = buffer.substr(0, head_end);
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    req.method = request_line.substr(0, request_line.find(' '));
    req.target =
        request_line.substr(req.method.size() + 1, request_line.rfind(' ') - req.method.size() - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      const std::string line = head.substr(pos, end - pos);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        req.headers[name] = line.substr(v);
      }
      pos = end + 2;
    }
    const std::size_t length =
        req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    buffer.erase(0, head_end + 4);
    if (!ReadUntil(fd, buffer, stop_, [&](const std::string& b) { return b.size() >= length; })) {
      return;
    }
    req.body = buffer.substr(0, length);
    buffer.erase(0, length);
    Answer answer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      index = static_cast<int>(requests_.size());
      requests_.push_back(req);
    }
    cv_.notify_all();
    answer = handler_(req, index);
    if (answer.hang) {
      while (!stop_) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
          char c;
          if (read(fd, &c, 1) <= 0) return;  // the sender gave up
        }
      }
      return;
    }
    std::string out = "HTTP/1.1 " + std::to_string(answer.status) +
                      " X\r\nContent-Length: " + std::to_string(answer.body.size()) + "\r\n";
    for (const auto& [name, value] : answer.headers) out += name + ": " + value + "\r\n";
    out += "\r\n" + answer.body;
    std::size_t sent = 0;
    while (sent < out.size()) {
      const ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        ++cut_short_;
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
  }
}

}  // namespace renderq::notify::testing
