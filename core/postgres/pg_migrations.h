// The PostgreSQL schema migrations of sql/postgres/NNN_*.sql, compiled in, and
// how they are applied.
//
// The table renderq_schema_version holds the number of the last migration
// applied. Applying runs in one transaction under an advisory lock, so any
// number of processes on any number of hosts may open a fresh database at
// once; it is idempotent.
#pragma once

#include <span>

#include "core/postgres/pg_conn.h"
#include "core/store/migration.h"
#include "core/model/status.h"

namespace renderq {

// Every PostgreSQL migration, in version order (generated from sql/postgres/).
std::span<const Migration> PostgresMigrations();

// Brings the database to the latest version. Returns the version it found.
// A database newer than this binary is an error (kUnavailable).
Result<int> ApplyPostgresMigrations(PgConn& conn);

}  // namespace renderq
