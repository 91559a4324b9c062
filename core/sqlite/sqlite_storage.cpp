#include "core/sqlite/sqlite_storage.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>
#include <utility>

#include "core/sqlite/results_dir.h"
#include "core/sqlite/sqlite_maintenance.h"
#include "core/sqlite/sqlite_migrations.h"
#include "core/store/worker_kinds_column.h"
#include "core/util/atomic_file.h"
#include "core/util/instance_lock.h"
#include "core/util/unique_fd.h"

namespace renderq {
namespace {

// The columns ReadJobRow() expects, in its order.
#define RQ_JOB_COLUMNS                                                                       \
  "seq, id, owner_id, state, attempts, cancel_requested, progress, created_at, started_at, " \
  "finished_at, error_code, error_message, kind, width, height, samples, max_depth, "        \
  "cost_units, device, render_seconds, samples_per_second, result_etag, media_type"
constexpr int kJobColumnCount = 23;
// The lease fence: the last two parameters of every fenced write.
#define RQ_FENCE " WHERE id = ? AND lease_id = ? AND state = 'running'"

Job ReadJobRow(const Statement& row) {
  Job job;
  job.seq = row.Int(0);
  job.id = row.Text(1);
  job.owner_id = row.Int(2);
  job.state = ParseJobState(row.Text(3)).value_or(JobState::kFailed);  // CHECK keeps it valid
  job.attempts = static_cast<int>(row.Int(4));
  job.cancel_requested = row.Int(5) != 0;
  job.progress = row.Real(6);
  job.created_at = row.Int(7);
  job.started_at = row.OptInt(8);
  job.finished_at = row.OptInt(9);
  job.error_code = row.OptText(10);
  job.error_message = row.OptText(11);
  job.kind = row.Text(12);
  if (!row.IsNull(13)) {  // a CHECK keeps the four set together, for scene jobs only
    job.scene = SceneShape{static_cast<int>(row.Int(13)), static_cast<int>(row.Int(14)),
                           static_cast<int>(row.Int(15)), static_cast<int>(row.Int(16))};
  }
  job.cost_units = row.Real(17);
  job.device = row.OptText(18);
  job.render_seconds = row.OptReal(19);
  job.samples_per_second = row.OptReal(20);
  job.result_etag = row.OptText(21);
  job.media_type = row.OptText(22);
  return job;
}

Result<std::vector<Job>> ReadJobRows(Statement& q) {
  std::vector<Job> jobs;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    jobs.push_back(ReadJobRow(q));
  }
  return jobs;
}

// Runs `statement`; true when it changed a row (for fenced writes).
Result<bool> ChangedARow(SqliteDb& db, Statement& statement) {
  RETURN_IF_ERROR(statement.Run());
  return db.Changes() > 0;
}

Status NoResultsDir() {
  return Status::Unavailable("the store has no results directory (--results) for job files");
}

// One transaction on one connection (pooled, or the group commit writer's).
class SqliteTx final : public StorageTx {
 public:
  // `transaction` empty: a single statement in autocommit mode.
  SqliteTx(SqliteDb* db, std::optional<PooledDb> pooled, std::optional<Transaction> transaction,
           TimeMs now, std::string results_dir)
      : db_(db),
        pooled_(std::move(pooled)),
        transaction_(std::move(transaction)),
        now_(now),
        results_dir_(std::move(results_dir)),
        autocommit_(!transaction_.has_value()) {}

  ~SqliteTx() override {
    transaction_.reset();  // rolls back unless committed
    if (restore_full_sync_) (void)db_->Exec("PRAGMA synchronous = FULL");
  }

  void RestoreFullSyncAtEnd(bool restore) { restore_full_sync_ = restore; }

  TimeMs now() const override { return now_; }
  bool Active() const override {
    return !autocommit_ && transaction_.has_value() && db_->InTransaction();
  }

  Status Commit() override {
    if (autocommit_) return Status::Ok();
    if (!transaction_) return Status::Internal("transaction already ended");
    Status committed = transaction_->Commit();
    transaction_.reset();
    if (!committed.ok()) return committed;
    RemoveFilesOfEndedJobs();
    return Status::Ok();
  }

  Status BeginUnit() override {
    ASSIGN_OR_RETURN(Savepoint unit, Savepoint::Begin(*db_));
    unit_.emplace(std::move(unit));
    return Status::Ok();
  }

  Status EndUnit(bool keep) override {
    if (!unit_) return Status::Internal("no unit to end");
    Status s = keep ? unit_->Release() : Status::Ok();
    unit_.reset();  // rolls back unless released
    if (!keep) files_after_commit_.resize(files_mark_);
    files_mark_ = files_after_commit_.size();
    return s;
  }

  // ---- reads

