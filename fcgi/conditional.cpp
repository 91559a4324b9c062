#include "fcgi/conditional.h"

#include <utility>

#include "core/util/strings.h"

namespace renderq {

namespace {

// The opaque part of an entity tag, quotes included: W/"x" -> "x".
std::string_view Opaque(std::string_view tag) {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

bool IsQuoted(std::string_view tag) {
  return tag.size() >= 2 && tag.front() == '"' && tag.back() == '"' &&
         tag.substr(1, tag.size() - 2).find('"') == std::string_view::npos;
}

}  // namespace

bool IfNoneMatchMatches(std::string_view if_none_match, std::string_view etag) {
  const std::string_view list = TrimSpaces(if_none_match);
  if (list == "*") return true;
  const std::string_view want = Opaque(etag);
  std::size_t begin = 0;
  while (begin <= list.size()) {
    const std::size_t comma = list.find(',', begin);
    const std::string_view item =
        TrimSpaces(list.substr(begin, comma == std::string_view::npos ? list.npos : comma - begin));
    const std::string_view opaque = Opaque(item);
    if (IsQuoted(opaque) && opaque == want) return true;
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return false;
}

void ApplyEtag(const HttpRequest& request, std::string etag, HttpResponse& response) {
  if (response.status != 200 || (request.method != "GET" && request.method != "HEAD")) return;
  const bool not_modified =
      !request.if_none_match.empty() && IfNoneMatchMatches(request.if_none_match, etag);
  response.SetHeader("ETag", std::move(etag));
  if (!not_modified) return;
  response.status = 304;
  response.body.clear();
  std::erase_if(response.headers, [](const auto& header) {
    const std::string& name = header.first;
    return name == "Content-Type" || name == "Location";
  });
}

}  // namespace renderq
