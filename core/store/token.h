// API tokens: the secret a client sends as `Authorization: Bearer <token>`.
//
// A token is "rq_" followed by 32 random bytes in unpadded base64url (43
// characters). Only its SHA-256 is ever stored, so a stolen database holds no
// usable secret; 256 random bits need no salt or slow hash.
#pragma once

#include <string>
#include <string_view>

#include "core/model/status.h"
#include "core/util/digest.h"  // Sha256Hex: what the store keeps of a token

namespace renderq {

inline constexpr std::string_view kTokenPrefix = "rq_";

// A fresh token from getrandom(2).
Result<std::string> NewToken();

}  // namespace renderq
