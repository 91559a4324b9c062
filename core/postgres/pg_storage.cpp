#include "core/postgres/pg_storage.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>
#include <utility>

#include "core/postgres/pg_migrations.h"
#include "core/store/worker_kinds_column.h"
#include "core/util/db_uri.h"

namespace renderq {
namespace {

// The columns ReadJobRow() expects, in its order.
#define RQ_PG_JOB_COLUMNS                                                              \
  "seq, id::text, owner_id, state, attempts, cancel_requested, progress, created_at, " \
  "started_at, finished_at, error_code, error_message, kind, width, height, samples, " \
  "max_depth, cost_units, device, render_seconds, samples_per_second, result_etag, media_type"
constexpr int kJobColumnCount = 23;
// The lease fence, on parameters $F1 (job id) and $F2 (lease id), spelled out per statement.
#define RQ_PG_FENCE(id, lease) \
  " WHERE id = " id "::uuid AND lease_id = " lease " AND state = 'running'"

// The end of a fenced statement that ends a job for its worker (WITH j AS
// (UPDATE ... RETURNING seq, id), ...): its preview and checkpoint go, its
// worker has no current job; the statement returns how many jobs it ended.
#define RQ_PG_END_PARTS                                                   \
  " c AS (DELETE FROM job_checkpoints WHERE seq IN (SELECT seq FROM j))," \
  " p AS (DELETE FROM job_previews WHERE seq IN (SELECT seq FROM j)),"    \
  " w AS (UPDATE workers SET current_job = NULL"                          \
  "   WHERE current_job IN (SELECT id FROM j)) "                          \
  "SELECT count(*) FROM j"

// Succeeded with its result, in one statement, fenced by the lease ($6 job
// id, $7 lease id); its preview and checkpoint go, its worker has no job.
#define RQ_PG_FINISH_SET                                                           \
  "UPDATE jobs SET state = 'succeeded', progress = 1,"                             \
  " finished_at = greatest($1, started_at), lease_id = NULL, heartbeat_at = NULL," \
  " checkpoint_samples = 0, attempt_from_samples = 0, device = $2,"                \
  " render_seconds = greatest($3::float8, 0),"                                     \
  " samples_per_second = CASE WHEN kind = 'scene'"                                 \
  "   THEN greatest(coalesce($4::float8, 0), 0) END, result_etag = $5"
#define RQ_PG_FINISH_REST                                                 \
  " c AS (DELETE FROM job_checkpoints WHERE seq IN (SELECT seq FROM j))," \
  " p AS (DELETE FROM job_previews WHERE seq IN (SELECT seq FROM j)),"    \
  " w AS (UPDATE workers SET current_job = NULL"                          \
  "   WHERE current_job IN (SELECT id FROM j)) "                          \
  "SELECT count(*) FROM j"
constexpr const char* kFinish =
    "WITH j AS (" RQ_PG_FINISH_SET RQ_PG_FENCE("$6", "$7") " RETURNING seq, id),"
    " r AS (INSERT INTO job_results (seq, png) SELECT seq, $8 FROM j)," RQ_PG_FINISH_REST;
// The planted bug (tests only): the job's lease is not checked, so a finish
// from a lease that passed to another worker lands, even on a finished job.
constexpr const char* kFinishFromAnyLease =
    "WITH j AS (" RQ_PG_FINISH_SET
    " WHERE id = $6::uuid AND $7::bigint > 0 AND state IN ('running', 'succeeded')"
    " RETURNING seq, id),"
    " r AS (INSERT INTO job_results (seq, png) SELECT seq, $8 FROM j"
    "   ON CONFLICT (seq) DO UPDATE SET png = excluded.png)," RQ_PG_FINISH_REST;

// Begins a transaction and reads the server's clock in the same round trip.
constexpr const char* kNowMs = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint";
// pg_advisory_xact_lock's key for "a writer session's batch".
constexpr const char* kWriterLock = "SELECT pg_advisory_xact_lock(7263851002)";
// pg_try_advisory_lock's first key for worker names (the second: the name's hash).
constexpr const char* kWorkerNameLock = "SELECT pg_try_advisory_lock(7263851, hashtext($1))";
constexpr const char* kChannel = "renderq_jobs";
// Job events: woken dispatchers read the outbox (a store opened with wake_on_events).
constexpr const char* kEventsChannel = "renderq_events";
// pg_advisory_xact_lock's key for "a transaction that records a job event",
// held to its commit, so events are numbered in commit order.
constexpr const char* kEventsLock = "SELECT pg_advisory_xact_lock(7263851003)";

Job ReadJobRow(const PgResult& r, int row) {
  Job job;
  job.seq = r.Int(row, 0);
  job.id = r.Text(row, 1);
  job.owner_id = r.Int(row, 2);
  job.state = ParseJobState(r.Text(row, 3)).value_or(JobState::kFailed);  // CHECK keeps it valid
  job.attempts = static_cast<int>(r.Int(row, 4));
  job.cancel_requested = r.Bool(row, 5);
  job.progress = r.Real(row, 6);
  job.created_at = r.Int(row, 7);
  job.started_at = r.OptInt(row, 8);
  job.finished_at = r.OptInt(row, 9);
  job.error_code = r.OptText(row, 10);
  job.error_message = r.OptText(row, 11);
  job.kind = r.Text(row, 12);
  if (!r.IsNull(row, 13)) {  // a CHECK keeps the four set together, for scene jobs only
    job.scene = SceneShape{static_cast<int>(r.Int(row, 13)), static_cast<int>(r.Int(row, 14)),
                           static_cast<int>(r.Int(row, 15)), static_cast<int>(r.Int(row, 16))};
  }
  job.cost_units = r.Real(row, 17);
  job.device = r.OptText(row, 18);
  job.render_seconds = r.OptReal(row, 19);
  job.samples_per_second = r.OptReal(row, 20);
  job.result_etag = r.OptText(row, 21);
  job.media_type = r.OptText(row, 22);
  return job;
}

// Kind names as a PostgreSQL text[] literal (names are [a-z0-9-]: nothing to quote).
std::string KindsArray(const std::vector<std::string>& kinds) {
  std::string literal = "{";
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) literal += ",";
    literal += kinds[i];
  }
  return literal + "}";
}

std::vector<Job> ReadJobRows(const PgResult& r) {
  std::vector<Job> jobs;
  jobs.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) jobs.push_back(ReadJobRow(r, i));
  return jobs;
}

// Job ids arrive from the API already checked; a malformed one is simply
// unknown here rather than a uuid cast error.
bool LooksLikeUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// One transaction on one connection (pooled, or the writer session's).
class PgTx final : public StorageTx {
 public:
  // `database_clock`: now() came from the server (no test clock), so a claim
  // may take its own instant from it too.
  // `autocommit`: no transaction was begun (a single statement).
  // `commit_wait`: how long its COMMIT may wait (see PgConn::Commit).
  PgTx(PgConn* conn, std::optional<PooledPg> pooled, TimeMs now, bool database_clock,
       bool autocommit = false, std::chrono::milliseconds commit_wait = std::chrono::hours(24))
      : conn_(conn),
        pooled_(std::move(pooled)),
        now_(now),
        database_clock_(database_clock),
        open_(!autocommit),
        autocommit_(autocommit),
        commit_wait_(commit_wait) {}

