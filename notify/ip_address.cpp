#include "notify/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <span>

namespace renderq::notify {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV6;
    return a;
  }
  return std::nullopt;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* address) {
  if (address == nullptr) return std::nullopt;
  IpAddress a;
  if (address->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    a.family = Family::kV4;
    std::memcpy(a.bytes.data(), &in.sin_addr, 4);
    return a;
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    a.family = Family::kV6;
    std::memcpy(a.bytes.data(), &in6.sin6_addr, 16);
    return a;
  }
  return std::nullopt;
}

IpAddress IpAddress::V4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress out;
  out.family = Family::kV4;
  out.bytes[0] = a;
  out.bytes[1] = b;
  out.bytes[2] = c;
  out.bytes[3] = d;
  return out;
}

IpAddress IpAddress::Unwrapped() const {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == Family::kV6 && std::memcmp(bytes.data(), kMapped, 12) == 0) {
    return V4(bytes[12], bytes[13], bytes[14], bytes[15]);
  }
  return *this;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::kV4 ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

std::optional<IpRange> IpRange::Parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto base = IpAddress::Parse(text.substr(0, slash));
  if (!base) return std::nullopt;
  const int max_prefix = base->family == IpAddress::Family::kV4 ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > max_prefix) {
      return std::nullopt;
    }
  }
  IpRange range{*base, prefix};
  for (int bit = prefix; bit < max_prefix; ++bit) {
    range.base.bytes[static_cast<std::size_t>(bit / 8)] &=
        static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return range;
}

bool IpRange::Contains(const IpAddress& address) const {
  const IpAddress a = base.family == IpAddress::Family::kV4 ? address.Unwrapped() : address;
  if (a.family != base.family) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    const std::size_t i = static_cast<std::size_t>(bit / 8);
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((a.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
  }
  return true;
}

std::string IpRange::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

namespace {

struct Special {
  const char* range;
  const char* reason;
};

// IANA IPv4 and IPv6 Special-Purpose Address Registries, plus multicast.
constexpr Special kV4Special[] = {
    {"0.0.0.0/8", "unspecified (\"this network\")"},
    {"10.0.0.0/8", "private"},
    {"100.64.0.0/10", "shared (carrier-grade NAT)"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"172.16.0.0/12", "private"},
    {"192.0.0.0/24", "reserved (IETF protocol assignments)"},
    {"192.0.2.0/24", "documentation"},
    {"192.88.99.0/24", "reserved (6to4 relay)"},
    {"192.168.0.0/16", "private"},
    {"198.18.0.0/15", "benchmarking"},
    {"198.51.100.0/24", "documentation"},
    {"203.0.113.0/24", "documentation"},
    {"224.0.0.0/4", "multicast"},
    {"240.0.0.0/4", "reserved"},
};
constexpr Special kV6Special[] = {
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"::/96", "reserved (IPv4-compatible)"},
    {"64:ff9b:1::/48", "private (local NAT64)"},
    {"100::/64", "reserved (discard-only)"},
    {"2001::/23", "reserved (IETF protocol assignments)"},
    {"2001:db8::/32", "documentation"},
    {"fc00::/7", "private (unique local)"},
    {"fe80::/10", "link-local"},
    {"fec0::/10", "site-local"},
    {"ff00::/8", "multicast"},
};

std::optional<std::string_view> Lookup(const IpAddress& a) {
  const auto& table = a.family == IpAddress::Family::kV4 ? std::span<const Special>(kV4Special)
                                                         : std::span<const Special>(kV6Special);
  for (const Special& s : table) {
    if (IpRange::Parse(s.range)->Contains(a)) return s.reason;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> SpecialPurpose(const IpAddress& address) {
  const IpAddress a = address.Unwrapped();
  if (a.family == IpAddress::Family::kV6) {
    const auto& b = a.bytes;
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
    static const IpRange kNat64 = *IpRange::Parse("64:ff9b::/96");
    static const IpRange k6to4 = *IpRange::Parse("2002::/16");
    if (kNat64.Contains(a)) return SpecialPurpose(IpAddress::V4(b[12], b[13], b[14], b[15]));
    if (k6to4.Contains(a)) return SpecialPurpose(IpAddress::V4(b[2], b[3], b[4], b[5]));
  }
  return Lookup(a);
}

}  // namespace renderq::notify
