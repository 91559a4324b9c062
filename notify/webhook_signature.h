// Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature
// scheme"): the receiver gets three headers,
//
//   webhook-id:        the event's id, the same on every retry of it
//   webhook-timestamp: the attempt's time in unix seconds (receivers refuse
//                      old ones, which stops replays)
//   webhook-signature: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))
//
// where key is the secret's decoded bytes (the part after "whsec_").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace renderq::notify {

// The signed content: "<id>.<timestamp>.<body>".
std::string SignedContent(std::string_view id, std::int64_t timestamp, std::string_view body);

// "v1,<base64 HMAC-SHA256>" of SignedContent under `key` (raw secret bytes).
std::string SignatureHeader(std::string_view key, std::string_view id, std::int64_t timestamp,
                            std::string_view body);

}  // namespace renderq::notify