  ~PgTx() override {
    if (open_ && conn_->Healthy()) (void)conn_->Exec("ROLLBACK");
  }

  TimeMs now() const override { return now_; }
  bool Active() const override { return open_ && conn_->Healthy() && conn_->InTransaction(); }

  Status Commit() override {
    if (autocommit_) return Status::Ok();
    if (!open_) return Status::Internal("transaction already ended");
    open_ = false;
    // Empty payload: a hint to look, never the data itself (PostgreSQL folds
    // the repeats of one transaction into one notification).
    std::string commit;
    if (notify_) commit += std::string("NOTIFY ") + kChannel + "; ";
    if (notify_events_) commit += std::string("NOTIFY ") + kEventsChannel + "; ";
    const Status done = conn_->Commit(commit + "COMMIT", commit_wait_);
    if (!done.ok() && conn_->Healthy() && conn_->InTransaction()) (void)conn_->Exec("ROLLBACK");
    return done;
  }

  Status BeginUnit() override { return conn_->Exec("SAVEPOINT unit").status(); }
  Status EndUnit(bool keep) override {
    // A unit rolled back may have taken the events lock with it: take it again.
    if (!keep) events_locked_ = false;
    return conn_->Exec(keep ? "RELEASE SAVEPOINT unit" : "ROLLBACK TO SAVEPOINT unit").status();
  }

  // ---- reads

