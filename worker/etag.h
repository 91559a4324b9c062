// Entity tags for result files: a strong validator derived from the bytes, so
// the same image always gets the same tag (re-rendering a job after a crash
// reproduces it) and nginx/clients can revalidate with If-None-Match.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace renderq {

// "\"<first 32 hex digits of SHA-256(bytes)>\"", quotes included (RFC 9110).
std::string ContentEtag(std::span<const std::uint8_t> bytes);

}  // namespace renderq
