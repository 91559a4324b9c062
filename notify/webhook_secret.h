// A webhook's signing secret, as Standard Webhooks writes it: "whsec_" and the
// base64 of the key bytes. renderq makes 32 random bytes per webhook (SPEC:
// at least 24), shows the text once at registration and keeps it only sealed
// (secret_seal.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/model/status.h"

namespace renderq::notify {

inline constexpr std::string_view kSecretPrefix = "whsec_";
inline constexpr std::size_t kSecretBytes = 32;
// What a secret must have at least (SPEC), also when it comes from elsewhere.
inline constexpr std::size_t kMinSecretBytes = 24;

// kSecretBytes from OpenSSL's CSPRNG (seeded from the OS random source).
Result<std::string> NewSecretKey();

// "whsec_<base64>" of the key bytes.
std::string FormatSecret(std::string_view key);

// The key bytes of a "whsec_..." text; kInvalidArgument when it is not one or
// holds fewer than kMinSecretBytes.
Result<std::string> ParseSecret(std::string_view text);

}  // namespace renderq::notify