  Result<QueueLoad> ReadQueueLoad(TimeMs live_since) override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run("SELECT q.n, q.cost, q.head, (SELECT cost_units FROM jobs WHERE seq = q.head),"
                   " (SELECT coalesce(sum(cost_units * (1 - progress)), 0) FROM jobs"
                   "  WHERE state = 'running'),"
                   " (SELECT max(units_per_second) FROM workers),"
                   " (SELECT coalesce(sum(units_per_second) FILTER (WHERE heartbeat_at >= $1), 0)"
                   "  FROM workers) "
                   "FROM (SELECT count(*) AS n, coalesce(sum(cost_units), 0) AS cost,"
                   "      min(seq) AS head FROM jobs WHERE state = 'queued') AS q",
                   PgParams().Add(live_since)));
    QueueLoad load;
    load.queued = r.Int(0, 0);
    load.queued_cost = r.Real(0, 1);
    load.head_seq = r.OptInt(0, 2);
    load.head_cost = r.OptReal(0, 3).value_or(0.0);
    load.running_remaining = r.Real(0, 4);
    load.best_units_per_second = r.OptReal(0, 5);
    load.live_units_per_second = r.Real(0, 6);
    return load;
  }

  Result<QueuedAhead> ReadQueuedBefore(std::int64_t seq) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT count(*), coalesce(sum(cost_units), 0) FROM "
                                            "jobs WHERE state = 'queued' AND seq < $1",
                                            PgParams().Add(seq)));
    return QueuedAhead{r.Int(0, 0), r.Real(0, 1)};
  }

  Result<OwnerLoad> ReadOwnerLoad(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT o.n, (SELECT coalesce(sum(cost_units), 0) FROM jobs"
                                "  WHERE state = 'queued' AND seq <= o.first) "
                                "FROM (SELECT count(*) AS n, min(seq) AS first FROM jobs"
                                "      WHERE owner_id = $1 AND state = 'queued') AS o",
                                PgParams().Add(owner_id)));
    return OwnerLoad{r.Int(0, 0), r.Real(0, 1)};
  }

  Result<std::optional<Job>> ReadJob(std::int64_t owner_id, const std::string& id) override {
    if (!LooksLikeUuid(id)) return std::optional<Job>();
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT " RQ_PG_JOB_COLUMNS " FROM jobs"
                                            " WHERE id = $1::uuid AND ($2 = 0 OR owner_id = $2)",
                                            PgParams().Add(id).Add(owner_id)));
    if (r.rows() == 0) return std::optional<Job>();
    return std::optional<Job>(ReadJobRow(r, 0));
  }

  Result<std::vector<Job>> ReadJobs(const ListRequest& request, int limit) override {
    const std::optional<std::string> state =
        request.state ? std::optional<std::string>(JobStateName(*request.state)) : std::nullopt;
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(request.owner_id == 0
                       ? "SELECT " RQ_PG_JOB_COLUMNS
                         " FROM jobs WHERE $1::bigint = 0 AND ($2::text IS NULL OR state = $2)"
                         " AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4"
                       : "SELECT " RQ_PG_JOB_COLUMNS
                         " FROM jobs WHERE owner_id = $1 AND ($2::text IS NULL OR state = $2)"
                         " AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4",
                   PgParams().Add(request.owner_id).Add(state).Add(request.before_seq).Add(limit)));
    return ReadJobRows(r);
  }

  Result<std::vector<Job>> ReadRunningJobs() override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT " RQ_PG_JOB_COLUMNS
                                            " FROM jobs WHERE state = 'running' ORDER BY seq"));
    return ReadJobRows(r);
  }

  Result<std::vector<WorkerInfo>> ReadWorkers() override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT name, device, fallback, pid, heartbeat_at,"
                                " current_job::text, units_per_second, kinds::text FROM workers"
                                " ORDER BY name"));
    std::vector<WorkerInfo> workers;
    for (int i = 0; i < r.rows(); ++i) {
      workers.push_back(WorkerInfo{r.Text(i, 0), r.Text(i, 1), r.Bool(i, 2), r.Int(i, 3),
                                   r.Int(i, 4), r.OptText(i, 5), r.OptReal(i, 6).value_or(0.0),
                                   KindsFromJson(r.Text(i, 7))});
    }
    return workers;
  }

  Result<std::optional<IdempotencyRecord>> ReadIdempotencyKey(std::int64_t owner_id,
                                                              const std::string& key) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT request_hash, job_id::text, created_at FROM "
                                            "idempotency_keys WHERE owner_id = $1 AND key = $2",
                                            PgParams().Add(owner_id).Add(key)));
    if (r.rows() == 0) return std::optional<IdempotencyRecord>();
    return std::optional<IdempotencyRecord>(
        IdempotencyRecord{r.Text(0, 0), r.Text(0, 1), r.Int(0, 2)});
  }

  Result<std::optional<Owner>> ReadOwnerByTokenHash(const std::string& token_hash) override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run("SELECT o.id, o.name FROM tokens AS t JOIN owners AS o ON o.id = t.owner_id"
                   " WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
                   PgParams().Add(token_hash)));
    if (r.rows() == 0) return std::optional<Owner>();
    return std::optional<Owner>(Owner{r.Int(0, 0), r.Text(0, 1)});
  }

  Result<std::vector<TokenInfo>> ReadTokens() override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run("SELECT o.name, t.created_at, t.revoked_at FROM tokens AS t"
                   " JOIN owners AS o ON o.id = t.owner_id ORDER BY t.created_at, t.id"));
    std::vector<TokenInfo> tokens;
    for (int i = 0; i < r.rows(); ++i) {
      tokens.push_back(TokenInfo{r.Text(i, 0), r.Int(i, 1), r.OptInt(i, 2)});
    }
    return tokens;
  }

  Result<std::vector<std::string>> ReadSucceededJobIds() override {
    ASSIGN_OR_RETURN(
        PgResult r, conn_->Run("SELECT id::text FROM jobs WHERE state = 'succeeded' ORDER BY seq"));
    std::vector<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.Text(i, 0));
    return ids;
  }

  Result<std::vector<double>> ReadKindRunSeconds(const std::string& kind, int limit) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT render_seconds FROM jobs"
                                            " WHERE kind = $1 AND state = 'succeeded'"
                                            " ORDER BY finished_at DESC LIMIT $2",
                                            PgParams().Add(kind).Add(limit)));
    std::vector<double> seconds;
    for (int i = 0; i < r.rows(); ++i) seconds.push_back(r.Real(i, 0));
    return seconds;
  }

  Result<StatsRows> ReadStats(TimeMs finished_since) override {
    StatsRows rows;
    {
      ASSIGN_OR_RETURN(PgResult r,
                       conn_->Run("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state"));
      for (int i = 0; i < r.rows(); ++i) {
        const std::optional<JobState> state = ParseJobState(r.Text(i, 1));
        if (!state) continue;
        const auto s = static_cast<std::size_t>(*state);
        rows.by_state[s] += r.Int(i, 2);
        rows.by_kind_state[r.Text(i, 0)][s] = r.Int(i, 2);
      }
    }
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT render_seconds, kind FROM jobs"
                                            " WHERE finished_at >= $1 AND state = 'succeeded'",
                                            PgParams().Add(finished_since)));
    for (int i = 0; i < r.rows(); ++i) {
      rows.render_seconds.push_back(r.Real(i, 0));
      rows.kind_render_seconds.emplace_back(r.Text(i, 1), r.Real(i, 0));
    }
    return rows;
  }

  // ---- the responder's writes

  Result<std::int64_t> InsertJob(std::string_view id, std::int64_t owner_id,
                                 const JobSpec& spec) override {
    // The job and its input in one round trip.
    const std::optional<SceneShape>& s = spec.scene;
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run("WITH j AS (INSERT INTO jobs (id, owner_id, created_at, kind, width, height,"
                   "  samples, max_depth, cost_units, media_type)"
                   "  VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $11) RETURNING seq) "
                   "INSERT INTO job_inputs (seq, input) SELECT seq, $10 FROM j RETURNING seq",
                   PgParams()
                       .Add(id)
                       .Add(owner_id)
                       .Add(now_)
                       .Add(spec.kind)
                       .Add(s ? std::optional<int>(s->width) : std::nullopt)
                       .Add(s ? std::optional<int>(s->height) : std::nullopt)
                       .Add(s ? std::optional<int>(s->samples) : std::nullopt)
                       .Add(s ? std::optional<int>(s->max_depth) : std::nullopt)
                       .Add(spec.cost_units)
                       .Add(spec.input_json)
                       .Add(spec.media_type)));
    notify_ = true;
    return r.Int(0, 0);
  }

  Status InsertIdempotencyKey(std::int64_t owner_id, const std::string& key,
                              const std::string& request_hash, const std::string& job_id) override {
    return conn_
        ->Run(
            "INSERT INTO idempotency_keys (owner_id, key, request_hash, job_id, created_at)"
            " VALUES ($1, $2, $3, $4::uuid, $5)",
            PgParams().Add(owner_id).Add(key).Add(request_hash).Add(job_id).Add(now_))
        .status();
  }

  Status DeleteIdempotencyKey(std::int64_t owner_id, const std::string& key) override {
    return conn_
        ->Run("DELETE FROM idempotency_keys WHERE owner_id = $1 AND key = $2",
              PgParams().Add(owner_id).Add(key))
        .status();
  }

  Status CancelQueuedJob(std::int64_t seq) override {
    return conn_
        ->Run(
            "WITH c AS (DELETE FROM job_checkpoints WHERE seq = $2),"
            " p AS (DELETE FROM job_previews WHERE seq = $2) "
            "UPDATE jobs SET state = 'canceled', finished_at = greatest($1, created_at),"
            "  checkpoint_samples = 0, attempt_from_samples = 0 WHERE seq = $2",
            PgParams().Add(now_).Add(seq))
        .status();
  }

  Status RequestCancel(std::int64_t seq) override {
    return conn_->Run("UPDATE jobs SET cancel_requested = true WHERE seq = $1", PgParams().Add(seq))
        .status();
  }

  Status RequeueAtEnd(std::int64_t seq) override {
    // A new seq puts it at the end of the line; its rows follow (ON UPDATE CASCADE).
    notify_ = true;
    return conn_
        ->Run(
            "UPDATE jobs SET seq = nextval('jobs_seq'), state = 'queued', attempts = 0,"
            "  stalled_attempts = 0, cancel_requested = false, progress = 0, started_at = NULL,"
            "  finished_at = NULL, error_code = NULL, error_message = NULL, device = NULL,"
            "  render_seconds = NULL, samples_per_second = NULL, result_etag = NULL,"
            "  checkpoint_samples = 0, attempt_from_samples = 0, worker = NULL WHERE seq = $1",
            PgParams().Add(seq))
        .status();
  }

  Result<std::int64_t> EnsureOwner(const std::string& name) override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run("WITH made AS (INSERT INTO owners (name, created_at) VALUES ($1, $2)"
                   "  ON CONFLICT (name) DO NOTHING RETURNING id) "
                   "SELECT id FROM made UNION ALL SELECT id FROM owners WHERE name = $1 LIMIT 1",
                   PgParams().Add(name).Add(now_)));
    if (r.rows() == 0) return Status::Internal("owner vanished");
    return r.Int(0, 0);
  }

  Result<bool> HasActiveToken(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT 1 FROM tokens WHERE owner_id = $1 AND revoked_at IS NULL",
                                PgParams().Add(owner_id)));
    return r.rows() > 0;
  }

  Status InsertToken(std::int64_t owner_id, const std::string& token_hash) override {
    return conn_
        ->Run("INSERT INTO tokens (owner_id, token_hash, created_at) VALUES ($1, $2, $3)",
              PgParams().Add(owner_id).Add(token_hash).Add(now_))
        .status();
  }

  Result<bool> RevokeActiveToken(const std::string& name, std::int64_t* owner_id) override {
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(
            "UPDATE tokens SET revoked_at = greatest($1, created_at)"
            " WHERE revoked_at IS NULL AND owner_id = (SELECT id FROM owners WHERE name = $2)"
            " RETURNING owner_id",
            PgParams().Add(now_).Add(name)));
    if (r.rows() == 0) return false;
    *owner_id = r.Int(0, 0);
    return true;
  }

  // ---- the worker's writes

  Status UpsertWorker(const WorkerInfo& worker) override {
    return conn_
        ->Run(
            "INSERT INTO workers (name, device, fallback, pid, started_at, heartbeat_at,"
            "  units_per_second, kinds) VALUES ($1, $2, $3, $4, $5, $5, $6, $7::jsonb)"
            " ON CONFLICT (name) DO UPDATE SET device = excluded.device,"
            "  fallback = excluded.fallback, pid = excluded.pid,"
            "  started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,"
            "  current_job = NULL, kinds = excluded.kinds,"
            "  units_per_second = coalesce(excluded.units_per_second, workers.units_per_second)",
            PgParams()
                .Add(worker.name)
                .Add(worker.device)
                .Add(worker.fallback)
                .Add(worker.pid)
                .Add(now_)
                .Add(worker.units_per_second > 0 ? std::optional<double>(worker.units_per_second)
                                                 : std::nullopt)
                .Add(KindsToJson(worker.kinds)))
        .status();
  }

  Result<bool> TouchWorker(const std::string& name) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("UPDATE workers SET heartbeat_at = greatest($1, "
                                            "started_at) WHERE name = $2",
                                            PgParams().Add(now_).Add(name)));
    return r.Changed() > 0;
  }

  Result<bool> SetWorkerThroughput(const std::string& name, double units_per_second) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("UPDATE workers SET units_per_second = $1 WHERE name = $2",
                                PgParams().Add(units_per_second).Add(name)));
    return r.Changed() > 0;
  }

  Result<std::optional<ClaimedJob>> ClaimOldest(const std::string& worker,
                                                const std::vector<std::string>& kinds) override {
    // One statement: the oldest queued row nobody else is claiming, its new
    // lease, the worker's current job, the scene. started_at is the instant
    // of the claim itself (not of its transaction's start), so claims by
    // several workers are stamped in the order they took their rows.
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(
            "WITH next AS (SELECT seq FROM jobs WHERE state = 'queued'"
            "              AND kind = ANY($3::text[]) ORDER BY seq LIMIT 1"
            "              FOR UPDATE SKIP LOCKED),"
            " claimed AS (UPDATE jobs SET state = 'running', lease_id = nextval('lease_ids'),"
            "   worker = $1, heartbeat_at = t.now, started_at = greatest(t.now, created_at),"
            "   progress = coalesce(checkpoint_samples::float8 / samples, 0),"
            "   attempt_from_samples = checkpoint_samples"
            "   FROM next, (SELECT coalesce($2::bigint,"
            "     (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now) AS t"
            "   WHERE jobs.seq = next.seq RETURNING jobs.*),"
            " w AS (UPDATE workers SET current_job = (SELECT id FROM claimed),"
            "   heartbeat_at = greatest((SELECT heartbeat_at FROM claimed), started_at)"
            "   WHERE name = $1 AND EXISTS (SELECT 1 FROM claimed)) "
            "SELECT " RQ_PG_JOB_COLUMNS ", checkpoint_samples, lease_id,"
            " (SELECT input FROM job_inputs WHERE job_inputs.seq = claimed.seq) FROM claimed",
            PgParams()
                .Add(worker)
                .Add(database_clock_ ? std::nullopt : std::optional<std::int64_t>(now_))
                .Add(KindsArray(kinds))));
    if (r.rows() == 0) return std::optional<ClaimedJob>();
    ClaimedJob claimed;
    claimed.job = ReadJobRow(r, 0);
    claimed.checkpoint_samples = r.Int(0, kJobColumnCount);
    claimed.lease = Lease{claimed.job.id, r.Int(0, kJobColumnCount + 1)};
    if (r.IsNull(0, kJobColumnCount + 2)) {
      return Status::Internal("job " + claimed.job.id + " has no input");
    }
    claimed.input_json = r.Text(0, kJobColumnCount + 2);
    return std::optional<ClaimedJob>(std::move(claimed));
  }

  Result<std::optional<bool>> TouchLease(const Lease& lease, double progress) override {
    if (!LooksLikeUuid(lease.job_id)) return std::optional<bool>();
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run("UPDATE jobs SET progress = $1, heartbeat_at = $2" RQ_PG_FENCE(
                       "$3", "$4") " RETURNING cancel_requested",
                   PgParams().Add(progress).Add(now_).Add(lease.job_id).Add(lease.lease_id)));
    if (r.rows() == 0) return std::optional<bool>();
    return std::optional<bool>(r.Bool(0, 0));
  }

  // Fenced: a checkpoint replaces the previous one with its row's sample count.
  Result<bool> StoreCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                               std::int64_t samples) {
    if (!LooksLikeUuid(lease.job_id)) return false;
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(
            "WITH j AS (UPDATE jobs SET checkpoint_samples = least($1, samples),"
            "   attempt_from_samples = least(attempt_from_samples, least($1, samples)),"
            "   heartbeat_at = $2" RQ_PG_FENCE(
                "$3",
                "$4") " RETURNING seq, checkpoint_samples),"
                      " saved AS (INSERT INTO job_checkpoints (seq, samples, state)"
                      "   SELECT seq, checkpoint_samples, $5 FROM j WHERE checkpoint_samples > 0"
                      "   ON CONFLICT (seq) DO UPDATE SET samples = excluded.samples,"
                      "   state = excluded.state RETURNING 1) "
                      "SELECT count(*) FROM j",
            PgParams().Add(samples).Add(now_).Add(lease.job_id).Add(lease.lease_id).Bytes(state)));
    return r.Int(0, 0) > 0;
  }

  // Fenced: succeeded with its result, in one statement; its preview and checkpoint go.
  // `fenced` false: the planted bug of PgStorageOptions::test_accept_stale_finish.
  Result<bool> StoreResult(const Lease& lease, const FinishRequest& request, bool fenced = true) {
    if (!LooksLikeUuid(lease.job_id)) return false;
    ASSIGN_OR_RETURN(PgResult r, conn_->Run(fenced ? kFinish : kFinishFromAnyLease,
                                            PgParams()
                                                .Add(now_)
                                                .Add(request.device)
                                                .Add(request.render_seconds)
                                                .Add(request.samples_per_second)
                                                .Add(request.result_etag)
                                                .Add(lease.job_id)
                                                .Add(lease.lease_id)
                                                .Bytes(request.png)));
    return r.Int(0, 0) > 0;
  }

  Result<bool> MarkFailed(const Lease& lease, const std::string& code,
                          const std::string& message) override {
    if (!LooksLikeUuid(lease.job_id)) return false;
    return EndedByItsWorker(conn_->Run(
        "WITH j AS (UPDATE jobs SET state = 'failed', finished_at = greatest($1, "
        "started_at), error_code = $2, error_message = $3, lease_id = NULL,"
        "   heartbeat_at = NULL, checkpoint_samples = 0, attempt_from_samples = 0" RQ_PG_FENCE(
            "$4", "$5") " RETURNING seq, id)," RQ_PG_END_PARTS,
        PgParams().Add(now_).Add(code).Add(message).Add(lease.job_id).Add(lease.lease_id)));
  }

  Result<bool> MarkCanceled(const Lease& lease) override {
    if (!LooksLikeUuid(lease.job_id)) return false;
    return EndedByItsWorker(
        conn_->Run("WITH j AS (UPDATE jobs SET state = 'canceled', finished_at = greatest($1, "
                   "started_at), lease_id = NULL, heartbeat_at = NULL, checkpoint_samples = 0,"
                   "   attempt_from_samples = 0" RQ_PG_FENCE(
                       "$2", "$3") " RETURNING seq, id)," RQ_PG_END_PARTS,
                   PgParams().Add(now_).Add(lease.job_id).Add(lease.lease_id)));
  }

  Result<std::vector<LeasedJob>> ReadLeasedJobs(const LeaseFilter& filter) override {
    if (filter.lease && !LooksLikeUuid(filter.lease->job_id)) return std::vector<LeasedJob>();
    // A scan for lapsed heartbeats skips rows another worker's scan (or the
    // row's own worker) holds right now: it will see them next time.
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(
            filter.heartbeat_before
                ? "SELECT seq, id::text, worker, attempts, stalled_attempts, cancel_requested,"
                  " checkpoint_samples, attempt_from_samples FROM jobs"
                  " WHERE state = 'running' AND heartbeat_at < $1"
                  " AND ($2::uuid IS NULL OR (id = $2::uuid AND lease_id = $3::bigint))"
                  " AND ($4::text IS NULL OR worker = $4) ORDER BY seq"
                  " FOR UPDATE SKIP LOCKED"
                : "SELECT seq, id::text, worker, attempts, stalled_attempts, cancel_requested,"
                  " checkpoint_samples, attempt_from_samples FROM jobs"
                  " WHERE state = 'running' AND $1::bigint IS NULL"
                  " AND ($2::uuid IS NULL OR (id = $2::uuid AND lease_id = $3::bigint))"
                  " AND ($4::text IS NULL OR worker = $4) ORDER BY seq FOR UPDATE",
            PgParams()
                .Add(filter.heartbeat_before)
                .Add(filter.lease ? std::optional<std::string>(filter.lease->job_id) : std::nullopt)
                .Add(filter.lease ? std::optional<std::int64_t>(filter.lease->lease_id)
                                  : std::nullopt)
                .Add(filter.worker)));
    std::vector<LeasedJob> jobs;
    for (int i = 0; i < r.rows(); ++i) {
      jobs.push_back(LeasedJob{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2),
                               static_cast<int>(r.Int(i, 3)), static_cast<int>(r.Int(i, 4)),
                               r.Bool(i, 5), r.Int(i, 6), r.Int(i, 7)});
    }
    return jobs;
  }

  Status EndLease(const LeasedJob& job, const LeaseEnd& end) override {
    if (end.next == JobState::kQueued) {
      notify_ = true;
      return conn_
          ->Run(
              "WITH w AS (UPDATE workers SET current_job = NULL WHERE current_job = $4::uuid) "
              "UPDATE jobs SET state = 'queued', attempts = $1, stalled_attempts = $2,"
              "  lease_id = NULL, heartbeat_at = NULL, started_at = NULL,"
              "  progress = coalesce(checkpoint_samples::float8 / samples, 0),"
              "  cancel_requested = false"
              " WHERE seq = $3",
              PgParams().Add(end.attempts).Add(end.stalled_attempts).Add(job.seq).Add(job.id))
          .status();
    }
    return conn_
        ->Run(
            "WITH c AS (DELETE FROM job_checkpoints WHERE seq = $7),"
            " p AS (DELETE FROM job_previews WHERE seq = $7),"
            " w AS (UPDATE workers SET current_job = NULL WHERE current_job = $8::uuid) "
            "UPDATE jobs SET state = $1, attempts = $2, stalled_attempts = $3,"
            "  lease_id = NULL, heartbeat_at = NULL, finished_at = greatest($4, started_at),"
            "  checkpoint_samples = 0, attempt_from_samples = 0,"
            "  error_code = $5, error_message = $6 WHERE seq = $7",
            PgParams()
                .Add(JobStateName(end.next))
                .Add(end.attempts)
                .Add(end.stalled_attempts)
                .Add(now_)
                .Add(end.error_code)
                .Add(end.error_message)
                .Add(job.seq)
                .Add(job.id))
        .status();
  }

  // ---- administration

  Result<PurgeReport> DeleteJobsFinishedBefore(TimeMs cutoff) override {
    // Scenes, results, previews and checkpoints go with their jobs (ON DELETE CASCADE).
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("DELETE FROM jobs WHERE finished_at < $1"
                                            " RETURNING id::text",
                                            PgParams().Add(cutoff)));
    PurgeReport report;
    for (int i = 0; i < r.rows(); ++i) report.job_ids.push_back(r.Text(i, 0));
    return report;
  }

  Status DeleteIdempotencyKeysBefore(TimeMs cutoff) override {
    return conn_->Run("DELETE FROM idempotency_keys WHERE created_at <= $1", PgParams().Add(cutoff))
        .status();
  }

  Status DeleteNotificationsBefore(TimeMs cutoff) override {
    RETURN_IF_ERROR(conn_
                        ->Run("DELETE FROM job_events AS e WHERE e.created_at < $1 AND NOT EXISTS"
                              " (SELECT 1 FROM webhook_deliveries AS d"
                              "  WHERE d.event_seq = e.seq AND d.state = 'pending')",
                              PgParams().Add(cutoff))
                        .status());
    return conn_
        ->Run("DELETE FROM webhook_attempts WHERE attempted_at < $1", PgParams().Add(cutoff))
        .status();
  }

  // ---- notifications

  Status InsertJobEvent(const JobEvent& event, int webhook_event) override {
    // Held to the commit: a later event's transaction waits, so seq order is
    // commit order for every reader on every host.
    if (!events_locked_) {
      RETURN_IF_ERROR(conn_->Exec(kEventsLock).status());
      events_locked_ = true;
    }
    const char* type = WebhookEventName(webhook_event);
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(
            "WITH e AS (INSERT INTO job_events (id, job_id, owner_id, state, job, created_at)"
            "  VALUES ($1, $2::uuid, $3, $4, $5, $6) RETURNING seq),"
            " d AS (INSERT INTO webhook_deliveries (webhook_id, event_seq, type,"
            "  next_attempt_at, created_at)"
            "  SELECT w.id, e.seq, $7, $6, $6 FROM webhooks AS w, e"
            "  WHERE $7::text IS NOT NULL AND w.owner_id = $3 AND (w.events & $8) != 0"
            "  RETURNING 1) "
            "SELECT seq FROM e",
            PgParams()
                .Add(event.id)
                .Add(event.job_id)
                .Add(event.owner_id)
                .Add(JobStateName(event.state))
                .Add(event.job_json)
                .Add(event.created_at)
                .Add(type == nullptr ? std::optional<std::string>() : std::string(type))
                .Add(webhook_event)));
    (void)r;
    notify_events_ = true;
    return Status::Ok();
  }

  Result<std::vector<JobEvent>> ReadJobEventsAfter(std::int64_t after, std::size_t limit) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT seq, id, job_id::text, owner_id, state, job, created_at"
                                " FROM job_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                                PgParams().Add(after).Add(static_cast<std::int64_t>(limit))));
    std::vector<JobEvent> events;
    for (int i = 0; i < r.rows(); ++i) {
      events.push_back(JobEvent{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3),
                                ParseJobState(r.Text(i, 4)).value_or(JobState::kFailed),
                                r.Text(i, 5), r.Int(i, 6)});
    }
    return events;
  }

  Result<std::int64_t> ReadLastJobEventSeq() override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT coalesce(max(seq), 0) FROM job_events", PgParams()));
    return r.Int(0, 0);
  }

  Status InsertWebhook(const NewWebhook& w) override {
    return conn_
        ->Run(
            "INSERT INTO webhooks (id, owner_id, url, events, secret_sealed, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            PgParams()
                .Add(w.id)
                .Add(w.owner_id)
                .Add(w.url)
                .Add(w.events)
                .Add(w.secret_sealed)
                .Add(now_))
        .status();
  }

  Result<std::int64_t> CountWebhooks(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(PgResult r, conn_->Run("SELECT count(*) FROM webhooks WHERE owner_id = $1",
                                            PgParams().Add(owner_id)));
    return r.Int(0, 0);
  }

  Result<std::vector<Webhook>> ReadWebhooks(std::int64_t owner_id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT id, owner_id, url, events, created_at FROM webhooks"
                                " WHERE owner_id = $1 ORDER BY created_at, id",
                                PgParams().Add(owner_id)));
    std::vector<Webhook> webhooks;
    for (int i = 0; i < r.rows(); ++i) {
      webhooks.push_back(Webhook{r.Text(i, 0), r.Int(i, 1), r.Text(i, 2),
                                 static_cast<int>(r.Int(i, 3)), r.Int(i, 4)});
    }
    return webhooks;
  }

  Result<std::optional<Webhook>> ReadWebhook(std::int64_t owner_id,
                                             const std::string& id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT id, owner_id, url, events, created_at FROM webhooks"
                                " WHERE id = $1 AND owner_id = $2",
                                PgParams().Add(id).Add(owner_id)));
    if (r.rows() == 0) return std::optional<Webhook>();
    return std::optional<Webhook>(Webhook{r.Text(0, 0), r.Int(0, 1), r.Text(0, 2),
                                          static_cast<int>(r.Int(0, 3)), r.Int(0, 4)});
  }

  Result<bool> DeleteWebhook(std::int64_t owner_id, const std::string& id) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("WITH d AS (DELETE FROM webhooks WHERE id = $1 AND owner_id = $2"
                                " RETURNING 1) SELECT count(*) FROM d",
                                PgParams().Add(id).Add(owner_id)));
    return r.Int(0, 0) > 0;
  }

  Result<std::vector<DeliveryAttempt>> ReadDeliveryAttempts(const std::string& webhook_id,
                                                            int limit) override {
    ASSIGN_OR_RETURN(PgResult r,
                     conn_->Run("SELECT event_id, type, attempt, attempted_at, status, error"
                                " FROM webhook_attempts WHERE webhook_id = $1"
                                " ORDER BY id DESC LIMIT $2",
                                PgParams().Add(webhook_id).Add(limit)));
    std::vector<DeliveryAttempt> attempts;
    for (int i = 0; i < r.rows(); ++i) {
      const std::optional<std::int64_t> status = r.OptInt(i, 4);
      attempts.push_back(DeliveryAttempt{
          r.Text(i, 0), r.Text(i, 1), static_cast<int>(r.Int(i, 2)), r.Int(i, 3),
          status ? std::optional<int>(static_cast<int>(*status)) : std::nullopt, r.OptText(i, 5)});
    }
    return attempts;
  }

  Result<DeliveryClaim> ClaimDeliveries(std::size_t limit, const std::vector<std::string>& busy,
                                        TimeMs lease_until) override {
    // The first due delivery of each webhook that has none claimed now, and
    // not in `busy`; locked with SKIP LOCKED so that dispatchers on other
    // hosts, claiming at the same moment, take other ones.
    std::string busy_list = "{";
    for (const std::string& b : busy) busy_list += (busy_list.size() > 1 ? "," : "") + b;
    busy_list += "}";
    ASSIGN_OR_RETURN(
        PgResult r,
        conn_->Run(
            "WITH first AS (SELECT DISTINCT ON (webhook_id) id, webhook_id, next_attempt_at"
            "   FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1"
            "   AND leased_until <= $1 AND webhook_id <> ALL ($2::text[])"
            "   AND webhook_id NOT IN (SELECT webhook_id FROM webhook_deliveries"
            "     WHERE state = 'pending' AND leased_until > $1)"
            "   ORDER BY webhook_id, next_attempt_at, id),"
            " picked AS (SELECT d.id FROM webhook_deliveries AS d"
            "   WHERE d.id IN (SELECT id FROM first) AND d.state = 'pending'"
            "   AND d.leased_until <= $1"
            "   ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE SKIP LOCKED),"
            " leased AS (UPDATE webhook_deliveries AS d SET leased_until = $4 FROM picked"
            "   WHERE d.id = picked.id RETURNING d.id, d.webhook_id, d.event_seq, d.type,"
            "   d.attempts, d.next_attempt_at) "
            "SELECT l.id, l.webhook_id, w.url, w.secret_sealed, e.id, l.type, e.job, e.created_at,"
            " l.attempts FROM leased AS l JOIN webhooks AS w ON w.id = l.webhook_id"
            " JOIN job_events AS e ON e.seq = l.event_seq ORDER BY l.next_attempt_at, l.id",
            PgParams()
                .Add(now_)
                .Add(busy_list)
                .Add(static_cast<std::int64_t>(limit))
                .Add(lease_until)));
    DeliveryClaim claim;
    std::set<std::string> taken(busy.begin(), busy.end());
    for (int i = 0; i < r.rows(); ++i) {
      claim.deliveries.push_back(DueDelivery{r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3),
                                             r.Text(i, 4), r.Text(i, 5), r.Text(i, 6), r.Int(i, 7),
                                             static_cast<int>(r.Int(i, 8))});
      taken.insert(r.Text(i, 1));
    }
    ASSIGN_OR_RETURN(PgResult next,
                     conn_->Run("SELECT webhook_id, min(greatest(next_attempt_at, leased_until))"
                                " FROM webhook_deliveries WHERE state = 'pending'"
                                " GROUP BY webhook_id",
                                PgParams()));
    for (int i = 0; i < next.rows(); ++i) {
      if (taken.count(next.Text(i, 0))) continue;
      const TimeMs at = next.Int(i, 1);
      if (!claim.next_due_at || at < *claim.next_due_at) claim.next_due_at = at;
    }
    return claim;
  }

  Status RecordDeliveryAttempt(const AttemptOutcome& o) override {
    const char* state = o.next == AttemptOutcome::Next::kDelivered ? "delivered"
                        : o.next == AttemptOutcome::Next::kFailed  ? "failed"
                                                                   : "pending";
    // Nothing when the webhook was deleted meanwhile (with its deliveries).
    return conn_
        ->Run(
            "WITH a AS (INSERT INTO webhook_attempts (webhook_id, event_id, type, attempt,"
            "  attempted_at, status, error)"
            "  SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM webhooks"
            "  WHERE id = $1) RETURNING 1) "
            "UPDATE webhook_deliveries SET state = $8, attempts = $4, next_attempt_at = $9,"
            " leased_until = 0 WHERE id = $10",
            PgParams()
                .Add(o.webhook_id)
                .Add(o.event_id)
                .Add(o.type)
                .Add(o.attempt)
                .Add(o.attempted_at)
                .Add(o.status ? std::optional<std::int64_t>(*o.status) : std::nullopt)
                .Add(o.error)
                .Add(state)
                .Add(now_ + std::max<TimeMs>(0, o.retry_in_ms))
                .Add(o.delivery_id))
        .status();
  }

 private:
  Result<bool> EndedByItsWorker(Result<PgResult> r) {
    if (!r.ok()) return r.status();
    return r->Int(0, 0) > 0;
  }

  PgConn* conn_;
  std::optional<PooledPg> pooled_;  // owns conn_ when from the pool
  TimeMs now_;
  bool database_clock_;
  bool open_;
  bool autocommit_;
  const std::chrono::milliseconds commit_wait_;
  bool notify_ = false;
  bool notify_events_ = false;  // NOTIFY renderq_events at the commit
  bool events_locked_ = false;  // holds kEventsLock
};

