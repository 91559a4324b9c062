// The host's own addresses: a webhook must not point back at the service
// (its public address reaches nginx, the admin ports, anything listening).
#pragma once

#include <vector>

#include "notify/ip_address.h"

namespace renderq::notify {

// Every address of every interface (getifaddrs(3)); empty if it fails.
std::vector<IpAddress> LocalInterfaceAddresses();

}  // namespace renderq::notify