  Result<QueueLoad> ReadQueueLoad(TimeMs live_since) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare(
            "SELECT q.n, q.cost, q.head, (SELECT cost_units FROM jobs WHERE seq = q.head),"
            " (SELECT total(cost_units * (1 - progress)) FROM jobs WHERE state = 'running'),"
            " (SELECT max(units_per_second) FROM workers),"
            " (SELECT total(iif(heartbeat_at >= ?1, units_per_second, 0)) FROM workers) "
            "FROM (SELECT count(*) AS n, total(cost_units) AS cost, min(seq) AS head"
            "      FROM jobs WHERE state = 'queued') AS q"));
    q.Bind(live_since);
    ASSIGN_OR_RETURN(bool row, q.Step());
    QueueLoad load;
    if (!row) return load;
    load.queued = q.Int(0);
    load.queued_cost = q.Real(1);
    load.head_seq = q.OptInt(2);
    load.head_cost = q.OptReal(3).value_or(0.0);
    load.running_remaining = q.Real(4);
    load.best_units_per_second = q.OptReal(5);
    load.live_units_per_second = q.Real(6);
    return load;
  }

  Result<QueuedAhead> ReadQueuedBefore(std::int64_t seq) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare(
            "SELECT count(*), total(cost_units) FROM jobs WHERE state = 'queued' AND seq < ?"));
    q.Bind(seq);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::Internal("aggregate returned no row");
    return QueuedAhead{q.Int(0), q.Real(1)};
  }

  Result<OwnerLoad> ReadOwnerLoad(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare(
            "SELECT o.n, (SELECT total(cost_units) FROM jobs WHERE state = 'queued' AND "
            "seq <= o.first) "
            "FROM (SELECT count(*) AS n, min(seq) AS first FROM jobs INDEXED BY jobs_queued"
            "      WHERE owner_id = ? AND state = 'queued') AS o"));
    q.Bind(owner_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return OwnerLoad{};
    return OwnerLoad{q.Int(0), q.Real(1)};
  }

  Result<std::optional<Job>> ReadJob(std::int64_t owner_id, const std::string& id) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT " RQ_JOB_COLUMNS
                                  " FROM jobs WHERE id = ?1 AND (?2 = 0 OR owner_id = ?2)"));
    q.Bind(id, owner_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<Job>();
    return std::optional<Job>(ReadJobRow(q));
  }

  Result<std::vector<Job>> ReadJobs(const ListRequest& request, int limit) override {
    // owner_id 0 lists every owner's jobs (renderqctl); a separate statement so
    // an owner's listing keeps using the owner index.
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare(request.owner_id == 0
                         ? "SELECT " RQ_JOB_COLUMNS
                           " FROM jobs WHERE ?1 = 0 AND (?2 IS NULL OR state = ?2)"
                           " AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"
                         : "SELECT " RQ_JOB_COLUMNS
                           " FROM jobs WHERE owner_id = ?1 AND (?2 IS NULL OR state = ?2)"
                           " AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"));
    q.Bind(request.owner_id,
           request.state ? std::optional<std::string>(JobStateName(*request.state)) : std::nullopt,
           request.before_seq, limit);
    return ReadJobRows(q);
  }

  Result<std::vector<Job>> ReadRunningJobs() override {
    // Without the hint the planner walks the whole table in seq order to skip
    // a sort of the few running rows.
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT " RQ_JOB_COLUMNS
                                  " FROM jobs INDEXED BY jobs_running WHERE state = 'running'"
                                  " ORDER BY seq"));
    return ReadJobRows(q);
  }

  Result<std::vector<WorkerInfo>> ReadWorkers() override {
    ASSIGN_OR_RETURN(Statement w,
                     db_->Prepare("SELECT name, device, fallback, pid, heartbeat_at, current_job, "
                                  "units_per_second, kinds FROM workers ORDER BY name"));
    std::vector<WorkerInfo> workers;
    while (true) {
      ASSIGN_OR_RETURN(bool row, w.Step());
      if (!row) break;
      workers.push_back(WorkerInfo{w.Text(0), w.Text(1), w.Int(2) != 0, w.Int(3), w.Int(4),
                                   w.OptText(5), w.OptReal(6).value_or(0.0),
                                   KindsFromJson(w.Text(7))});
    }
    return workers;
  }

  Result<std::optional<IdempotencyRecord>> ReadIdempotencyKey(std::int64_t owner_id,
                                                              const std::string& key) override {
    ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT request_hash, job_id, created_at FROM "
                                               "idempotency_keys WHERE owner_id = ? AND key = ?"));
    q.Bind(owner_id, key);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<IdempotencyRecord>();
    return std::optional<IdempotencyRecord>(IdempotencyRecord{q.Text(0), q.Text(1), q.Int(2)});
  }

  Result<std::optional<Owner>> ReadOwnerByTokenHash(const std::string& token_hash) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("SELECT o.id, o.name FROM tokens AS t JOIN owners AS o ON o.id = t.owner_id"
                     " WHERE t.token_hash = ? AND t.revoked_at IS NULL"));
    q.Bind(token_hash);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<Owner>();
    return std::optional<Owner>(Owner{q.Int(0), q.Text(1)});
  }

  Result<std::vector<TokenInfo>> ReadTokens() override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT o.name, t.created_at, t.revoked_at FROM tokens "
                                  "AS t JOIN owners AS o ON o.id = t.owner_id"
                                  " ORDER BY t.created_at, t.id"));
    std::vector<TokenInfo> tokens;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      tokens.push_back(TokenInfo{q.Text(0), q.Int(1), q.OptInt(2)});
    }
    return tokens;
  }

  Result<std::vector<std::string>> ReadSucceededJobIds() override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT id FROM jobs WHERE state = 'succeeded' ORDER BY seq"));
    std::vector<std::string> ids;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ids.push_back(q.Text(0));
    }
    return ids;
  }

  Result<std::vector<double>> ReadKindRunSeconds(const std::string& kind, int limit) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT render_seconds FROM jobs INDEXED BY jobs_kind_succeeded"
                                  " WHERE kind = ? AND state = 'succeeded'"
                                  " ORDER BY finished_at DESC LIMIT ?"));
    q.Bind(kind, limit);
    std::vector<double> seconds;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      seconds.push_back(q.Real(0));
    }
    return seconds;
  }

  Result<StatsRows> ReadStats(TimeMs finished_since) override {
    StatsRows rows;
    {
      // One pass over the table (the job_counts view joins once per state).
      ASSIGN_OR_RETURN(Statement q,
                       db_->Prepare("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state"));
      while (true) {
        ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        const std::optional<JobState> state = ParseJobState(q.Text(1));
        if (!state) continue;
        const auto s = static_cast<std::size_t>(*state);
        rows.by_state[s] += q.Int(2);
        rows.by_kind_state[q.Text(0)][s] = q.Int(2);
      }
    }
    // Through jobs_finished: only the window's rows are read.
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT render_seconds, kind FROM jobs INDEXED BY jobs_finished"
                                  " WHERE finished_at >= ? AND state = 'succeeded'"));
    q.Bind(finished_since);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      rows.render_seconds.push_back(q.Real(0));
      rows.kind_render_seconds.emplace_back(q.Text(1), q.Real(0));
    }
    return rows;
  }

  // ---- the responder's writes

  Result<std::int64_t> InsertJob(std::string_view id, std::int64_t owner_id,
                                 const JobSpec& spec) override {
    {
      ASSIGN_OR_RETURN(Statement insert,
                       db_->Prepare("INSERT INTO jobs (id, owner_id, created_at, kind, width, "
                                    "height, samples, max_depth, cost_units, media_type)"
                                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      const std::optional<SceneShape>& s = spec.scene;
      insert.Bind(id, owner_id, now_, spec.kind, s ? std::optional<int>(s->width) : std::nullopt,
                  s ? std::optional<int>(s->height) : std::nullopt,
                  s ? std::optional<int>(s->samples) : std::nullopt,
                  s ? std::optional<int>(s->max_depth) : std::nullopt, spec.cost_units,
                  spec.media_type);
      RETURN_IF_ERROR(insert.Run());
    }
    const std::int64_t seq = db_->LastInsertRowId();
    ASSIGN_OR_RETURN(Statement input,
                     db_->Prepare("INSERT INTO job_inputs (seq, input) VALUES (?, ?)"));
    input.Bind(seq, spec.input_json);
    RETURN_IF_ERROR(input.Run());
    return seq;
  }

  Status InsertIdempotencyKey(std::int64_t owner_id, const std::string& key,
                              const std::string& request_hash, const std::string& job_id) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("INSERT INTO idempotency_keys (owner_id, key, request_hash, "
                                  "job_id, created_at) VALUES (?, ?, ?, ?, ?)"));
    q.Bind(owner_id, key, request_hash, job_id, now_);
    return q.Run();
  }

  Status DeleteIdempotencyKey(std::int64_t owner_id, const std::string& key) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("DELETE FROM idempotency_keys WHERE owner_id = ? AND key = ?"));
    q.Bind(owner_id, key);
    return q.Run();
  }

  Status CancelQueuedJob(std::int64_t seq) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("UPDATE jobs SET state = 'canceled', finished_at = max(?, "
                                  "created_at), checkpoint_samples = 0, attempt_from_samples = 0"
                                  " WHERE seq = ? RETURNING id"));
    q.Bind(now_, seq);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) RemoveAfterCommit(q.Text(0), /*result_too=*/false);
    return q.Run();
  }

  Status RequestCancel(std::int64_t seq) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("UPDATE jobs SET cancel_requested = 1 WHERE seq = ?"));
    q.Bind(seq);
    return q.Run();
  }

  Status RequeueAtEnd(std::int64_t seq) override {
    // A new seq puts it at the end of the line; sqlite_sequence follows, so no
    // later submit can take the same number. The scene follows (ON UPDATE CASCADE).
    ASSIGN_OR_RETURN(
        Statement move,
        db_->Prepare(
            "UPDATE jobs SET seq = (SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE "
            "name = 'jobs'), 0), (SELECT max(seq) FROM jobs)) + 1),"
            "  state = 'queued', attempts = 0, stalled_attempts = 0, cancel_requested = 0,"
            "  progress = 0, started_at = NULL, finished_at = NULL, error_code = NULL,"
            "  error_message = NULL, device = NULL, render_seconds = NULL,"
            "  samples_per_second = NULL, result_etag = NULL, checkpoint_samples = 0,"
            "  attempt_from_samples = 0, worker = NULL "
            "WHERE seq = ? RETURNING seq"));
    move.Bind(seq);
    ASSIGN_OR_RETURN(bool row, move.Step());
    if (!row) return Status::Internal("retried job vanished");
    const std::int64_t new_seq = move.Int(0);
    RETURN_IF_ERROR(move.Run());
    ASSIGN_OR_RETURN(Statement sequence,
                     db_->Prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'jobs'"));
    sequence.Bind(new_seq);
    return sequence.Run();
  }

  Result<std::int64_t> EnsureOwner(const std::string& name) override {
    {
      ASSIGN_OR_RETURN(
          Statement owner,
          db_->Prepare(
              "INSERT INTO owners (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"));
      owner.Bind(name, now_);
      RETURN_IF_ERROR(owner.Run());
    }
    ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT id FROM owners WHERE name = ?"));
    q.Bind(name);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::Internal("owner vanished");
    return q.Int(0);
  }

  Result<bool> HasActiveToken(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT 1 FROM tokens WHERE owner_id = ? AND "
                                               "revoked_at IS NULL"));
    q.Bind(owner_id);
    return q.Step();
  }

  Status InsertToken(std::int64_t owner_id, const std::string& token_hash) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("INSERT INTO tokens (owner_id, token_hash, created_at) VALUES (?, ?, ?)"));
    q.Bind(owner_id, token_hash, now_);
    return q.Run();
  }

  Result<bool> RevokeActiveToken(const std::string& name, std::int64_t* owner_id) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare(
            "UPDATE tokens SET revoked_at = max(?, created_at)"
            " WHERE revoked_at IS NULL AND owner_id = (SELECT id FROM owners WHERE name = ?)"
            " RETURNING owner_id"));
    q.Bind(now_, name);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return false;
    *owner_id = q.Int(0);
    RETURN_IF_ERROR(q.Run());
    return true;
  }

  // ---- the worker's writes

  Status UpsertWorker(const WorkerInfo& worker) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare(
            "INSERT INTO workers (name, device, fallback, pid, started_at, heartbeat_at, "
            "units_per_second, kinds)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7) ON CONFLICT (name) DO UPDATE SET"
            "  device = excluded.device, fallback = excluded.fallback, pid = excluded.pid,"
            "  started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,"
            "  current_job = NULL, kinds = excluded.kinds,"
            "  units_per_second = coalesce(excluded.units_per_second, workers.units_per_second)"));
    q.Bind(
        worker.name, worker.device, worker.fallback, worker.pid, now_,
        worker.units_per_second > 0 ? std::optional<double>(worker.units_per_second) : std::nullopt,
        KindsToJson(worker.kinds));
    return q.Run();
  }

  Result<bool> TouchWorker(const std::string& name) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("UPDATE workers SET heartbeat_at = max(?, started_at) WHERE name = ?"));
    q.Bind(now_, name);
    return ChangedARow(*db_, q);
  }

  Result<bool> SetWorkerThroughput(const std::string& name, double units_per_second) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("UPDATE workers SET units_per_second = ? WHERE name = ?"));
    q.Bind(units_per_second, name);
    return ChangedARow(*db_, q);
  }

  Result<std::optional<ClaimedJob>> ClaimOldest(const std::string& worker,
                                                const std::vector<std::string>& kinds) override {
    std::int64_t seq = 0;
    {
      // Nothing queued of these kinds: no lease number is spent. The line is
      // walked in seq order (at most the queue's 1,000 entries) and each
      // entry's kind looked up, so one index serves every worker's mix.
      ASSIGN_OR_RETURN(Statement head,
                       db_->Prepare("SELECT seq FROM jobs INDEXED BY jobs_queued "
                                    "WHERE state = 'queued' AND kind IN (SELECT value FROM "
                                    "json_each(?)) ORDER BY seq LIMIT 1"));
      head.Bind(KindsToJson(kinds));
      ASSIGN_OR_RETURN(bool row, head.Step());
      if (!row) return std::optional<ClaimedJob>();
      seq = head.Int(0);
    }
    std::int64_t lease_id = 0;
    {
      ASSIGN_OR_RETURN(Statement counter,
                       db_->Prepare("UPDATE lease_counter SET last_lease_id = last_lease_id + 1 "
                                    "WHERE id = 1 RETURNING last_lease_id"));
      ASSIGN_OR_RETURN(bool row, counter.Step());
      if (!row) return Status::Internal("lease_counter has no row");
      lease_id = counter.Int(0);
      RETURN_IF_ERROR(counter.Run());
    }
    ClaimedJob claimed;
    {
      ASSIGN_OR_RETURN(
          Statement claim,
          db_->Prepare("UPDATE jobs SET state = 'running', lease_id = ?1, worker = ?2,"
                       "  heartbeat_at = ?3, started_at = max(?3, created_at),"
                       "  progress = coalesce(CAST(checkpoint_samples AS REAL) / samples, 0),"
                       "  attempt_from_samples = checkpoint_samples "
                       "WHERE seq = ?4 RETURNING " RQ_JOB_COLUMNS ", checkpoint_samples"));
      claim.Bind(lease_id, worker, now_, seq);
      ASSIGN_OR_RETURN(bool row, claim.Step());
      if (!row) return Status::Internal("queued job vanished inside the transaction");
      claimed.job = ReadJobRow(claim);
      claimed.checkpoint_samples = claim.Int(kJobColumnCount);
      RETURN_IF_ERROR(claim.Run());
    }
    {
      ASSIGN_OR_RETURN(Statement input, db_->Prepare("SELECT input FROM job_inputs WHERE seq = ?"));
      input.Bind(seq);
      ASSIGN_OR_RETURN(bool row, input.Step());
      if (!row) return Status::Internal("job " + claimed.job.id + " has no input");
      claimed.input_json = input.Text(0);
    }
    claimed.lease = Lease{claimed.job.id, lease_id};
    ASSIGN_OR_RETURN(Statement w, db_->Prepare("UPDATE workers SET current_job = ?1, heartbeat_at "
                                               "= max(?2, started_at) WHERE name = ?3"));
    w.Bind(claimed.job.id, now_, worker);
    RETURN_IF_ERROR(w.Run());
    return std::optional<ClaimedJob>(std::move(claimed));
  }

  Result<std::optional<bool>> TouchLease(const Lease& lease, double progress) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("UPDATE jobs SET progress = ?, heartbeat_at = ?" RQ_FENCE
                                  " RETURNING cancel_requested"));
    q.Bind(progress, now_, lease.job_id, lease.lease_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<bool>();
    const bool cancel = q.Int(0) != 0;
    RETURN_IF_ERROR(q.Run());
    return std::optional<bool>(cancel);
  }

  // Fenced: the checkpoint's row fields after a durable write of its file.
  Result<bool> SetCheckpointSamples(const Lease& lease, std::int64_t samples) {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("UPDATE jobs SET checkpoint_samples = min(?1, coalesce(samples, ?1)),"
                     "  attempt_from_samples = min(attempt_from_samples, min(?1, "
                     "coalesce(samples, ?1))), heartbeat_at = ?2" RQ_FENCE));
    q.Bind(samples, now_, lease.job_id, lease.lease_id);
    return ChangedARow(*db_, q);
  }

  // Fenced: succeeded, with the run's figures.
  Result<bool> MarkSucceeded(const Lease& lease, const FinishRequest& request) {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("UPDATE jobs SET state = 'succeeded', progress = 1,"
                     "  finished_at = max(?, started_at), lease_id = NULL, heartbeat_at = NULL,"
                     "  checkpoint_samples = 0, attempt_from_samples = 0, device = ?,"
                     "  render_seconds = max(?, 0), samples_per_second = CASE WHEN kind = 'scene' "
                     "THEN max(coalesce(?, 0), 0) END,"
                     "  result_etag = ?" RQ_FENCE));
    q.Bind(now_, request.device, request.render_seconds, request.samples_per_second,
           request.result_etag, lease.job_id, lease.lease_id);
    ASSIGN_OR_RETURN(bool held, ChangedARow(*db_, q));
    if (!held) return false;
    RETURN_IF_ERROR(ClearWorkerJob(lease.job_id));
    RemoveAfterCommit(lease.job_id, /*result_too=*/false);
    return true;
  }

  Result<bool> MarkFailed(const Lease& lease, const std::string& code,
                          const std::string& message) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("UPDATE jobs SET state = 'failed', finished_at = max(?, started_at),"
                     "  error_code = ?, error_message = ?, lease_id = NULL, heartbeat_at = NULL,"
                     "  checkpoint_samples = 0, attempt_from_samples = 0" RQ_FENCE));
    q.Bind(now_, code, message, lease.job_id, lease.lease_id);
    return EndedByItsWorker(q, lease);
  }

  Result<bool> MarkCanceled(const Lease& lease) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("UPDATE jobs SET state = 'canceled', finished_at = max(?, started_at),"
                     "  lease_id = NULL, heartbeat_at = NULL, checkpoint_samples = 0,"
                     "  attempt_from_samples = 0" RQ_FENCE));
    q.Bind(now_, lease.job_id, lease.lease_id);
    return EndedByItsWorker(q, lease);
  }

  Result<std::vector<LeasedJob>> ReadLeasedJobs(const LeaseFilter& filter) override {
    ASSIGN_OR_RETURN(
        Statement q,
        db_->Prepare("SELECT seq, id, worker, attempts, stalled_attempts, cancel_requested,"
                     "  checkpoint_samples, attempt_from_samples "
                     "FROM jobs WHERE state = 'running'"
                     "  AND (?1 IS NULL OR heartbeat_at < ?1)"
                     "  AND (?2 IS NULL OR (id = ?2 AND lease_id = ?3))"
                     "  AND (?4 IS NULL OR worker = ?4) ORDER BY seq"));
    q.Bind(filter.heartbeat_before,
           filter.lease ? std::optional<std::string>(filter.lease->job_id) : std::nullopt,
           filter.lease ? std::optional<std::int64_t>(filter.lease->lease_id) : std::nullopt,
           filter.worker);
    std::vector<LeasedJob> jobs;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      jobs.push_back(LeasedJob{q.Int(0), q.Text(1), q.Text(2), static_cast<int>(q.Int(3)),
                               static_cast<int>(q.Int(4)), q.Int(5) != 0, q.Int(6), q.Int(7)});
    }
    return jobs;
  }

  Status EndLease(const LeasedJob& job, const LeaseEnd& end) override {
    if (end.next == JobState::kQueued) {
      // Back to its own place in line (same seq), resuming from its checkpoint.
      ASSIGN_OR_RETURN(
          Statement q,
          db_->Prepare("UPDATE jobs SET state = 'queued', attempts = ?, stalled_attempts = ?,"
                       "  lease_id = NULL, heartbeat_at = NULL, started_at = NULL,"
                       "  progress = coalesce(CAST(checkpoint_samples AS REAL) / samples, 0),"
                       "  cancel_requested = 0 WHERE seq = ?"));
      q.Bind(end.attempts, end.stalled_attempts, job.seq);
      RETURN_IF_ERROR(q.Run());
    } else {
      ASSIGN_OR_RETURN(
          Statement q,
          db_->Prepare("UPDATE jobs SET state = ?, attempts = ?, stalled_attempts = ?,"
                       "  lease_id = NULL, heartbeat_at = NULL, finished_at = max(?, started_at),"
                       "  checkpoint_samples = 0, attempt_from_samples = 0,"
                       "  error_code = ?, error_message = ? WHERE seq = ?"));
      q.Bind(JobStateName(end.next), end.attempts, end.stalled_attempts, now_, end.error_code,
             end.error_message, job.seq);
      RETURN_IF_ERROR(q.Run());
      RemoveAfterCommit(job.id, /*result_too=*/false);
    }
    return ClearWorkerJob(job.id);
  }

  // ---- administration

  Result<PurgeReport> DeleteJobsFinishedBefore(TimeMs cutoff) override {
    PurgeReport report;
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("DELETE FROM jobs WHERE finished_at < ? RETURNING id"));
    q.Bind(cutoff);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      report.job_ids.push_back(q.Text(0));
    }
    // The files go after the commit (FilesRemovedAtCommit() counts them).
    for (const std::string& id : report.job_ids) RemoveAfterCommit(id, /*result_too=*/true);
    return report;
  }

  Status DeleteIdempotencyKeysBefore(TimeMs cutoff) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("DELETE FROM idempotency_keys WHERE created_at <= ?"));
    q.Bind(cutoff);
    return q.Run();
  }

  Status DeleteNotificationsBefore(TimeMs cutoff) override {
    ASSIGN_OR_RETURN(Statement events,
                     db_->Prepare("DELETE FROM job_events WHERE created_at < ?1 AND NOT EXISTS"
                                  " (SELECT 1 FROM webhook_deliveries AS d"
                                  "  WHERE d.event_seq = job_events.seq AND d.state = 'pending')"));
    RETURN_IF_ERROR(events.Bind(cutoff).Run());
    ASSIGN_OR_RETURN(Statement attempts,
                     db_->Prepare("DELETE FROM webhook_attempts WHERE attempted_at < ?"));
    return attempts.Bind(cutoff).Run();
  }

  // ---- notifications

  Status InsertJobEvent(const JobEvent& event, int webhook_event) override {
    // One writer at a time (BEGIN IMMEDIATE): rowids follow commit order.
    ASSIGN_OR_RETURN(Statement insert,
                     db_->Prepare("INSERT INTO job_events (id, job_id, owner_id, state, job,"
                                  " created_at) VALUES (?, ?, ?, ?, ?, ?)"));
    insert.Bind(event.id, event.job_id, event.owner_id, JobStateName(event.state), event.job_json,
                event.created_at);
    RETURN_IF_ERROR(insert.Run());
    const char* type = WebhookEventName(webhook_event);
    if (type == nullptr) return Status::Ok();
    const std::int64_t seq = db_->LastInsertRowId();
    ASSIGN_OR_RETURN(Statement deliveries,
                     db_->Prepare("INSERT INTO webhook_deliveries (webhook_id, event_seq, type,"
                                  " next_attempt_at, created_at)"
                                  " SELECT id, ?1, ?2, ?3, ?3 FROM webhooks"
                                  " WHERE owner_id = ?4 AND (events & ?5) != 0"));
    deliveries.Bind(seq, type, now_, event.owner_id, webhook_event);
    return deliveries.Run();
  }

  Result<std::vector<JobEvent>> ReadJobEventsAfter(std::int64_t after, std::size_t limit) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT seq, id, job_id, owner_id, state, job, created_at"
                                  " FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?"));
    q.Bind(after, static_cast<std::int64_t>(limit));
    std::vector<JobEvent> events;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      events.push_back(JobEvent{q.Int(0), q.Text(1), q.Text(2), q.Int(3),
                                ParseJobState(q.Text(4)).value_or(JobState::kFailed), q.Text(5),
                                q.Int(6)});
    }
    return events;
  }

  Result<std::int64_t> ReadLastJobEventSeq() override {
    ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT coalesce(max(seq), 0) FROM job_events"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    return row ? q.Int(0) : 0;
  }

  Status InsertWebhook(const NewWebhook& w) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("INSERT INTO webhooks (id, owner_id, url, events, secret_sealed,"
                                  " created_at) VALUES (?, ?, ?, ?, ?, ?)"));
    q.Bind(w.id, w.owner_id, w.url, w.events, w.secret_sealed, now_);
    return q.Run();
  }

  Result<std::int64_t> CountWebhooks(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(Statement q, db_->Prepare("SELECT count(*) FROM webhooks WHERE owner_id = ?"));
    q.Bind(owner_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    return row ? q.Int(0) : 0;
  }

  Result<std::vector<Webhook>> ReadWebhooks(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT id, owner_id, url, events, created_at FROM webhooks"
                                  " WHERE owner_id = ? ORDER BY created_at, id"));
    q.Bind(owner_id);
    std::vector<Webhook> webhooks;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      webhooks.push_back(
          Webhook{q.Text(0), q.Int(1), q.Text(2), static_cast<int>(q.Int(3)), q.Int(4)});
    }
    return webhooks;
  }

  Result<std::optional<Webhook>> ReadWebhook(std::int64_t owner_id,
                                             const std::string& id) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT id, owner_id, url, events, created_at FROM webhooks"
                                  " WHERE id = ? AND owner_id = ?"));
    q.Bind(id, owner_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return std::optional<Webhook>();
    return std::optional<Webhook>(
        Webhook{q.Text(0), q.Int(1), q.Text(2), static_cast<int>(q.Int(3)), q.Int(4)});
  }

  Result<bool> DeleteWebhook(std::int64_t owner_id, const std::string& id) override {
    // Deliveries and attempts go with it (ON DELETE CASCADE; foreign_keys is on).
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("DELETE FROM webhooks WHERE id = ? AND owner_id = ?"));
    q.Bind(id, owner_id);
    return ChangedARow(*db_, q);
  }

  Result<std::vector<DeliveryAttempt>> ReadDeliveryAttempts(const std::string& webhook_id,
                                                            int limit) override {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("SELECT event_id, type, attempt, attempted_at, status, error"
                                  " FROM webhook_attempts WHERE webhook_id = ?"
                                  " ORDER BY id DESC LIMIT ?"));
    q.Bind(webhook_id, limit);
    std::vector<DeliveryAttempt> attempts;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      const std::optional<std::int64_t> status = q.OptInt(4);
      attempts.push_back(DeliveryAttempt{
          q.Text(0), q.Text(1), static_cast<int>(q.Int(2)), q.Int(3),
          status ? std::optional<int>(static_cast<int>(*status)) : std::nullopt, q.OptText(5)});
    }
    return attempts;
  }

  Result<DeliveryClaim> ClaimDeliveries(std::size_t limit, const std::vector<std::string>& busy,
                                        TimeMs lease_until) override {
    // Under the write lock (BEGIN IMMEDIATE): no other dispatcher claims meanwhile.
    std::set<std::string> taken(busy.begin(), busy.end());
    {
      ASSIGN_OR_RETURN(Statement leased,
                       db_->Prepare("SELECT DISTINCT webhook_id FROM webhook_deliveries"
                                    " WHERE state = 'pending' AND leased_until > ?"));
      leased.Bind(now_);
      while (true) {
        ASSIGN_OR_RETURN(bool row, leased.Step());
        if (!row) break;
        taken.insert(leased.Text(0));
      }
    }
    DeliveryClaim claim;
    {
      ASSIGN_OR_RETURN(
          Statement due,
          db_->Prepare("SELECT d.id, d.webhook_id, w.url, w.secret_sealed, e.id, d.type, e.job,"
                       " e.created_at, d.attempts FROM webhook_deliveries AS d"
                       " JOIN webhooks AS w ON w.id = d.webhook_id"
                       " JOIN job_events AS e ON e.seq = d.event_seq"
                       " WHERE d.state = 'pending' AND d.next_attempt_at <= ?1"
                       " AND d.leased_until <= ?1 ORDER BY d.next_attempt_at, d.id LIMIT 1000"));
      due.Bind(now_);
      while (claim.deliveries.size() < limit) {
        ASSIGN_OR_RETURN(bool row, due.Step());
        if (!row) break;
        const std::string webhook = due.Text(1);
        if (!taken.insert(webhook).second) continue;  // one per webhook
        claim.deliveries.push_back(DueDelivery{due.Int(0), webhook, due.Text(2), due.Text(3),
                                               due.Text(4), due.Text(5), due.Text(6), due.Int(7),
                                               static_cast<int>(due.Int(8))});
      }
    }
    for (const DueDelivery& d : claim.deliveries) {
      ASSIGN_OR_RETURN(Statement lease,
                       db_->Prepare("UPDATE webhook_deliveries SET leased_until = ? WHERE id = ?"));
      RETURN_IF_ERROR(lease.Bind(lease_until, d.id).Run());
    }
    ASSIGN_OR_RETURN(Statement next,
                     db_->Prepare("SELECT webhook_id, min(max(next_attempt_at, leased_until))"
                                  " FROM webhook_deliveries WHERE state = 'pending'"
                                  " GROUP BY webhook_id"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, next.Step());
      if (!row) break;
      if (taken.count(next.Text(0))) continue;
      const TimeMs at = next.Int(1);
      if (!claim.next_due_at || at < *claim.next_due_at) claim.next_due_at = at;
    }
    return claim;
  }

  Status RecordDeliveryAttempt(const AttemptOutcome& o) override {
    ASSIGN_OR_RETURN(Statement exists, db_->Prepare("SELECT 1 FROM webhooks WHERE id = ?"));
    exists.Bind(o.webhook_id);
    ASSIGN_OR_RETURN(bool there, exists.Step());
    if (!there) return Status::Ok();  // deleted meanwhile, with its deliveries
    ASSIGN_OR_RETURN(Statement attempt,
                     db_->Prepare("INSERT INTO webhook_attempts (webhook_id, event_id, type,"
                                  " attempt, attempted_at, status, error)"
                                  " VALUES (?, ?, ?, ?, ?, ?, ?)"));
    attempt.Bind(o.webhook_id, o.event_id, o.type, o.attempt, o.attempted_at,
                 o.status ? std::optional<std::int64_t>(*o.status) : std::nullopt, o.error);
    RETURN_IF_ERROR(attempt.Run());
    const char* state = o.next == AttemptOutcome::Next::kDelivered ? "delivered"
                        : o.next == AttemptOutcome::Next::kFailed  ? "failed"
                                                                   : "pending";
    ASSIGN_OR_RETURN(Statement update,
                     db_->Prepare("UPDATE webhook_deliveries SET state = ?, attempts = ?,"
                                  " next_attempt_at = ?, leased_until = 0 WHERE id = ?"));
    update.Bind(state, o.attempt, now_ + std::max<TimeMs>(0, o.retry_in_ms), o.delivery_id);
    return update.Run();
  }

  int FilesRemovedAtCommit() const override { return files_removed_; }

 private:
  struct EndedJobFiles {
    std::string job_id;
    bool result_too;
  };

  Result<bool> EndedByItsWorker(Statement& q, const Lease& lease) {
    ASSIGN_OR_RETURN(bool held, ChangedARow(*db_, q));
    if (!held) return false;
    RETURN_IF_ERROR(ClearWorkerJob(lease.job_id));
    RemoveAfterCommit(lease.job_id, /*result_too=*/false);
    return true;
  }

  Status ClearWorkerJob(const std::string& job_id) {
    ASSIGN_OR_RETURN(Statement q,
                     db_->Prepare("UPDATE workers SET current_job = NULL WHERE current_job = ?"));
    q.Bind(job_id);
    return q.Run();
  }

  void RemoveAfterCommit(std::string job_id, bool result_too) {
    files_after_commit_.push_back(EndedJobFiles{std::move(job_id), result_too});
  }

  // Best effort: a file left behind (a crash right after the commit) is
  // removed by the worker's sweep at its next start (worker/job_files.h).
  void RemoveFilesOfEndedJobs() {
    if (results_dir_.empty()) return;
    for (const EndedJobFiles& ended : files_after_commit_) {
      const Result<int> removed = RemoveJobFiles(results_dir_, ended.job_id, ended.result_too);
      if (removed.ok()) files_removed_ += *removed;
    }
    files_after_commit_.clear();
  }

  SqliteDb* db_;
  std::optional<PooledDb> pooled_;  // owns db_ when from the pool
  std::optional<Transaction> transaction_;
  std::optional<Savepoint> unit_;
  TimeMs now_;
  std::string results_dir_;
  std::vector<EndedJobFiles> files_after_commit_;
  std::size_t files_mark_ = 0;  // files_after_commit_ before the current unit
  int files_removed_ = 0;
  bool autocommit_;
  bool restore_full_sync_ = false;
};

