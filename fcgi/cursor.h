// List cursors: the opaque `next_cursor` of GET /api/v1/jobs.
//
// A cursor encodes the place in line (seq) of the last job of a page, not a job
// id (ids never appear in query strings), as unpadded base64url text so that
// clients treat it as opaque. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace renderq {

std::string EncodeCursor(std::int64_t before_seq);
// nullopt for anything EncodeCursor did not produce (or a seq <= 0).
std::optional<std::int64_t> DecodeCursor(std::string_view cursor);

}  // namespace renderq