// "BEGIN" with every statement of the transaction bounded by `wait`: a lock
// wait behind a COMMIT that waits for a synchronous standby gives up in time.
// (The COMMIT itself is bounded by the client: PgConn::Commit.)
std::string BeginBounded(std::chrono::milliseconds wait) {
  return "BEGIN; SET LOCAL statement_timeout = " + std::to_string(wait.count());
}

// Begins a transaction on `conn` ("BEGIN ..." plus, unless `clock` is given,
// the server's clock in the same round trip).
Result<TimeMs> BeginOn(PgConn& conn, const std::string& begin, Clock* clock) {
  if (clock != nullptr) {
    RETURN_IF_ERROR(conn.Exec(begin).status());
    return clock->NowMs();
  }
  ASSIGN_OR_RETURN(PgResult now, conn.Exec(begin + "; " + kNowMs));
  return now.Int(0, 0);
}

// The group commit writer's own connection, made again after it broke.
class PgWriterSession final : public QueueStorage::WriterSession {
 public:
  PgWriterSession(std::string uri, Clock* clock, std::chrono::milliseconds commit_wait)
      : uri_(std::move(uri)), clock_(clock), commit_wait_(commit_wait) {}

  Result<std::unique_ptr<StorageTx>> Begin() override {
    if (conn_ == nullptr || !conn_->Healthy()) {
      conn_.reset();
      ASSIGN_OR_RETURN(conn_, PgConn::Connect(uri_));
    }
    // Batches of every writer session, on every host, one at a time; each
    // statement (the lock's wait too) and the COMMIT bounded by the commit wait.
    Result<TimeMs> now = BeginOn(*conn_, BeginBounded(commit_wait_) + "; " + kWriterLock, clock_);
    if (!now.ok()) {
      if (conn_->Healthy() && conn_->InTransaction()) (void)conn_->Exec("ROLLBACK");
      return now.status();
    }
    return std::unique_ptr<StorageTx>(std::make_unique<PgTx>(conn_.get(), std::nullopt, *now,
                                                             clock_ == nullptr,
                                                             /*autocommit=*/false, commit_wait_));
  }