// The group commit writer's connection, opened once and kept.
class SqliteWriterSession final : public QueueStorage::WriterSession {
 public:
  SqliteWriterSession(std::unique_ptr<SqliteDb> db, Clock* clock, std::string results_dir)
      : db_(std::move(db)), clock_(clock), results_dir_(std::move(results_dir)) {}

  Result<std::unique_ptr<StorageTx>> Begin() override {
    ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(*db_));
    return std::unique_ptr<StorageTx>(std::make_unique<SqliteTx>(
        db_.get(), std::nullopt, std::move(transaction), clock_->NowMs(), results_dir_));
  }

 private:
  const std::unique_ptr<SqliteDb> db_;
  Clock* const clock_;
  const std::string results_dir_;
};

class SqliteWorkerNameLock final : public WorkerNameLock {
 public:
  explicit SqliteWorkerNameLock(InstanceLock lock) : lock_(std::move(lock)) {}

  // An flock is released only when the process that holds it exits.
  bool ProvesPredecessorDead() const override { return true; }
  // ... and cannot be lost while it runs.
  Result<bool> Verify() override { return false; }

 private:
  InstanceLock lock_;
};

}  // namespace

// ---- Opening ------------------------------------------------------------------

SqliteStorage::SqliteStorage(SqliteStorageOptions options, std::unique_ptr<SqlitePool> pool)
    : options_(std::move(options)), pool_(std::move(pool)) {}

