// API tokens: the secret a client sends as `Authorization: Bearer <token>`.
//
// A token is "rq_" followed by 32 random bytes in unpadded base64url (43
// characters). Only its SHA-256 is ever stored, so a stolen database holds no
// usable secret; 256 random bits need no salt or slow hash.
#pragma once

#include <string>
#include <string_view>

#include "core/model/status.h"

namespace renderq {

inline constexpr std::string_view kTokenPrefix = "rq_";

// A fresh token from getrandom(2).
Result<std::string> NewToken();

// SHA-256 of `data` as 64 lowercase hex digits (OpenSSL libcrypto).
std::string Sha256Hex(std::string_view data);

}  // namespace renderq
