// Conditional GETs (RFC 9110 section 13): ETag and If-None-Match -> 304.
//
// Pollers (the web console, scripts) send back the ETag of the last answer they
// got; when nothing they would see has changed, the answer is a bodyless 304, so
// a quiet queue costs a poller almost nothing on the wire and in the browser.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/util/digest.h"  // WeakEtag, StrongEtag: the tags this applies
#include "fcgi/http.h"

namespace renderq {

// True when an If-None-Match field value matches `etag` by weak comparison
// (RFC 9110 13.1.2): "*", or a comma-separated list holding a tag with the same
// opaque value, W/ or not. A malformed list matches nothing.
bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag);

// Sets `etag` on a 200 answer to a GET or HEAD and, when the request's
// If-None-Match matches it, turns the answer into 304 Not Modified: no body, no
// Content-Type, no Location, the ETag and Cache-Control kept. Other answers are
// left as they are.
void ApplyEtag(const HttpRequest& request, std::string etag, HttpResponse& response);

}  // namespace renderq