SqliteStorage::~SqliteStorage() {
  if (watch_fd_ >= 0) close(watch_fd_);
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const SqliteStorageOptions& options) {
  if (options.clock == nullptr)
    return Status::InvalidArgument("SqliteStorageOptions.clock is null");
  {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(options.path, options.db));
    RETURN_IF_ERROR(ApplySqliteMigrations(*db).status());
  }
  auto pool = std::make_unique<SqlitePool>(options.path, options.db);
  return std::unique_ptr<SqliteStorage>(new SqliteStorage(options, std::move(pool)));
}

Result<std::unique_ptr<StorageTx>> SqliteStorage::BeginRead(ReadKind kind) {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  SqliteDb* raw = &*db;
  if (kind == ReadKind::kOneStatement) {
    return std::unique_ptr<StorageTx>(std::make_unique<SqliteTx>(raw, std::move(db), std::nullopt,
                                                                 /*now=*/0, options_.results_dir));
  }
  ASSIGN_OR_RETURN(Transaction snapshot, Transaction::Begin(*raw, Transaction::Mode::kDeferred));
  return std::unique_ptr<StorageTx>(std::make_unique<SqliteTx>(
      raw, std::move(db), std::move(snapshot), options_.clock->NowMs(), options_.results_dir));
}

Result<std::unique_ptr<StorageTx>> SqliteStorage::BeginWrite(WriteKind kind) {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  SqliteDb* raw = &*db;
  const bool relaxed = kind == WriteKind::kHeartbeat;
  // synchronous=NORMAL in WAL mode: the commit is appended to the WAL without
  // an fsync, and the next FULL commit's fsync covers it. The connection gets
  // FULL back when the transaction ends (SqliteTx's destructor).
  if (relaxed) RETURN_IF_ERROR(raw->Exec("PRAGMA synchronous = NORMAL"));
  Result<Transaction> transaction = Transaction::Begin(*raw);
  if (!transaction.ok()) {
    if (relaxed) (void)raw->Exec("PRAGMA synchronous = FULL");
    return transaction.status();
  }
  // Read under the write lock, so started_at follows the order of the claims
  // even across worker processes.
  auto tx = std::make_unique<SqliteTx>(raw, std::move(db), std::move(transaction).value(),
                                       options_.clock->NowMs(), options_.results_dir);
  tx->RestoreFullSyncAtEnd(relaxed);
  return std::unique_ptr<StorageTx>(std::move(tx));
}

