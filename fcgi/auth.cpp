#include "fcgi/auth.h"

#include <stdexcept>
#include <string>

#include "core/util/strings.h"
#include "fcgi/responses.h"

namespace renderq {

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  const std::string_view token = TrimSpaces(authorization.substr(kScheme.size()));
  if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
  return token;
}

std::variant<Owner, HttpResponse> Authenticate(JobStore& store, const HttpRequest& request) {
  const std::optional<std::string_view> token = BearerToken(request.authorization);
  if (!token) {
    const bool sent = !request.authorization.empty();
    return Unauthorized(sent ? "the Authorization header is not 'Bearer <token>'"
                             : "an Authorization: Bearer <token> header is required",
                        sent);
  }
  Result<Owner> owner = store.Authenticate(std::string(*token));
  if (!owner.ok()) {
    if (owner.status().code() == StatusCode::kNotFound) {
      return Unauthorized("unknown or revoked token", /*token_was_sent=*/true);
    }
    return StoreProblem(owner.status());
  }
  if (owner->id <= 0) throw std::logic_error("store authenticated a token to owner id 0");
  return std::move(*owner);
}

}  // namespace renderq
