// The SQLite schema migrations of sql/sqlite/NNN_*.sql, compiled in, and how they are applied.
//
// PRAGMA user_version holds the number of the last migration applied. Applying
// is idempotent and safe against several processes opening a fresh file at
// once: it runs under BEGIN IMMEDIATE and re-reads the version inside.
#pragma once

#include <span>

#include "core/sqlite/sqlite_db.h"
#include "core/store/migration.h"
#include "core/model/status.h"

namespace renderq {

// Every SQLite migration, in version order (generated from sql/sqlite/ at build time).
std::span<const Migration> SqliteMigrations();

// The version a fully migrated database has.
int LatestSqliteSchemaVersion();

// Brings the database to LatestSqliteSchemaVersion(). Returns the version it found.
// A database newer than this binary is an error (kUnavailable): an older
// binary must not write to a schema it does not know.
Result<int> ApplySqliteMigrations(SqliteDb& db);

}  // namespace renderq