Result<std::unique_ptr<QueueStorage::WriterSession>> SqliteStorage::OpenWriterSession() {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(options_.path, options_.db));
  return std::unique_ptr<WriterSession>(
      std::make_unique<SqliteWriterSession>(std::move(db), options_.clock, options_.results_dir));
}

Status SqliteStorage::Ping() {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Statement q, db->Prepare("SELECT last_lease_id FROM lease_counter"));
  return q.Run();
}

// ---- Worker names ---------------------------------------------------------------

Result<std::unique_ptr<WorkerNameLock>> SqliteStorage::LockWorkerName(const std::string& name) {
  // One lock per database file, however its path is spelled.
  std::error_code ec;
  const std::filesystem::path db = std::filesystem::weakly_canonical(options_.path, ec);
  ASSIGN_OR_RETURN(InstanceLock lock, InstanceLock::Acquire(InstanceLock::PathFor(
                                          ec ? options_.path : db.string(), name)));
  return std::unique_ptr<WorkerNameLock>(std::make_unique<SqliteWorkerNameLock>(std::move(lock)));
}

// ---- Job files --------------------------------------------------------------------

Result<std::string> SqliteStorage::ResultsDir() const {
  if (options_.results_dir.empty()) return NoResultsDir();
  return options_.results_dir;
}

