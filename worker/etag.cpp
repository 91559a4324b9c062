#include "worker/etag.h"

#include <array>

#include <openssl/sha.h>

namespace renderq {

std::string ContentEtag(std::span<const std::uint8_t> bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(bytes.data(), bytes.size(), digest.data());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  // 128 bits are plenty to tell two images apart.
  for (std::size_t i = 0; i < 16; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 0xF];
  }
  tag += '"';
  return tag;
}

}  // namespace renderq
