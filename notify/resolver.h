// Name resolution behind an interface, so that tests can make a name resolve
// to any address without touching the system's resolver.
#pragma once

#include <string>
#include <vector>

#include "core/model/status.h"
#include "notify/ip_address.h"

namespace renderq::notify {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Every address `host` resolves to (IPv4 and IPv6); kNotFound when none.
  virtual Result<std::vector<IpAddress>> Resolve(const std::string& host) const = 0;
};

// getaddrinfo(3).
class SystemResolver final : public Resolver {
 public:
  Result<std::vector<IpAddress>> Resolve(const std::string& host) const override;
};

}  // namespace renderq::notify