Result<bool> SqliteStorage::StoreCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                                            std::int64_t samples) {
  ASSIGN_OR_RETURN(const std::string dir, ResultsDir());
  // Durable before the row says so; outside the write lock, which submits wait for.
  RETURN_IF_ERROR(
      WriteFileAtomically(JobFilesFor(dir, lease.job_id).checkpoint, state, Durability::kDurable));
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, BeginWrite(WriteKind::kDurable));
  ASSIGN_OR_RETURN(const bool held,
                   static_cast<SqliteTx&>(*tx).SetCheckpointSamples(lease, samples));
  if (!held) return false;
  RETURN_IF_ERROR(tx->Commit());
  return true;
}

Result<std::optional<std::vector<std::uint8_t>>> SqliteStorage::LoadCheckpoint(const Lease& lease) {
  ASSIGN_OR_RETURN(const std::string dir, ResultsDir());
  return ReadWholeFile(JobFilesFor(dir, lease.job_id).checkpoint);
}

Status SqliteStorage::StorePreview(const Lease& lease, std::span<const std::uint8_t> png) {
  ASSIGN_OR_RETURN(const std::string dir, ResultsDir());
  return WriteFileAtomically(JobFilesFor(dir, lease.job_id).preview, png, Durability::kVisibleOnly);
}

