#include "fcgi/request_body.h"

#include <string>

#include "core/util/strings.h"
#include "fcgi/problem.h"

namespace renderq {

bool IsJsonContentType(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  if (!EqualsIgnoreCase(TrimSpaces(content_type.substr(0, semi)), "application/json")) {
    return false;
  }
  while (semi != std::string_view::npos && semi < content_type.size()) {
    content_type = content_type.substr(semi + 1);
    const std::size_t next = content_type.find(';');
    const std::string_view param = TrimSpaces(content_type.substr(0, next));
    const std::size_t eq = param.find('=');
    if (eq != std::string_view::npos && EqualsIgnoreCase(TrimSpaces(param.substr(0, eq)), "charset")) {
      std::string_view value = TrimSpaces(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (!EqualsIgnoreCase(value, "utf-8")) return false;
    }
    if (next == std::string_view::npos) break;
  }
  return true;
}

std::optional<HttpResponse> RefuseJsonBody(const HttpRequest& request) {
  if (!request.content_length) {
    return MakeProblem(ProblemType::kLengthRequired,
                       "a Content-Length is required (chunked bodies are not accepted)");
  }
  if (*request.content_length > kMaxBodyBytes) {
    return MakeProblem(ProblemType::kBodyTooLarge,
                       "the body of " + std::to_string(*request.content_length) +
                           " bytes is over the limit of " + std::to_string(kMaxBodyBytes) +
                           " bytes");
  }
  if (!IsJsonContentType(request.content_type)) {
    return MakeProblem(ProblemType::kUnsupportedMediaType,
                       request.content_type.empty()
                           ? std::string("Content-Type must be application/json")
                           : "Content-Type must be application/json, not " + request.content_type);
  }
  if (request.body.size() != *request.content_length) {
    return MakeProblem(ProblemType::kMalformedBody,
                       "received " + std::to_string(request.body.size()) + " of the " +
                           std::to_string(*request.content_length) + " bytes announced");
  }
  return std::nullopt;
}

}  // namespace renderq
