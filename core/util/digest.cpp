#include "core/util/digest.h"

#include <openssl/sha.h>

#include <array>

namespace renderq {
namespace {

// 128 bits of SHA-256: a collision that hid an update is out of reach.
constexpr std::size_t kTagHexDigits = 32;

std::string Hex(const unsigned char* bytes, std::size_t count) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(count * 2);
  for (std::size_t i = 0; i < count; ++i) {
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 0x0f];
  }
  return hex;
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> Sha256(const void* data, std::size_t size) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(static_cast<const unsigned char*>(data), size, digest.data());
  return digest;
}

std::string Tag(const void* data, std::size_t size) {
  return Hex(Sha256(data, size).data(), kTagHexDigits / 2);
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  const auto digest = Sha256(data.data(), data.size());
  return Hex(digest.data(), digest.size());
}

std::string StrongEtag(std::string_view bytes) {
  return '"' + Tag(bytes.data(), bytes.size()) + '"';
}

std::string StrongEtag(std::span<const std::uint8_t> bytes) {
  return '"' + Tag(bytes.data(), bytes.size()) + '"';
}

std::string WeakEtag(std::string_view fingerprint) {
  return "W/\"" + Tag(fingerprint.data(), fingerprint.size()) + '"';
}

}  // namespace renderq
