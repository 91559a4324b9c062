// OpenJobStore: the one way a program opens its queue.
//
// `db` is what --db / RENDERQ_DB say: a SQLite file path (var/queue.db), or a
// libpq connection URI (postgresql://renderq@db.example:5432/renderq?sslmode=
// verify-full; "postgres://" too) for the shared queue of several hosts. The
// password never belongs in the URI: libpq reads PGPASSFILE (docs/scaling.md).
// Opening applies the schema migrations of that backend.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/model/clock.h"
#include "core/store/queue_job_store.h"
#include "core/model/queue_rules.h"
#include "core/model/status.h"

namespace renderq {

struct StoreOptions {
  QueueRules rules;
  // SQLite: the directory beside the database that holds the jobs' results,
  // previews and checkpoints ("" where a program needs none of them).
  // PostgreSQL keeps those in the database and ignores it.
  std::string results_dir;
  // Where now() comes from. nullptr: the backend's own (this host's clock for
  // SQLite, the database server's for PostgreSQL). Tests pass a ManualClock.
  Clock* clock = nullptr;
  int busy_timeout_ms = 5000;   // SQLite: wait for another process's write lock
  std::size_t max_batch = 512;  // group commit: units per transaction
};

// True for "postgresql://..." and "postgres://..." URIs.
bool IsPostgresUri(std::string_view db);

// `db` fit for a log line: a password in a URI's user info becomes "***".
std::string RedactedDb(std::string_view db);

Result<std::unique_ptr<QueueJobStore>> OpenJobStore(const std::string& db,
                                                    const StoreOptions& options);

}  // namespace renderq