 private:
  const std::string uri_;
  Clock* const clock_;
  const std::chrono::milliseconds commit_wait_;
  std::unique_ptr<PgConn> conn_;
};

// The session that holds a worker name's advisory lock (on a connection of
// its own), or an error: kConflict when another process holds it.
Result<std::unique_ptr<PgConn>> LockNameOnNewSession(const std::string& uri,
                                                     const std::string& name) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(uri));
  ASSIGN_OR_RETURN(PgResult locked, conn->Run(kWorkerNameLock, PgParams().Add(name)));
  if (!locked.Bool(0, 0)) {
    return Status::Conflict("another renderq-worker process holds the name '" + name +
                            "' on this database");
  }
  return conn;
}

class PgWorkerNameLock final : public WorkerNameLock {
 public:
  PgWorkerNameLock(std::string uri, std::string name, std::unique_ptr<PgConn> conn)
      : uri_(std::move(uri)), name_(std::move(name)), conn_(std::move(conn)) {}

  bool ProvesPredecessorDead() const override { return false; }

  Result<bool> Verify() override {
    if (conn_ != nullptr && conn_->Healthy() && conn_->Run("SELECT 1").ok()) return false;
    // The session is gone, and the lock with it: take it again, unless
    // another process took the name in the meantime.
    conn_.reset();
    ASSIGN_OR_RETURN(conn_, LockNameOnNewSession(uri_, name_));
    return true;
  }

