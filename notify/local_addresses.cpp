#include "notify/local_addresses.h"

#include <ifaddrs.h>

#include <algorithm>

namespace renderq::notify {

std::vector<IpAddress> LocalInterfaceAddresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    const auto a = IpAddress::FromSockaddr(i->ifa_addr);
    if (a && std::find(out.begin(), out.end(), *a) == out.end()) out.push_back(*a);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace renderq::notify
