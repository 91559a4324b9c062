#include "core/sqlite/sqlite_migrations.h"

#include <string>

namespace renderq {
namespace {

Result<int> UserVersion(SqliteDb& db) {
  ASSIGN_OR_RETURN(Statement statement, db.Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, statement.Step());
  if (!row) return Status::Internal("sqlite: PRAGMA user_version returned nothing");
  return static_cast<int>(statement.Int(0));
}

}  // namespace

int LatestSqliteSchemaVersion() {
  auto all = SqliteMigrations();
  return all.empty() ? 0 : all.back().version;
}

Result<int> ApplySqliteMigrations(SqliteDb& db) {
  // The common case (already current) takes no write lock.
  ASSIGN_OR_RETURN(int found, UserVersion(db));
  if (found == LatestSqliteSchemaVersion()) return found;

  // A migration may rebuild a table (SQLite's procedure for changes ALTER TABLE
  // cannot make): with foreign keys on, dropping the old table would run its
  // ON DELETE actions on every row that refers to it. They are off for the
  // migration (the pragma is a no-op inside a transaction) and checked before
  // its COMMIT; the connection gets them back however this returns.
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = OFF"));
  struct ForeignKeysBackOn {
    SqliteDb& db;
    ~ForeignKeysBackOn() { (void)db.Exec("PRAGMA foreign_keys = ON"); }
  } back_on{db};
  ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(db));
  ASSIGN_OR_RETURN(found, UserVersion(db));  // another process may have migrated meanwhile
  if (found > LatestSqliteSchemaVersion()) {
    return Status::Unavailable("database schema version " + std::to_string(found) +
                               " is newer than this build knows (" +
                               std::to_string(LatestSqliteSchemaVersion()) + ")");
  }
  for (const Migration& migration : SqliteMigrations()) {
    if (migration.version <= found) continue;
    Status applied = db.Exec(migration.sql);
    if (!applied.ok()) {
      return Status(applied.code(),
                    std::string("migration ") + migration.name + ": " + applied.message());
    }
    // The version is a number from our own table, not outside input.
    std::string set_version = "PRAGMA user_version = " + std::to_string(migration.version);
    RETURN_IF_ERROR(db.Exec(set_version.c_str()));
  }
  {
    ASSIGN_OR_RETURN(Statement check, db.Prepare("PRAGMA foreign_key_check"));
    ASSIGN_OR_RETURN(bool dangling, check.Step());
    if (dangling) {
      return Status::Internal("migrations left a dangling reference in table " + check.Text(0));
    }
  }
  RETURN_IF_ERROR(transaction.Commit());
  return found;
}

}  // namespace renderq