Result<bool> SqliteStorage::StoreResult(const Lease& lease, const FinishRequest& request,
                                        const std::function<Status(StorageTx&)>& also) {
  ASSIGN_OR_RETURN(const std::string dir, ResultsDir());
  // The bytes are written and synced before the write lock is taken; the
  // rename and the directory's fsync happen under it, after the fence held,
  // so a worker whose lease lapsed can never replace another's result, and
  // the COMMIT that marks the job succeeded comes after the file is durable.
  ASSIGN_OR_RETURN(StagedFile staged, StagedFile::Stage(JobFilesFor(dir, lease.job_id).result,
                                                        request.png, Durability::kDurable));
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, BeginWrite(WriteKind::kDurable));
  ASSIGN_OR_RETURN(const bool held, static_cast<SqliteTx&>(*tx).MarkSucceeded(lease, request));
  if (!held) return false;
  if (also) RETURN_IF_ERROR(also(*tx));
  RETURN_IF_ERROR(staged.Publish());
  RETURN_IF_ERROR(tx->Commit());
  return true;
}

Result<Artifact> SqliteStorage::ReadArtifact(const std::string& job_id, ArtifactKind kind) {
  ASSIGN_OR_RETURN(const std::string dir, ResultsDir());
  Artifact artifact;
  artifact.file = kind == ArtifactKind::kResult ? ResultFileName(job_id) : PreviewFileName(job_id);
  std::error_code ec;
  const std::filesystem::path path = std::filesystem::path(dir) / artifact.file;
  if (!std::filesystem::exists(path, ec)) {
    return Status::NotFound("no " +
                            std::string(kind == ArtifactKind::kResult ? "result" : "preview") +
                            " file for job " + job_id);
  }
  if (kind == ArtifactKind::kPreview) {
    // A kind's runner may send JPEG previews: nginx serves the file with the
    // Content-Type the responder names, so look at its first bytes.
    std::uint8_t head[3] = {0, 0, 0};
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() >= 0 && ::read(fd.get(), head, sizeof head) == sizeof head &&
        LooksLikeJpeg(head)) {
      artifact.media_type = "image/jpeg";
    }
  }
  return artifact;
}

