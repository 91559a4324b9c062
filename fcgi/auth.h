// Who is asking: the bearer token of a request resolved to its owner.
//
// Thread-safe as the store is.
#pragma once

#include <optional>
#include <string_view>
#include <variant>

#include "core/store/job_store.h"
#include "fcgi/http.h"

namespace renderq {

// "Bearer <token>" (scheme case-insensitive, RFC 6750) -> the token.
std::optional<std::string_view> BearerToken(std::string_view authorization);

// The request's owner, or the answer it gets instead: 401 with
// WWW-Authenticate for a missing, malformed, unknown or revoked token, 503
// when the store cannot say.
std::variant<Owner, HttpResponse> Authenticate(JobStore& store, const HttpRequest& request);

}  // namespace renderq
