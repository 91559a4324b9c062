// IP addresses and CIDR ranges, and which addresses a webhook may never reach.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace renderq::notify {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
// kept as IPv6; Unwrapped() gives the IPv4 address a socket would reach.
struct IpAddress {
  enum class Family { kV4, kV6 };
  Family family = Family::kV4;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4

  static std::optional<IpAddress> Parse(std::string_view text);
  // nullptr or a family other than AF_INET / AF_INET6 give nullopt.
  static std::optional<IpAddress> FromSockaddr(const sockaddr* address);
  static IpAddress V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

  std::size_t size() const { return family == Family::kV4 ? 4 : 16; }
  // The IPv4 address inside an IPv4-mapped IPv6 address; itself otherwise.
  IpAddress Unwrapped() const;
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;
};

// A CIDR range, "10.0.0.0/8", "fd00::/8"; a bare address is a /32 or /128.
struct IpRange {
  IpAddress base;  // host bits cleared
  int prefix = 0;

  static std::optional<IpRange> Parse(std::string_view text);
  bool Contains(const IpAddress& address) const;  // IPv4-mapped addresses as IPv4
  std::string ToString() const;
};

// Why deliveries may never go to `address` ("loopback", "private",
// "link-local", ...), or nullopt for an ordinary public unicast address.
// The table is IANA's special-purpose address registries; IPv6 forms that
// carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
std::optional<std::string_view> SpecialPurpose(const IpAddress& address);

}  // namespace renderq::notify
