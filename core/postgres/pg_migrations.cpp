#include "core/postgres/pg_migrations.h"

#include <string>

namespace renderq {
namespace {

// pg_advisory_xact_lock's key for "migrating renderq's schema".
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7263851001)";

int LatestPostgresVersion() {
  auto all = PostgresMigrations();
  return all.empty() ? 0 : all.back().version;
}

Result<int> CurrentVersion(PgConn& conn) {
  ASSIGN_OR_RETURN(PgResult exists,
                   conn.Exec("SELECT to_regclass('renderq_schema_version') IS NOT NULL"));
  if (!exists.Bool(0, 0)) return 0;
  ASSIGN_OR_RETURN(PgResult version, conn.Exec("SELECT version FROM renderq_schema_version"));
  return version.rows() == 0 ? 0 : static_cast<int>(version.Int(0, 0));
}

}  // namespace

Result<int> ApplyPostgresMigrations(PgConn& conn) {
  // The common case (already current) takes no lock.
  ASSIGN_OR_RETURN(int found, CurrentVersion(conn));
  if (found == LatestPostgresVersion()) return found;

  RETURN_IF_ERROR(conn.Exec("BEGIN").status());
  auto fail = [&](Status s) {
    (void)conn.Exec("ROLLBACK");
    return s;
  };
  if (Result<PgResult> locked = conn.Exec(kMigrationLock); !locked.ok()) {
    return fail(locked.status());
  }
  Result<int> current = CurrentVersion(conn);  // another process may have migrated meanwhile
  if (!current.ok()) return fail(current.status());
  found = *current;
  if (found > LatestPostgresVersion()) {
    return fail(Status::Unavailable("database schema version " + std::to_string(found) +
                                    " is newer than this build knows (" +
                                    std::to_string(LatestPostgresVersion()) + ")"));
  }
  if (found == 0) {
    Result<PgResult> made = conn.Exec(
        "CREATE TABLE renderq_schema_version (version integer NOT NULL CHECK (version > 0));"
        "INSERT INTO renderq_schema_version VALUES (1)");
    if (!made.ok()) return fail(made.status());
  }
  for (const Migration& migration : PostgresMigrations()) {
    if (migration.version <= found) continue;
    Result<PgResult> applied = conn.Exec(migration.sql);
    if (!applied.ok()) {
      return fail(Status(applied.status().code(), std::string("migration ") + migration.name +
                                                      ": " + applied.status().message()));
    }
    // The version is a number from our own table, not outside input.
    Result<PgResult> set = conn.Exec("UPDATE renderq_schema_version SET version = " +
                                     std::to_string(migration.version));
    if (!set.ok()) return fail(set.status());
  }
  RETURN_IF_ERROR(conn.Commit());
  return found;
}

}  // namespace renderq
