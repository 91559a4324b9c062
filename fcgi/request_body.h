// The checks every JSON request body passes before it is parsed: a length
// (411), at most kMaxBodyBytes (413), application/json in UTF-8 (415), and
// the whole announced body received (400).
//
// Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "fcgi/http.h"

namespace renderq {

// application/json, with parameters allowed as long as a charset is UTF-8.
bool IsJsonContentType(std::string_view content_type);

// The problem a JSON body gets before it is parsed; nullopt when it may be parsed.
std::optional<HttpResponse> RefuseJsonBody(const HttpRequest& request);

}  // namespace renderq
