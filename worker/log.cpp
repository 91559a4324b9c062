#include "worker/log.h"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/model/clock.h"

namespace renderq {

Logger::Logger(std::string worker_name) : worker_name_(std::move(worker_name)) {}

Logger::~Logger() {
  if (fd_ > 2) ::close(fd_);
}

Status Logger::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Unavailable("cannot open log " + path + ": " + std::strerror(errno));
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ > 2) ::close(fd_);
  fd_ = fd;
  path_ = path;
  return Status::Ok();
}

Status Logger::Reopen() {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mu_);
    path = path_;
  }
  return path.empty() ? Status::Ok() : Open(path);
}

void Logger::Log(std::string_view event, std::string_view job_id, std::string_view detail) {
  std::string line = FormatTimestamp(SystemClock::Instance()->NowMs());
  line += " renderq-worker[" + worker_name_ + "] ";
  line += event;
  if (!job_id.empty()) {
    line += " job=";
    line += job_id;
  }
  if (!detail.empty()) {
    line += ' ';
    const std::size_t at = line.size();
    line += detail;
    std::replace_if(
        line.begin() + static_cast<std::ptrdiff_t>(at), line.end(),
        [](char c) { return c == '\n' || c == '\r'; }, ' ');
  }
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  // One write per line; a short write on a full disk loses the tail, never the order.
  [[maybe_unused]] const ssize_t n = ::write(fd_, line.data(), line.size());
}

}  // namespace renderq
