// The OpenAPI 3.1 document of the API (docs/openapi.yaml), compiled in as JSON
// by fcgi/embed_openapi.py and served at GET /api/v1/openapi.json.
#pragma once

#include <string_view>

namespace renderq {

// The whole document, compact JSON, UTF-8. Static storage; thread-safe.
std::string_view OpenApiDocumentJson();

}  // namespace renderq
