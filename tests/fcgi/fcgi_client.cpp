#include "tests/fcgi/fcgi_client.h"

#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/util/unique_fd.h"

namespace renderq::test {

namespace {

constexpr std::uint8_t kBeginRequest = 1;
constexpr std::uint8_t kEndRequest = 3;
constexpr std::uint8_t kParams = 4;
constexpr std::uint8_t kStdin = 5;
constexpr std::uint8_t kStdout = 6;
constexpr std::uint16_t kRequestId = 1;

int Connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void AppendRecord(std::string& out, std::uint8_t type, std::string_view content) {
  const char header[8] = {1,
                          static_cast<char>(type),
                          static_cast<char>(kRequestId >> 8),
                          static_cast<char>(kRequestId & 0xff),
                          static_cast<char>((content.size() >> 8) & 0xff),
                          static_cast<char>(content.size() & 0xff),
                          0,
                          0};
  out.append(header, sizeof header);
  out.append(content);
}

// Splits `data` into records of at most 65535 bytes, then an empty one (end of stream).
void AppendStream(std::string& out, std::uint8_t type, std::string_view data) {
  while (!data.empty()) {
    const std::size_t n = std::min<std::size_t>(data.size(), 65535);
    AppendRecord(out, type, data.substr(0, n));
    data.remove_prefix(n);
  }
  AppendRecord(out, type, {});
}

void AppendLength(std::string& out, std::size_t n) {
  if (n < 128) {
    out.push_back(static_cast<char>(n));
    return;
  }
  out.push_back(static_cast<char>(((n >> 24) & 0x7f) | 0x80));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool ReadExactly(int fd, char* buffer, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::recv(fd, buffer + got, size - got, 0);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

std::string FcgiReply::Header(std::string_view name) const {
  std::size_t start = 0;
  while (start < head.size()) {
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = std::string_view(head).substr(start, end - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        ::strncasecmp(line.data(), std::string(name).c_str(), name.size()) == 0) {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return "";
}

std::optional<FcgiReply> FcgiCall(const std::string& socket_path, const FcgiParams& params,
                                  std::string_view body) {
  const UniqueFd fd(Connect(socket_path));
  if (fd.get() < 0) return std::nullopt;
  std::string out;
  const char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0};  // role RESPONDER, no keep-alive
  AppendRecord(out, kBeginRequest, std::string_view(begin, sizeof begin));
  std::string encoded;
  for (const auto& [name, value] : params) {
    AppendLength(encoded, name.size());
    AppendLength(encoded, value.size());
    encoded += name;
    encoded += value;
  }
  AppendStream(out, kParams, encoded);
  AppendStream(out, kStdin, body);
  if (!WriteAll(fd.get(), out)) return std::nullopt;

  std::string stdout_data;
  for (;;) {
    unsigned char header[8];
    if (!ReadExactly(fd.get(), reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
    const std::size_t length = (std::size_t{header[4]} << 8) | header[5];
    std::string content(length + header[6], '\0');
    if (!ReadExactly(fd.get(), content.data(), content.size())) return std::nullopt;
    content.resize(length);
    if (header[1] == kStdout) stdout_data += content;
    if (header[1] == kEndRequest) break;
  }
  FcgiReply reply;
  const std::size_t split = stdout_data.find("\r\n\r\n");
  if (split == std::string::npos) return std::nullopt;
  reply.head = stdout_data.substr(0, split);
  reply.body = stdout_data.substr(split + 4);
  const std::string status = reply.Header("Status");
  reply.status = status.empty() ? 200 : std::atoi(status.c_str());
  return reply;
}

bool CanConnect(const std::string& socket_path) {
  const UniqueFd fd(Connect(socket_path));
  return fd.get() >= 0;
}

}  // namespace renderq::test