 private:
  const std::string uri_;
  const std::string name_;
  std::unique_ptr<PgConn> conn_;  // the session that holds the advisory lock
};

}  // namespace

// ---- Opening ------------------------------------------------------------------

PgStorage::PgStorage(PgStorageOptions options)
    : options_(std::move(options)),
      pool_(options_.uri, options_.max_connections, options_.pool_wait) {}

PgStorage::~PgStorage() = default;

Result<std::unique_ptr<PgStorage>> PgStorage::Open(const PgStorageOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(options.uri));
  RETURN_IF_ERROR(ApplyPostgresMigrations(*conn).status());
  return std::unique_ptr<PgStorage>(new PgStorage(options));
}

Result<std::unique_ptr<StorageTx>> PgStorage::BeginRead(ReadKind kind) {
  ASSIGN_OR_RETURN(PooledPg conn, pool_.Acquire());
  PgConn* raw = &*conn;
  if (kind == ReadKind::kOneStatement) {
    return std::unique_ptr<StorageTx>(std::make_unique<PgTx>(raw, std::move(conn), /*now=*/0,
                                                             options_.clock == nullptr,
                                                             /*autocommit=*/true));
  }
  ASSIGN_OR_RETURN(
      const TimeMs now,
      BeginOn(*raw, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", options_.clock));
  return std::unique_ptr<StorageTx>(
      std::make_unique<PgTx>(raw, std::move(conn), now, options_.clock == nullptr));
}

Result<std::unique_ptr<StorageTx>> PgStorage::BeginWrite(WriteKind kind) {
  ASSIGN_OR_RETURN(PooledPg conn, pool_.Acquire());
  PgConn* raw = &*conn;
  // A heartbeat commits like any other write here, waiting for the standby
  // too: a worker counts a renewal the database acknowledged toward its
  // self-fence, so a promotion must not lose it (asynchronously committed
  // renewals, lost with a primary that died, let the new one give a lease
  // away while its holder still rendered).
  (void)kind;
  ASSIGN_OR_RETURN(const TimeMs now,
                   BeginOn(*raw, BeginBounded(options_.commit_wait), options_.clock));
  return std::unique_ptr<StorageTx>(
      std::make_unique<PgTx>(raw, std::move(conn), now, options_.clock == nullptr,
                             /*autocommit=*/false, options_.commit_wait));
}

Result<std::unique_ptr<QueueStorage::WriterSession>> PgStorage::OpenWriterSession() {
  return std::unique_ptr<WriterSession>(
      std::make_unique<PgWriterSession>(options_.uri, options_.clock, options_.commit_wait));
}

Status PgStorage::Ping() {
  ASSIGN_OR_RETURN(PooledPg conn, pool_.Acquire());
  return conn->Run("SELECT 1").status();
}

// PostgreSQL checks its own pages (data checksums, amcheck), and a job is
// marked succeeded in the transaction that stores its result (a constraint
// trigger refuses one without the other): what is left to check here is that
// the database answers.
Result<CheckReport> PgStorage::Check() {
  RETURN_IF_ERROR(Ping());
  return CheckReport{};
}

Status PgStorage::Backup(const std::string& destination) {
  (void)destination;
  return Status::InvalidArgument(
      "the store is PostgreSQL: back it up with pg_dump --format=custom '" +
      RedactedDb(options_.uri) + "' > FILE, which holds the images too (docs/scaling.md)");
}

// ---- Worker names -----------------------------------------------------------

Result<std::unique_ptr<WorkerNameLock>> PgStorage::LockWorkerName(const std::string& name) {
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, LockNameOnNewSession(options_.uri, name));
  return std::unique_ptr<WorkerNameLock>(
      std::make_unique<PgWorkerNameLock>(options_.uri, name, std::move(conn)));
}

// ---- Job bytes ----------------------------------------------------------------

Result<bool> PgStorage::StoreCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                                        std::int64_t samples) {
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, BeginWrite(WriteKind::kDurable));
  ASSIGN_OR_RETURN(const bool held, static_cast<PgTx&>(*tx).StoreCheckpoint(lease, state, samples));
  if (!held) return false;
  RETURN_IF_ERROR(tx->Commit());
  return true;
}

