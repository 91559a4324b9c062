#include "notify/live_channels.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>

namespace renderq::notify {

namespace {

bool AllOf(std::string_view s, int (*pred)(int)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return pred(static_cast<unsigned char>(c)) != 0;
  });
}

int IsLowerHex(int c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); }
int IsUuidChar(int c) { return IsLowerHex(c) || c == '-'; }

}  // namespace

std::string JobChannel(std::string_view job_id) { return "j." + std::string(job_id); }
std::string OwnerChannel(std::int64_t owner_id) { return "o." + std::to_string(owner_id); }
std::string SubscriberChannel(std::string_view sid) { return "s." + std::string(sid); }

std::string NewSubscriberId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<std::string> StreamChannel(std::string_view name) {
  if (name.starts_with("j.") && name.size() == 2 + 36 && AllOf(name.substr(2), IsUuidChar)) {
    return std::string(name);
  }
  if (name.starts_with("o.") && name.size() <= 2 + 19 && AllOf(name.substr(2), ::isdigit)) {
    return std::string(name);
  }
  return std::nullopt;
}

std::optional<std::string> SubscriberIdOf(std::string_view channel) {
  if (channel.starts_with("s.") && channel.size() == 2 + 32 &&
      AllOf(channel.substr(2), IsLowerHex)) {
    return std::string(channel.substr(2));
  }
  return std::nullopt;
}

}  // namespace renderq::notify
