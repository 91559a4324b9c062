// Standard base64 (RFC 4648 section 4, with padding), as Standard Webhooks
// writes secrets ("whsec_<base64>") and signatures ("v1,<base64>").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace renderq::notify {

std::string Base64Encode(std::string_view bytes);

// The bytes, or nullopt when `text` is not canonical padded base64 (wrong
// length, a character outside the alphabet, padding anywhere but the end).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace renderq::notify