Result<std::optional<std::vector<std::uint8_t>>> PgStorage::LoadCheckpoint(const Lease& lease) {
  if (!LooksLikeUuid(lease.job_id)) return std::optional<std::vector<std::uint8_t>>();
  ASSIGN_OR_RETURN(PooledPg conn, pool_.Acquire());
  ASSIGN_OR_RETURN(PgResult r, conn->Run("SELECT c.state FROM job_checkpoints AS c"
                                         " JOIN jobs AS j ON j.seq = c.seq WHERE j.id = $1::uuid",
                                         PgParams().Add(lease.job_id), /*binary_result=*/true));
  if (r.rows() == 0) return std::optional<std::vector<std::uint8_t>>();
  return std::optional<std::vector<std::uint8_t>>(r.Bytes(0, 0));
}

Status PgStorage::StorePreview(const Lease& lease, std::span<const std::uint8_t> png) {
  if (!LooksLikeUuid(lease.job_id)) return Status::Ok();
  ASSIGN_OR_RETURN(PooledPg conn, pool_.Acquire());
  ASSIGN_OR_RETURN(const TimeMs now, BeginOn(*conn, "BEGIN", options_.clock));
  auto rollback = [&](Status s) {
    if (conn->Healthy() && conn->InTransaction()) (void)conn->Exec("ROLLBACK");
    return s;
  };
  // A preview is worth no fsync wait: a lost one is replaced by the next.
  if (Status s = conn->Exec("SET LOCAL synchronous_commit = off").status(); !s.ok()) {
    return rollback(s);
  }
  Result<PgResult> saved = conn->Run(
      "INSERT INTO job_previews (seq, png, updated_at)"
      " SELECT seq, $1, $2 FROM jobs" RQ_PG_FENCE("$3", "$4") " ON CONFLICT (seq) DO UPDATE"
      " SET png = excluded.png, updated_at = excluded.updated_at",
      PgParams().Bytes(png).Add(now).Add(lease.job_id).Add(lease.lease_id));
  if (!saved.ok()) return rollback(saved.status());
  return conn->Commit();
}

