// Query strings: "state=queued&limit=5" split into decoded name/value pairs.
// Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace renderq {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits on '&', then on the first '='; percent-decodes names and values and
// reads '+' as a space (application/x-www-form-urlencoded). Empty segments
// ("a=1&&b=2") are skipped. nullopt when a '%' escape is malformed.
std::optional<QueryParams> ParseQuery(std::string_view query);

}  // namespace renderq