// ---- Maintenance ------------------------------------------------------------------

Result<SweepReport> SqliteStorage::SweepFiles(
    const std::function<bool(const std::string& job_id)>& job_is_over) {
  if (options_.results_dir.empty()) return SweepReport{};
  return SweepResultsDir(options_.results_dir, job_is_over);
}

Result<CheckReport> SqliteStorage::Check() {
  CheckReport report;
  ASSIGN_OR_RETURN(report.integrity_problems, CheckSqliteIntegrity(options_.path));
  report.integrity_checked = true;
  std::vector<std::string> succeeded;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, BeginRead(ReadKind::kOneStatement));
    ASSIGN_OR_RETURN(succeeded, tx->ReadSucceededJobIds());
  }
  ASSIGN_OR_RETURN(const std::string dir, ResultsDir());
  ASSIGN_OR_RETURN(ResultFileCheck files, CompareResultFiles(dir, succeeded));
  report.files_checked = true;
  report.orphan_files = std::move(files.orphans);
  report.missing_results = std::move(files.missing);
  return report;
}

Status SqliteStorage::Backup(const std::string& destination) {
  std::error_code ec;
  if (std::filesystem::exists(destination, ec)) {
    return Status::Conflict(destination + " exists; not overwriting it");
  }
  return BackupSqliteDatabase(options_.path, destination);
}

// ---- Change notification ------------------------------------------------------

void SqliteStorage::PrepareWait() {
  (void)ArmChangeWatch();  // without it WaitForChange falls back to a short sleep
}

Status SqliteStorage::ArmChangeWatch() {
  std::lock_guard lock(watch_mu_);
  if (watch_fd_ >= 0) return Status::Ok();
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  // The connection keeps the -wal file in existence while the store is open.
  const char* wal = sqlite3_filename_wal(sqlite3_db_filename(db->handle(), "main"));
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::Unavailable(std::string("inotify_init1: ") + std::strerror(errno));
  if (wal == nullptr || inotify_add_watch(fd, wal, IN_MODIFY) < 0) {
    Status error =
        Status::Unavailable(std::string("inotify_add_watch on the WAL: ") + std::strerror(errno));
    close(fd);
    return error;
  }
  watch_fd_ = fd;
  return Status::Ok();
}

Status SqliteStorage::WaitForChange(std::chrono::milliseconds timeout) {
  int fd = -1;
  if (ArmChangeWatch().ok()) {
    std::lock_guard lock(watch_mu_);
    fd = watch_fd_;
  }
  if (fd < 0) {
    // No inotify (a file system without it): a short sleep, so an idle worker
    // still claims within about 10 ms of a commit.
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(10)));
    return Status::Ok();
  }
  pollfd p{fd, POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(std::min<std::int64_t>(timeout.count(), 1 << 30)));
  if (ready < 0 && errno != EINTR) {
    return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
  }
  char buffer[4096];
  bool woken = false;
  while (read(fd, buffer, sizeof buffer) > 0) {
    woken = true;
  }  // drain: one wake-up per wait, however many commits
  if (woken && options_.settle_on_wake) {
    // The write lock is the committer's until its commit is visible.
    if (Result<PooledDb> db = pool_->Acquire(); db.ok()) {
      if ((*db)->Exec("BEGIN IMMEDIATE").ok()) (void)(*db)->Exec("ROLLBACK");
    }
  }
  return Status::Ok();
}

}  // namespace renderq
