#include "notify/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

namespace renderq::notify {

Result<std::vector<IpAddress>> SystemResolver::Resolve(const std::string& host) const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return Status::NotFound("cannot resolve " + host + ": " + gai_strerror(rc));
  }
  const std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, freeaddrinfo);
  std::vector<IpAddress> out;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const auto a = IpAddress::FromSockaddr(ai->ai_addr);
    if (a && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  if (out.empty()) return Status::NotFound("cannot resolve " + host + ": no address");
  return out;
}

}  // namespace renderq::notify
