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
#include "core/model/queue_rules.h"
#include "core/model/status.h"
#include "core/store/job_store.h"
#include "core/util/db_uri.h"  // RedactedDb, for programs' log lines

namespace renderq {

struct StoreOptions {
  QueueRules rules;
  // SQLite: the directory that holds the jobs' results, previews and
  // checkpoints ("": "results" beside the database). PostgreSQL keeps those
  // in the database; there it is where a web host keeps copies of results for
  // nginx to send ("": none, results travel in the responses).
  std::string results_dir;
  // Where now() comes from. nullptr: the backend's own (this host's clock for
  // SQLite, the database server's for PostgreSQL). Tests pass a ManualClock.
  Clock* clock = nullptr;
  int busy_timeout_ms = 5000;   // SQLite: wait for another process's write lock
  std::size_t max_batch = 512;  // group commit: units per transaction
  // WaitForChange() also returns on every job event's commit, once it can be
  // read (the dispatcher, which reads without writing).
  bool wake_on_events = false;
  // Tests only, PostgreSQL only: a planted fencing bug (a finish accepted from
  // a stale lease) for tests/ha's history checker to find. See
  // PgStorageOptions::test_accept_stale_finish.
  bool test_accept_stale_finish = false;
};

Result<std::unique_ptr<JobStore>> OpenJobStore(const std::string& db, const StoreOptions& options);

}  // namespace renderq
