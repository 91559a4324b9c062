#include "core/store/open_job_store.h"

#include "core/postgres/pg_storage.h"
#include "core/sqlite/sqlite_storage.h"

namespace renderq {
namespace {

Result<std::unique_ptr<QueueStorage>> OpenSqlite(const std::string& path,
                                                 const StoreOptions& options) {
  SqliteStorageOptions sqlite;
  sqlite.path = path;
  sqlite.results_dir = options.results_dir;
  sqlite.db.busy_timeout_ms = options.busy_timeout_ms;
  if (options.clock != nullptr) sqlite.clock = options.clock;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStorage> storage, SqliteStorage::Open(sqlite));
  return std::unique_ptr<QueueStorage>(std::move(storage));
}

}  // namespace

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

Result<std::unique_ptr<QueueJobStore>> OpenJobStore(const std::string& db,
                                                    const StoreOptions& options) {
  if (db.empty()) return Status::InvalidArgument("no database given (--db or RENDERQ_DB)");
  std::unique_ptr<QueueStorage> storage;
  if (IsPostgresUri(db)) {
    PgStorageOptions postgres;
    postgres.uri = db;
    postgres.clock = options.clock;
    ASSIGN_OR_RETURN(storage, PgStorage::Open(postgres));
  } else {
    ASSIGN_OR_RETURN(storage, OpenSqlite(db, options));
  }
  QueueJobStoreOptions store;
  store.rules = options.rules;
  store.max_batch = options.max_batch;
  return QueueJobStore::Create(std::move(storage), store);
}

}  // namespace renderq
