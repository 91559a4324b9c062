// What --db / RENDERQ_DB holds: a SQLite file path or a libpq connection URI.
// Only OpenJobStore decides by it; programs hand the string on unread.
#pragma once

#include <string>
#include <string_view>

namespace renderq {

// True for "postgresql://..." and "postgres://..." URIs.
bool IsPostgresUri(std::string_view db);

// `db` fit for a log line: a password in a URI's user info becomes "***".
std::string RedactedDb(std::string_view db);

}  // namespace renderq
