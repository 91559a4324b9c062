#include "core/open_job_store.h"

#include "core/sqlite_storage.h"

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

Result<std::unique_ptr<QueueJobStore>> OpenJobStore(const std::string& db,
                                                    const StoreOptions& options) {
  if (db.empty()) return Status::InvalidArgument("no database given (--db or RENDERQ_DB)");
  std::unique_ptr<QueueStorage> storage;
  if (IsPostgresUri(db)) {
    return Status::InvalidArgument("this build has no PostgreSQL backend");
  }
  SqliteStorageOptions sqlite;
  sqlite.path = db;
  sqlite.results_dir = options.results_dir;
  sqlite.db.busy_timeout_ms = options.busy_timeout_ms;
  if (options.clock != nullptr) sqlite.clock = options.clock;
  ASSIGN_OR_RETURN(storage, SqliteStorage::Open(sqlite));
  QueueJobStoreOptions store;
  store.rules = options.rules;
  store.max_batch = options.max_batch;
  return QueueJobStore::Create(std::move(storage), store);
}

}  // namespace renderq