Result<bool> PgStorage::StoreResult(const Lease& lease, const FinishRequest& request,
                                    const std::function<Status(StorageTx&)>& also) {
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, BeginWrite(WriteKind::kDurable));
  ASSIGN_OR_RETURN(const bool held, static_cast<PgTx&>(*tx).StoreResult(
                                        lease, request, !options_.test_accept_stale_finish));
  if (!held) return false;
  if (also) RETURN_IF_ERROR(also(*tx));
  RETURN_IF_ERROR(tx->Commit());
  return true;
}

Result<Artifact> PgStorage::ReadArtifact(const std::string& job_id, ArtifactKind kind) {
  const bool result = kind == ArtifactKind::kResult;
  const std::string what = result ? "result" : "preview";
  if (!LooksLikeUuid(job_id)) return Status::NotFound("no " + what + " for job " + job_id);
  ASSIGN_OR_RETURN(PooledPg conn, pool_.Acquire());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Run(result ? "SELECT a.png FROM job_results AS a JOIN jobs AS j"
                                      " ON j.seq = a.seq WHERE j.id = $1::uuid"
                                    : "SELECT a.png FROM job_previews AS a JOIN jobs AS j"
                                      " ON j.seq = a.seq WHERE j.id = $1::uuid",
                             PgParams().Add(job_id), /*binary_result=*/true));
  if (r.rows() == 0) return Status::NotFound("no " + what + " for job " + job_id);
  Artifact artifact;
  artifact.bytes = r.Bytes(0, 0);
  if (!result && LooksLikeJpeg(artifact.bytes)) artifact.media_type = "image/jpeg";
  return artifact;
}

// ---- Change notification ------------------------------------------------------

Result<bool> PgStorage::EnsureListening() {
  if (listener_ != nullptr && listener_->Healthy()) return false;
  listener_.reset();
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(options_.uri));
  RETURN_IF_ERROR(conn->Exec(std::string("LISTEN ") + kChannel).status());
  if (options_.wake_on_events) {
    RETURN_IF_ERROR(conn->Exec(std::string("LISTEN ") + kEventsChannel).status());
  }
  listener_ = std::move(conn);
  return true;
}

void PgStorage::PrepareWait() {
  std::lock_guard lock(listen_mu_);
  // LISTEN before the look, so a commit between an empty look and the wait
  // still wakes it. A listener made here was made before the claim that
  // follows: that claim sees whatever was missed while it was down.
  (void)EnsureListening();
}

Status PgStorage::WaitForChange(std::chrono::milliseconds timeout) {
  std::unique_lock lock(listen_mu_);
  Result<bool> made = EnsureListening();
  if (!made.ok()) {
    // The database is unreachable: the slow poll. The caller claims again
    // afterwards, which fails until the database is back.
    lock.unlock();
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(1000)));
    return Status::Ok();
  }
  if (*made) {
    // Notifications sent while it was down are lost: claim again at once.
    return Status::Ok();
  }
  PGconn* conn = listener_->handle();
  auto drained = [&] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  };
  if (PQconsumeInput(conn) == 0) {
    listener_.reset();  // broken: remade (and claimed after) on the next call
    return Status::Ok();
  }
  if (drained()) return Status::Ok();
  pollfd p{PQsocket(conn), POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(std::min<std::int64_t>(timeout.count(), 1 << 30)));
  if (ready < 0 && errno != EINTR) {
    return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
  }
  if (ready > 0) {
    if (PQconsumeInput(conn) == 0) {
      listener_.reset();
      return Status::Ok();
    }
    drained();  // one wake-up per wait, however many commits
  }
  return Status::Ok();
}

}  // namespace renderq
