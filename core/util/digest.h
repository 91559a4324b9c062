// SHA-256 digests and the entity tags made from them (OpenSSL libcrypto).
//
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace renderq {

// SHA-256 of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

// A strong entity tag of exactly these bytes, quotes included (RFC 9110):
// "\"<first 32 hex digits of SHA-256>\"". 128 bits tell two images (or two
// documents) apart, and the same bytes always get the same tag, so a result
// re-rendered after a crash keeps its tag.
std::string StrongEtag(std::string_view bytes);
std::string StrongEtag(std::span<const std::uint8_t> bytes);

// A weak entity tag, W/"<32 hex digits>", of the bytes that define what a
// representation means (callers leave out what changes with the clock alone).
std::string WeakEtag(std::string_view fingerprint);

}  // namespace renderq
