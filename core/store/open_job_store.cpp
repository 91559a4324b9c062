#include "core/store/open_job_store.h"

#include <filesystem>

#include "core/sqlite/sqlite_storage.h"
#include "core/store/queue_job_store.h"
#include "core/util/db_uri.h"
#ifdef RENDERQ_HAVE_POSTGRES
#include "core/postgres/pg_storage.h"
#endif

namespace renderq {
namespace {

// The SQLite backend keeps its job files in `results_dir`, by default the
// directory "results" beside the database.
Result<std::unique_ptr<QueueStorage>> OpenSqlite(const std::string& path,
                                                 const StoreOptions& options) {
  SqliteStorageOptions sqlite;
  sqlite.path = path;
  sqlite.results_dir = options.results_dir.empty()
                           ? (std::filesystem::path(path).parent_path() / "results").string()
                           : options.results_dir;
  sqlite.db.busy_timeout_ms = options.busy_timeout_ms;
  if (options.clock != nullptr) sqlite.clock = options.clock;
  sqlite.settle_on_wake = options.wake_on_events;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStorage> storage, SqliteStorage::Open(sqlite));
  return std::unique_ptr<QueueStorage>(std::move(storage));
}

Result<std::unique_ptr<QueueStorage>> OpenPostgres(const std::string& uri,
                                                   const StoreOptions& options) {
#ifdef RENDERQ_HAVE_POSTGRES
  PgStorageOptions postgres;
  postgres.uri = uri;
  postgres.clock = options.clock;
  postgres.wake_on_events = options.wake_on_events;
  postgres.test_accept_stale_finish = options.test_accept_stale_finish;
  ASSIGN_OR_RETURN(std::unique_ptr<PgStorage> storage, PgStorage::Open(postgres));
  return std::unique_ptr<QueueStorage>(std::move(storage));
#else
  (void)uri;
  (void)options;
  return Status::InvalidArgument(
      "this build has no PostgreSQL backend (configured with -DRENDERQ_POSTGRES=OFF); give a "
      "SQLite database file");
#endif
}

}  // namespace

Result<std::unique_ptr<JobStore>> OpenJobStore(const std::string& db, const StoreOptions& options) {
  if (db.empty()) return Status::InvalidArgument("no database given (--db or RENDERQ_DB)");
  std::unique_ptr<QueueStorage> storage;
  QueueJobStoreOptions store;
  store.rules = options.rules;
  store.max_batch = options.max_batch;
  if (options.test_accept_stale_finish && !IsPostgresUri(db)) {
    return Status::InvalidArgument("the planted stale-finish bug exists on PostgreSQL only");
  }
  if (IsPostgresUri(db)) {
    ASSIGN_OR_RETURN(storage, OpenPostgres(db, options));
    // The database holds the results; a web host keeps copies for nginx.
    store.result_cache_dir = options.results_dir;
  } else {
    ASSIGN_OR_RETURN(storage, OpenSqlite(db, options));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<QueueJobStore> opened,
                   QueueJobStore::Create(std::move(storage), store));
  return std::unique_ptr<JobStore>(std::move(opened));
}

}  // namespace renderq
