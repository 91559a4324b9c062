// The schema migrations of sql/NNN_*.sql, compiled in, and how they are applied.
//
// PRAGMA user_version holds the number of the last migration applied. Applying
// is idempotent and safe against several processes opening a fresh file at
// once: it runs under BEGIN IMMEDIATE and re-reads the version inside.
#pragma once

#include <span>

#include "core/sqlite_db.h"
#include "core/status.h"

namespace renderq {

struct Migration {
  int version;       // 1, 2, ...: the NNN of the file name
  const char* name;  // "001_initial.sql"
  const char* sql;
};

// Every migration, in version order (generated from sql/ at build time).
std::span<const Migration> Migrations();

// The version a fully migrated database has.
int LatestSchemaVersion();

// Brings the database to LatestSchemaVersion(). Returns the version it found.
// A database newer than this binary is an error (kUnavailable): an older
// binary must not write to a schema it does not know.
Result<int> ApplyMigrations(SqliteDb& db);

}  // namespace renderq
