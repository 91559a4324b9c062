#include "core/util/db_uri.h"

namespace renderq {

bool IsPostgresUri(std::string_view db) {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::string RedactedDb(std::string_view db) {
  if (!IsPostgresUri(db)) return std::string(db);
  const std::size_t scheme = db.find("://") + 3;
  const std::size_t at = db.find('@', scheme);
  const std::size_t colon = db.find(':', scheme);
  const std::size_t slash = db.find('/', scheme);
  if (at == std::string_view::npos || colon == std::string_view::npos || colon > at ||
      (slash != std::string_view::npos && slash < at)) {
    return std::string(db);
  }
  return std::string(db.substr(0, colon + 1)) + "***" + std::string(db.substr(at));
}

}  // namespace renderq
