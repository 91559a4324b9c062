// SqliteJobStore: the JobStore on one SQLite file in WAL mode.
//
// Writes from the responder (Submit, Cancel, Retry, token changes) go through
// group commit (core/sqlite_group_commit.h): one writer thread and connection
// commits every pending write in one transaction, so a submit returns once its
// job is on disk while thousands per second share each fsync. Admission checks
// (idempotency keys, per-owner and total limits, drain time) run inside that
// transaction, so they are exact.
// Reads and the worker's writes use a pool of connections, one per calling
// thread at a time; worker writes are short BEGIN IMMEDIATE transactions fenced
// by the lease (job id + lease id + state running).
//
// Derived fields: a queued job's position is 1 + the queued jobs with a smaller
// seq; its eta_seconds is (cost of every queued job ahead of it and its own +
// what remains of the running jobs) / the queue's drain rate. A running job's
// eta comes from its progress rate. The drain rate is the sum of the measured
// throughput of live workers (heartbeat within the lease timeout), or
// UnitsPerSecond() when none is live; UnitsPerSecond() is the best measured
// per-worker throughput (one job runs on one worker), or
// options.default_units_per_second before any worker measured.
//
// Waking the worker: WaitForChange() blocks on inotify (IN_MODIFY) on the
// database's -wal file, which every commit from any process appends to; a
// worker calls it when ClaimNext() found nothing and claims again when it
// returns. The watch is armed by ClaimNext(), so a commit that lands between
// an empty ClaimNext() and WaitForChange() still wakes it at once.
//
// Thread safety: every method may be called from any thread. Open only after
// any fork(). Several processes may open the same file at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/cost_model.h"
#include "core/job_store.h"
#include "core/sqlite_db.h"
#include "core/sqlite_group_commit.h"
#include "core/sqlite_pool.h"

namespace renderq {

struct AdmissionCache;  // sqlite_job_store.cpp

struct SqliteJobStoreOptions {
  std::string path;                                 // the database file (e.g. var/queue.db)
  int busy_timeout_ms = 5000;                       // wait for another process's write lock
  TimeMs lease_timeout_ms = 15000;                  // heartbeat older than this: the worker is lost
  int max_attempts = 3;                             // lost this often: failed with worker_lost
  TimeMs idempotency_window_ms = 24 * 3600 * 1000;  // a key replays within this window
  QueueLimits limits;                               // admission limits (job_store.h)
  double default_units_per_second = kDefaultUnitsPerSecond;  // until a worker has measured
  Clock* clock = SystemClock::Instance();                    // not owned; ManualClock in tests
  std::size_t max_batch = 512;                               // group commit: units per transaction
};

class SqliteJobStore final : public JobStore {
 public:
  // Opens the database, creating it if needed, and applies the migrations.
  static Result<std::unique_ptr<SqliteJobStore>> Open(const SqliteJobStoreOptions& options);
  ~SqliteJobStore() override;

  Result<Owner> Authenticate(const std::string& token) override;
  Result<std::string> CreateToken(const std::string& name) override;
  Result<std::vector<TokenInfo>> ListTokens() override;
  Status RevokeToken(const std::string& name) override;
  Result<std::string> RotateToken(const std::string& name) override;

  Result<SubmitOutcome> Submit(const SubmitRequest& request) override;
  Result<Job> Get(std::int64_t owner_id, const std::string& job_id) override;
  Result<JobPage> List(const ListRequest& request) override;
  Result<CancelOutcome> Cancel(std::int64_t owner_id, const std::string& job_id) override;
  Result<QueueSnapshot> Queue() override;
  Result<Job> Retry(const std::string& job_id) override;
  Result<double> UnitsPerSecond() override;
  Status Ping() override;

  Status RegisterWorker(const WorkerInfo& worker) override;
  Result<std::optional<ClaimedJob>> ClaimNext(const std::string& worker_name) override;
  Result<bool> Heartbeat(const Lease& lease, double progress) override;
  Status SaveCheckpoint(const Lease& lease, const std::string& path, std::int64_t samples) override;
  Status Finish(const Lease& lease, const FinishRequest& request) override;
  Status Fail(const Lease& lease, const std::string& code, const std::string& message) override;
  Status MarkCanceled(const Lease& lease) override;
  Status Release(const Lease& lease, bool spend_attempt) override;
  Status RecordThroughput(const std::string& worker_name, double units_per_second) override;
  Status WorkerHeartbeat(const std::string& worker_name) override;
  Result<int> RequeueLapsed() override;
  Result<int> RequeueWorkerJobs(const std::string& worker_name) override;
  Status WaitForChange(std::chrono::milliseconds timeout) override;

  Result<std::vector<std::string>> Purge(TimeMs cutoff) override;
  Status Backup(const std::string& destination_path) override;
  Result<std::vector<std::string>> IntegrityCheck() override;
  Result<std::vector<std::string>> SucceededJobIds() override;
  Result<JobStats> Stats(TimeMs finished_since, const std::vector<double>& bounds) override;

  // Group commit counters (tests and metrics: batches < units under load).
  SqliteGroupCommit::Stats GroupCommitStats() const { return writer_->stats(); }
  const SqliteJobStoreOptions& options() const { return options_; }

 private:
  SqliteJobStore(SqliteJobStoreOptions options, std::unique_ptr<SqlitePool> pool,
                 std::unique_ptr<SqliteGroupCommit> writer);

  // A worker-side write: a BEGIN IMMEDIATE transaction on a pooled connection.
  Status WorkerWrite(const std::function<Status(SqliteDb&)>& work);
  Status ArmChangeWatch();

  const SqliteJobStoreOptions options_;
  const std::unique_ptr<SqlitePool> pool_;
  const std::unique_ptr<SqliteGroupCommit> writer_;
  // What admission needs about the queue, read once per group-commit batch and
  // kept current by the submits of that batch (nobody else can write while the
  // batch holds the write lock). Used on the writer thread only.
  std::unique_ptr<AdmissionCache> admission_;
  std::mutex watch_mu_;
  int watch_fd_ = -1;  // inotify on the -wal file; guarded by watch_mu_
};

}  // namespace renderq
