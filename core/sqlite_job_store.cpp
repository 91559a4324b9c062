#include "core/sqlite_job_store.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "core/sqlite_migrations.h"
#include "core/token.h"
#include "core/uuid.h"

namespace renderq {
namespace {

// The columns ReadJob() expects, in its order.
#define RQ_JOB_COLUMNS                                                                       \
  "seq, id, owner_id, state, attempts, cancel_requested, progress, created_at, started_at, " \
  "finished_at, error_code, error_message, width, height, samples, max_depth, cost_units, "  \
  "device, render_seconds, samples_per_second, result_etag"
constexpr int kJobColumnCount = 21;
// The lease fence: the last two parameters of every worker write.
#define RQ_FENCE " WHERE id = ? AND lease_id = ? AND state = 'running'"

Job ReadJob(const Statement& row) {
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
  job.width = static_cast<int>(row.Int(12));
  job.height = static_cast<int>(row.Int(13));
  job.samples = static_cast<int>(row.Int(14));
  job.max_depth = static_cast<int>(row.Int(15));
  job.cost_units = row.Real(16);
  job.device = row.OptText(17);
  job.render_seconds = row.OptReal(18);
  job.samples_per_second = row.OptReal(19);
  job.result_etag = row.OptText(20);
  return job;
}

// What the queue holds and how fast it drains, read once per request.
struct QueueLoad {
  std::int64_t queued = 0;
  double queued_cost = 0;
  std::optional<std::int64_t> head_seq;  // the next job to run
  double running_remaining = 0;          // cost units the running jobs still need
  double units_per_second = 0;           // one worker's (best measured) throughput
  double drain_rate = 0;                 // all live workers together

  double Seconds(double cost) const { return cost / drain_rate; }
};

}  // namespace

struct AdmissionCache {
  struct OwnerQueue {
    std::int64_t queued = 0;
    std::optional<std::int64_t> first_seq;
  };
  std::int64_t batch = -1;  // the group-commit batch it describes; -1: none
  QueueLoad load;
  std::unordered_map<std::int64_t, OwnerQueue> owners;
};

namespace {

Result<QueueLoad> LoadQueue(SqliteDb& db, const SqliteJobStoreOptions& options, TimeMs now) {
  QueueLoad load;
  {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare(
            "SELECT count(*), total(cost_units), min(seq) FROM jobs WHERE state = 'queued'"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      load.queued = q.Int(0);
      load.queued_cost = q.Real(1);
      load.head_seq = q.OptInt(2);
    }
  }
  {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare("SELECT total(cost_units * (1 - progress)) FROM jobs WHERE state = 'running'"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) load.running_remaining = q.Real(0);
  }
  {
    ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT max(units_per_second), total(iif(heartbeat_at "
                                             ">= ?, units_per_second, 0)) FROM workers"));
    q.Bind(now - options.lease_timeout_ms);
    ASSIGN_OR_RETURN(bool row, q.Step());
    std::optional<double> best = row ? q.OptReal(0) : std::nullopt;
    double live = row ? q.Real(1) : 0.0;
    load.units_per_second = best.value_or(options.default_units_per_second);
    load.drain_rate = live > 0 ? live : load.units_per_second;
  }
  return load;
}

// Cost of the queued jobs with seq < `before`.
Result<double> QueuedCostBefore(SqliteDb& db, std::int64_t before, std::int64_t* count) {
  ASSIGN_OR_RETURN(
      Statement q,
      db.Prepare(
          "SELECT count(*), total(cost_units) FROM jobs WHERE state = 'queued' AND seq < ?"));
  q.Bind(before);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::Internal("aggregate returned no row");
  if (count != nullptr) *count = q.Int(0);
  return q.Real(1);
}

// Fills the derived fields (position, eta) of jobs read from one connection.
class Deriver {
 public:
  Deriver(SqliteDb& db, const SqliteJobStoreOptions& options, TimeMs now)
      : db_(db), options_(options), now_(now) {}

  Status Fill(Job& job) {
    if (job.state != JobState::kQueued && job.state != JobState::kRunning) return Status::Ok();
    if (!load_) {
      ASSIGN_OR_RETURN(QueueLoad load, LoadQueue(db_, options_, now_));
      load_ = load;
    }
    if (job.state == JobState::kRunning) {
      job.eta_seconds = RunningEta(job);
      return Status::Ok();
    }
    std::int64_t ahead = 0;
    ASSIGN_OR_RETURN(double cost_ahead, QueuedCostBefore(db_, job.seq, &ahead));
    job.position = ahead + 1;
    job.eta_seconds = load_->Seconds(cost_ahead + job.cost_units + load_->running_remaining);
    return Status::Ok();
  }

  Result<QueueLoad> Load() {
    if (!load_) {
      ASSIGN_OR_RETURN(QueueLoad load, LoadQueue(db_, options_, now_));
      load_ = load;
    }
    return *load_;
  }

 private:
  double RunningEta(const Job& job) const {
    if (job.progress > 0 && job.started_at && now_ > *job.started_at) {
      double elapsed = static_cast<double>(now_ - *job.started_at) / 1000.0;
      return elapsed * (1 - job.progress) / job.progress;
    }
    return job.cost_units * (1 - job.progress) / load_->units_per_second;
  }

  SqliteDb& db_;
  const SqliteJobStoreOptions& options_;
  TimeMs now_;
  std::optional<QueueLoad> load_;
};

// The job `id` as a caller may see it (owner_id 0: any owner), derived fields filled.
Result<Job> LoadJob(SqliteDb& db, Deriver& deriver, std::int64_t owner_id, const std::string& id) {
  ASSIGN_OR_RETURN(Statement q,
                   db.Prepare("SELECT " RQ_JOB_COLUMNS
                              " FROM jobs WHERE id = ?1 AND (?2 = 0 OR owner_id = ?2)"));
  q.Bind(id, owner_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("no job " + id);
  Job job = ReadJob(q);
  RETURN_IF_ERROR(deriver.Fill(job));
  return job;
}

double RetryAfter(double seconds) { return std::max(1.0, std::ceil(seconds)); }

// Runs `statement` and reports Conflict unless it changed exactly the leased job.
Status ExpectLeaseHeld(SqliteDb& db, Statement& statement, const Lease& lease) {
  RETURN_IF_ERROR(statement.Run());
  if (db.Changes() == 0) {
    return Status::Conflict("job " + lease.job_id + " is not held by lease " +
                            std::to_string(lease.lease_id));
  }
  return Status::Ok();
}

// Workers whose job is no longer running have none.
Status ClearFinishedWorkerJobs(SqliteDb& db) {
  ASSIGN_OR_RETURN(
      Statement q,
      db.Prepare(
          "UPDATE workers SET current_job = NULL WHERE current_job IS NOT NULL AND NOT EXISTS "
          "(SELECT 1 FROM jobs WHERE jobs.id = workers.current_job AND jobs.state = 'running')"));
  return q.Run();
}

// Ends the lease of running jobs that lost their worker: back to 'queued' at
// the same seq (attempts + spend), 'failed' with worker_lost once attempts
// reach the maximum, or 'canceled' if a cancel was waiting for the worker.
// Selects every running job that passes all the filters given: a heartbeat
// before `cutoff`, the one job held by `lease`, a lease held by `worker`.
// Returns how many jobs it touched.
Result<int> RequeueIn(SqliteDb& db, const SqliteJobStoreOptions& options, TimeMs now, bool spend,
                      std::optional<TimeMs> cutoff, const Lease* lease,
                      const std::string* worker = nullptr) {
  ASSIGN_OR_RETURN(
      Statement q,
      db.Prepare("UPDATE jobs SET"
                 "  state = n.next,"
                 "  attempts = jobs.attempts + n.spent,"
                 "  lease_id = NULL, heartbeat_at = NULL,"
                 "  started_at = iif(n.next = 'queued', NULL, jobs.started_at),"
                 "  finished_at = iif(n.next = 'queued', NULL, max(?1, jobs.started_at)),"
                 "  progress = iif(n.next = 'queued', CAST(jobs.checkpoint_samples AS REAL) / "
                 "jobs.samples, jobs.progress),"
                 "  cancel_requested = iif(n.next = 'queued', 0, jobs.cancel_requested),"
                 "  checkpoint_path = iif(n.next = 'queued', jobs.checkpoint_path, NULL),"
                 "  checkpoint_samples = iif(n.next = 'queued', jobs.checkpoint_samples, 0),"
                 "  error_code = iif(n.next = 'failed', 'worker_lost', NULL),"
                 "  error_message = iif(n.next = 'failed', 'the job lost its worker ' || "
                 "(jobs.attempts + n.spent) ||"
                 "                      ' times (worker ' || jobs.worker || ' last)', NULL) "
                 "FROM (SELECT seq, ?2 AS spent,"
                 "        CASE WHEN cancel_requested THEN 'canceled'"
                 "             WHEN attempts + ?2 >= ?3 THEN 'failed' ELSE 'queued' END AS next"
                 "      FROM jobs WHERE state = 'running'"
                 "        AND (?4 IS NULL OR heartbeat_at < ?4)"
                 "        AND (?5 IS NULL OR (id = ?5 AND lease_id = ?6))"
                 "        AND (?7 IS NULL OR worker = ?7)) AS n "
                 "WHERE jobs.seq = n.seq"));
  q.Bind(now, spend ? 1 : 0, options.max_attempts, cutoff,
         lease ? std::optional<std::string>(lease->job_id) : std::nullopt,
         lease ? std::optional<std::int64_t>(lease->lease_id) : std::nullopt,
         worker ? std::optional<std::string>(*worker) : std::nullopt);
  RETURN_IF_ERROR(q.Run());
  int touched = db.Changes();
  if (touched > 0) RETURN_IF_ERROR(ClearFinishedWorkerJobs(db));
  return touched;
}

Result<std::optional<ClaimedJob>> ClaimIn(SqliteDb& db, const std::string& worker_name,
                                          TimeMs now) {
  std::int64_t lease_id = 0;
  {
    // Nothing queued: no lease number is spent.
    ASSIGN_OR_RETURN(
        Statement any,
        db.Prepare("SELECT 1 FROM jobs INDEXED BY jobs_queued WHERE state = 'queued' LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, any.Step());
    if (!row) return std::optional<ClaimedJob>();
  }
  {
    ASSIGN_OR_RETURN(Statement counter,
                     db.Prepare("UPDATE lease_counter SET last_lease_id = last_lease_id + 1 WHERE "
                                "id = 1 RETURNING last_lease_id"));
    ASSIGN_OR_RETURN(bool row, counter.Step());
    if (!row) return Status::Internal("lease_counter has no row");
    lease_id = counter.Int(0);
    RETURN_IF_ERROR(counter.Run());
  }
  ClaimedJob claimed;
  {
    ASSIGN_OR_RETURN(
        Statement claim,
        db.Prepare(
            "UPDATE jobs SET state = 'running', lease_id = ?1, worker = ?2, heartbeat_at = ?3,"
            "  started_at = max(?3, created_at), progress = CAST(checkpoint_samples AS REAL) / "
            "samples "
            "WHERE seq = (SELECT min(seq) FROM jobs WHERE state = 'queued') "
            "RETURNING " RQ_JOB_COLUMNS ", scene, checkpoint_path, checkpoint_samples"));
    claim.Bind(lease_id, worker_name, now);
    ASSIGN_OR_RETURN(bool row, claim.Step());
    if (!row) return Status::Internal("queued job vanished inside the transaction");
    claimed.job = ReadJob(claim);
    claimed.scene_json = claim.Text(kJobColumnCount);
    claimed.checkpoint_path = claim.OptText(kJobColumnCount + 1).value_or("");
    claimed.checkpoint_samples = claim.Int(kJobColumnCount + 2);
    RETURN_IF_ERROR(claim.Run());
  }
  claimed.lease = Lease{claimed.job.id, lease_id};
  ASSIGN_OR_RETURN(Statement worker, db.Prepare("UPDATE workers SET current_job = ?1, heartbeat_at "
                                                "= max(?2, started_at) WHERE name = ?3"));
  worker.Bind(claimed.job.id, now, worker_name);
  RETURN_IF_ERROR(worker.Run());
  return std::optional<ClaimedJob>(std::move(claimed));
}

// ---- Submit (runs on the group-commit writer) -----------------------------

// Looks up an idempotency key; fills `outcome` and returns true when the
// submit is answered by an earlier one (replay or conflict).
Result<bool> CheckIdempotencyKey(SqliteDb& db, Deriver& deriver,
                                 const SqliteJobStoreOptions& options, const SubmitRequest& request,
                                 TimeMs now, SubmitOutcome* outcome) {
  std::string job_id;
  {
    ASSIGN_OR_RETURN(Statement q, db.Prepare("SELECT request_hash, job_id, created_at FROM "
                                             "idempotency_keys WHERE owner_id = ? AND key = ?"));
    q.Bind(request.owner_id, request.idempotency_key);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return false;
    if (q.Int(2) > now - options.idempotency_window_ms) {
      if (q.Text(0) != request.request_hash) {
        outcome->kind = SubmitOutcome::Kind::kKeyConflict;
        return true;
      }
      job_id = q.Text(1);
    }
  }
  if (job_id.empty()) {  // expired: the key starts over
    ASSIGN_OR_RETURN(Statement del,
                     db.Prepare("DELETE FROM idempotency_keys WHERE owner_id = ? AND key = ?"));
    del.Bind(request.owner_id, request.idempotency_key);
    RETURN_IF_ERROR(del.Run());
    return false;
  }
  ASSIGN_OR_RETURN(outcome->job, LoadJob(db, deriver, request.owner_id, job_id));
  outcome->kind = SubmitOutcome::Kind::kReplayed;
  return true;
}

Result<AdmissionCache::OwnerQueue*> OwnerQueueOf(SqliteDb& db, AdmissionCache& cache,
                                                 std::int64_t owner_id) {
  auto found = cache.owners.find(owner_id);
  if (found != cache.owners.end()) return &found->second;
  ASSIGN_OR_RETURN(
      Statement q,
      db.Prepare("SELECT count(*), min(seq) FROM jobs WHERE owner_id = ? AND state = 'queued'"));
  q.Bind(owner_id);
  ASSIGN_OR_RETURN(bool row, q.Step());
  AdmissionCache::OwnerQueue owner;
  if (row) owner = {q.Int(0), q.OptInt(1)};
  return &cache.owners.emplace(owner_id, owner).first->second;
}

// Fills `outcome` and returns true when a limit turns the submit away.
Result<bool> CheckLimits(SqliteDb& db, const QueueLoad& load,
                         const AdmissionCache::OwnerQueue& owner, const QueueLimits& limits,
                         const SubmitRequest& request, SubmitOutcome* outcome) {
  if (owner.queued >= limits.max_queued_per_owner && owner.first_seq) {
    // Until the owner's oldest queued job is done and frees a slot.
    ASSIGN_OR_RETURN(double cost, QueuedCostBefore(db, *owner.first_seq + 1, nullptr));
    outcome->kind = SubmitOutcome::Kind::kOwnerQueueFull;
    outcome->retry_after_seconds = RetryAfter(load.Seconds(cost + load.running_remaining));
    return true;
  }
  if (load.queued >= limits.max_queued && load.head_seq) {
    // Until the next job in line is done and frees a slot.
    ASSIGN_OR_RETURN(double cost, QueuedCostBefore(db, *load.head_seq + 1, nullptr));
    outcome->kind = SubmitOutcome::Kind::kQueueFull;
    outcome->retry_after_seconds = RetryAfter(load.Seconds(cost + load.running_remaining));
    return true;
  }
  double drain = load.Seconds(load.queued_cost + load.running_remaining + request.cost_units);
  if (drain > limits.max_drain_seconds) {
    outcome->kind = SubmitOutcome::Kind::kQueueFull;
    outcome->retry_after_seconds = RetryAfter(drain - limits.max_drain_seconds);
    return true;
  }
  return false;
}

Status SubmitIn(SqliteDb& db, const SqliteJobStoreOptions& options, AdmissionCache& cache,
                std::int64_t batch, const SubmitRequest& request, const std::string& job_id,
                SubmitOutcome* outcome) {
  const TimeMs now = options.clock->NowMs();
  Deriver deriver(db, options, now);
  if (!request.idempotency_key.empty()) {
    ASSIGN_OR_RETURN(bool answered,
                     CheckIdempotencyKey(db, deriver, options, request, now, outcome));
    if (answered) return Status::Ok();
  }
  if (cache.batch != batch) {
    cache.batch = -1;
    cache.owners.clear();
    ASSIGN_OR_RETURN(cache.load, LoadQueue(db, options, now));
    cache.batch = batch;
  }
  const QueueLoad& load = cache.load;
  ASSIGN_OR_RETURN(AdmissionCache::OwnerQueue * owner, OwnerQueueOf(db, cache, request.owner_id));
  ASSIGN_OR_RETURN(bool refused, CheckLimits(db, load, *owner, options.limits, request, outcome));
  if (refused) return Status::Ok();

  {
    ASSIGN_OR_RETURN(Statement insert,
                     db.Prepare("INSERT INTO jobs (id, owner_id, created_at, scene, width, height, "
                                "samples, max_depth, cost_units)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.Bind(job_id, request.owner_id, now, request.scene_json, request.width, request.height,
                request.samples, request.max_depth, request.cost_units);
    RETURN_IF_ERROR(insert.Run());
  }
  Job& job = outcome->job;
  job.seq = db.LastInsertRowId();
  if (!request.idempotency_key.empty()) {
    ASSIGN_OR_RETURN(Statement key,
                     db.Prepare("INSERT INTO idempotency_keys (owner_id, key, request_hash, "
                                "job_id, created_at) VALUES (?, ?, ?, ?, ?)"));
    key.Bind(request.owner_id, request.idempotency_key, request.request_hash, job_id, now);
    RETURN_IF_ERROR(key.Run());
  }
  outcome->kind = SubmitOutcome::Kind::kCreated;
  job.id = job_id;
  job.owner_id = request.owner_id;
  job.state = JobState::kQueued;
  job.created_at = now;
  job.width = request.width;
  job.height = request.height;
  job.samples = request.samples;
  job.max_depth = request.max_depth;
  job.cost_units = request.cost_units;
  job.position = load.queued + 1;  // every queued job committed before this one
  job.eta_seconds = load.Seconds(load.queued_cost + load.running_remaining + request.cost_units);
  // This batch's later submits see this one.
  cache.load.queued += 1;
  cache.load.queued_cost += request.cost_units;
  if (!cache.load.head_seq) cache.load.head_seq = job.seq;
  owner->queued += 1;
  if (!owner->first_seq) owner->first_seq = job.seq;
  return Status::Ok();
}

Status CancelIn(SqliteDb& db, const SqliteJobStoreOptions& options, std::int64_t owner_id,
                const std::string& job_id, CancelOutcome* outcome) {
  const TimeMs now = options.clock->NowMs();
  Deriver deriver(db, options, now);
  ASSIGN_OR_RETURN(Job job, LoadJob(db, deriver, owner_id, job_id));
  if (IsTerminal(job.state)) {
    outcome->kind = CancelOutcome::Kind::kAlreadyTerminal;
    outcome->job = std::move(job);
    return Status::Ok();
  }
  const bool queued = job.state == JobState::kQueued;
  if (queued) {
    ASSIGN_OR_RETURN(
        Statement update,
        db.Prepare(
            "UPDATE jobs SET state = 'canceled', finished_at = max(?, created_at) WHERE seq = ?"));
    update.Bind(now, job.seq);
    RETURN_IF_ERROR(update.Run());
  } else {
    ASSIGN_OR_RETURN(Statement update,
                     db.Prepare("UPDATE jobs SET cancel_requested = 1 WHERE seq = ?"));
    update.Bind(job.seq);
    RETURN_IF_ERROR(update.Run());
  }
  outcome->kind = queued ? CancelOutcome::Kind::kCanceled : CancelOutcome::Kind::kCancelRequested;
  Deriver after(db, options, now);
  ASSIGN_OR_RETURN(outcome->job, LoadJob(db, after, owner_id, job_id));
  return Status::Ok();
}

Status RetryIn(SqliteDb& db, const SqliteJobStoreOptions& options, const std::string& job_id,
               Job* out) {
  const TimeMs now = options.clock->NowMs();
  Deriver deriver(db, options, now);
  ASSIGN_OR_RETURN(Job job, LoadJob(db, deriver, /*owner_id=*/0, job_id));
  if (job.state != JobState::kFailed && job.state != JobState::kCanceled) {
    return Status::Conflict(std::string("job ") + job_id + " is " + JobStateName(job.state) +
                            "; only failed or canceled jobs can be retried");
  }
  // A new seq puts it at the end of the line; sqlite_sequence follows, so no
  // later submit can take the same number.
  ASSIGN_OR_RETURN(
      Statement move,
      db.Prepare(
          "UPDATE jobs SET seq = (SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name "
          "= 'jobs'), 0),"
          "                                  (SELECT max(seq) FROM jobs)) + 1),"
          "  state = 'queued', attempts = 0, cancel_requested = 0, progress = 0, started_at = NULL,"
          "  finished_at = NULL, error_code = NULL, error_message = NULL, device = NULL,"
          "  render_seconds = NULL, samples_per_second = NULL, result_etag = NULL,"
          "  checkpoint_path = NULL, checkpoint_samples = 0, worker = NULL "
          "WHERE id = ? RETURNING seq"));
  move.Bind(job_id);
  ASSIGN_OR_RETURN(bool row, move.Step());
  if (!row) return Status::Internal("retried job vanished");
  const std::int64_t seq = move.Int(0);
  RETURN_IF_ERROR(move.Run());
  ASSIGN_OR_RETURN(Statement sequence,
                   db.Prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'jobs'"));
  sequence.Bind(seq);
  RETURN_IF_ERROR(sequence.Run());
  Deriver after(db, options, now);
  ASSIGN_OR_RETURN(*out, LoadJob(db, after, /*owner_id=*/0, job_id));
  return Status::Ok();
}

Status ValidateName(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument(std::string(what) + " must be 1..128 characters");
  }
  return Status::Ok();
}

}  // namespace

// ---- Opening ------------------------------------------------------------------

SqliteJobStore::SqliteJobStore(SqliteJobStoreOptions options, std::unique_ptr<SqlitePool> pool,
                               std::unique_ptr<SqliteGroupCommit> writer)
    : options_(std::move(options)),
      pool_(std::move(pool)),
      writer_(std::move(writer)),
      admission_(std::make_unique<AdmissionCache>()) {}

SqliteJobStore::~SqliteJobStore() {
  if (watch_fd_ >= 0) close(watch_fd_);
}

Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const SqliteJobStoreOptions& options) {
  if (options.clock == nullptr)
    return Status::InvalidArgument("SqliteJobStoreOptions.clock is null");
  SqliteOptions db_options;
  db_options.busy_timeout_ms = options.busy_timeout_ms;
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> writer_db, SqliteDb::Open(options.path, db_options));
  RETURN_IF_ERROR(ApplyMigrations(*writer_db).status());
  auto pool = std::make_unique<SqlitePool>(options.path, db_options);
  auto writer = std::make_unique<SqliteGroupCommit>(std::move(writer_db),
                                                    SqliteGroupCommit::Options{options.max_batch});
  return std::unique_ptr<SqliteJobStore>(
      new SqliteJobStore(options, std::move(pool), std::move(writer)));
}

Status SqliteJobStore::WorkerWrite(const std::function<Status(SqliteDb&)>& work) {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Transaction transaction, Transaction::Begin(*db));
  RETURN_IF_ERROR(work(*db));
  return transaction.Commit();
}

// ---- Tokens -----------------------------------------------------------------

Result<Owner> SqliteJobStore::Authenticate(const std::string& token) {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(
      Statement q,
      db->Prepare("SELECT o.id, o.name FROM tokens AS t JOIN owners AS o ON o.id = t.owner_id"
                  " WHERE t.token_hash = ? AND t.revoked_at IS NULL"));
  q.Bind(Sha256Hex(token));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return Status::NotFound("unknown or revoked token");
  return Owner{q.Int(0), q.Text(1)};
}

Result<std::string> SqliteJobStore::CreateToken(const std::string& name) {
  RETURN_IF_ERROR(ValidateName(name, "token name"));
  ASSIGN_OR_RETURN(std::string token, NewToken());
  const std::string hash = Sha256Hex(token);
  const TimeMs now = options_.clock->NowMs();
  auto work = [&](SqliteDb& db) -> Status {
    {
      ASSIGN_OR_RETURN(
          Statement owner,
          db.Prepare(
              "INSERT INTO owners (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"));
      owner.Bind(name, now);
      RETURN_IF_ERROR(owner.Run());
    }
    ASSIGN_OR_RETURN(Statement active,
                     db.Prepare("SELECT o.id, t.id FROM owners AS o LEFT JOIN tokens AS t ON "
                                "t.owner_id = o.id AND t.revoked_at IS NULL"
                                " WHERE o.name = ?"));
    active.Bind(name);
    ASSIGN_OR_RETURN(bool row, active.Step());
    if (!row) return Status::Internal("owner vanished");
    if (!active.IsNull(1)) return Status::Conflict("a token named '" + name + "' already exists");
    ASSIGN_OR_RETURN(
        Statement insert,
        db.Prepare("INSERT INTO tokens (owner_id, token_hash, created_at) VALUES (?, ?, ?)"));
    insert.Bind(active.Int(0), hash, now);
    return insert.Run();
  };
  RETURN_IF_ERROR(writer_->Run(work));
  return token;
}

Result<std::vector<TokenInfo>> SqliteJobStore::ListTokens() {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Statement q, db->Prepare("SELECT o.name, t.created_at, t.revoked_at FROM tokens "
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

Status SqliteJobStore::RevokeToken(const std::string& name) {
  const TimeMs now = options_.clock->NowMs();
  return writer_->Run([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare(
            "UPDATE tokens SET revoked_at = max(?, created_at)"
            " WHERE revoked_at IS NULL AND owner_id = (SELECT id FROM owners WHERE name = ?)"));
    q.Bind(now, name);
    RETURN_IF_ERROR(q.Run());
    if (db.Changes() == 0) return Status::NotFound("no active token named '" + name + "'");
    return Status::Ok();
  });
}

Result<std::string> SqliteJobStore::RotateToken(const std::string& name) {
  ASSIGN_OR_RETURN(std::string token, NewToken());
  const std::string hash = Sha256Hex(token);
  const TimeMs now = options_.clock->NowMs();
  auto work = [&](SqliteDb& db) -> Status {
    {
      ASSIGN_OR_RETURN(
          Statement revoke,
          db.Prepare(
              "UPDATE tokens SET revoked_at = max(?, created_at)"
              " WHERE revoked_at IS NULL AND owner_id = (SELECT id FROM owners WHERE name = ?)"));
      revoke.Bind(now, name);
      RETURN_IF_ERROR(revoke.Run());
    }
    if (db.Changes() == 0) return Status::NotFound("no active token named '" + name + "'");
    ASSIGN_OR_RETURN(Statement insert,
                     db.Prepare("INSERT INTO tokens (owner_id, token_hash, created_at)"
                                " SELECT id, ?, ? FROM owners WHERE name = ?"));
    insert.Bind(hash, now, name);
    return insert.Run();
  };
  RETURN_IF_ERROR(writer_->Run(work));
  return token;
}

// ---- Responder ----------------------------------------------------------------

Result<SubmitOutcome> SqliteJobStore::Submit(const SubmitRequest& request) {
  // Random ids are drawn outside the writer thread, which only writes.
  ASSIGN_OR_RETURN(std::string job_id, NewUuidV4());
  SubmitOutcome outcome;
  RETURN_IF_ERROR(writer_->Run([&](SqliteDb& db) {
    outcome = SubmitOutcome{};
    return SubmitIn(db, options_, *admission_, writer_->current_batch(), request, job_id, &outcome);
  }));
  return outcome;
}

Result<Job> SqliteJobStore::Get(std::int64_t owner_id, const std::string& job_id) {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Transaction snapshot, Transaction::Begin(*db, Transaction::Mode::kDeferred));
  Deriver deriver(*db, options_, options_.clock->NowMs());
  return LoadJob(*db, deriver, owner_id, job_id);
}

Result<JobPage> SqliteJobStore::List(const ListRequest& request) {
  const int limit = std::clamp(request.limit, 1, 100);
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Transaction snapshot, Transaction::Begin(*db, Transaction::Mode::kDeferred));
  JobPage page;
  {
    // owner_id 0 lists every owner's jobs (renderqctl); a separate statement so
    // an owner's listing keeps using the owner index.
    ASSIGN_OR_RETURN(
        Statement q,
        db->Prepare(request.owner_id == 0
                        ? "SELECT " RQ_JOB_COLUMNS
                          " FROM jobs WHERE ?1 = 0 AND (?2 IS NULL OR state = ?2)"
                          " AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"
                        : "SELECT " RQ_JOB_COLUMNS
                          " FROM jobs WHERE owner_id = ?1 AND (?2 IS NULL OR state = ?2)"
                          " AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"));
    q.Bind(request.owner_id,
           request.state ? std::optional<std::string>(JobStateName(*request.state)) : std::nullopt,
           request.before_seq, limit + 1);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      page.jobs.push_back(ReadJob(q));
    }
  }
  if (static_cast<int>(page.jobs.size()) > limit) {
    page.jobs.pop_back();
    page.next_before_seq = page.jobs.back().seq;
  }
  Deriver deriver(*db, options_, options_.clock->NowMs());
  for (Job& job : page.jobs) RETURN_IF_ERROR(deriver.Fill(job));
  return page;
}

Result<CancelOutcome> SqliteJobStore::Cancel(std::int64_t owner_id, const std::string& job_id) {
  CancelOutcome outcome;
  RETURN_IF_ERROR(writer_->Run([&](SqliteDb& db) {
    admission_->batch = -1;  // the queue changes under the cache
    return CancelIn(db, options_, owner_id, job_id, &outcome);
  }));
  return outcome;
}

Result<Job> SqliteJobStore::Retry(const std::string& job_id) {
  Job job;
  RETURN_IF_ERROR(writer_->Run([&](SqliteDb& db) {
    admission_->batch = -1;  // the queue changes under the cache
    return RetryIn(db, options_, job_id, &job);
  }));
  return job;
}

Result<QueueSnapshot> SqliteJobStore::Queue() {
  const TimeMs now = options_.clock->NowMs();
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Transaction snapshot, Transaction::Begin(*db, Transaction::Mode::kDeferred));
  Deriver deriver(*db, options_, now);
  ASSIGN_OR_RETURN(QueueLoad load, deriver.Load());
  QueueSnapshot queue;
  queue.queued = load.queued;
  queue.estimated_wait_seconds = load.Seconds(load.queued_cost + load.running_remaining);
  {
    ASSIGN_OR_RETURN(
        Statement q,
        db->Prepare(
            // Without the hint the planner walks the whole table in seq order to
            // skip a sort of the few running rows.
            "SELECT " RQ_JOB_COLUMNS
            " FROM jobs INDEXED BY jobs_running WHERE state = 'running' ORDER BY seq"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      queue.running.push_back(ReadJob(q));
    }
  }
  for (Job& job : queue.running) RETURN_IF_ERROR(deriver.Fill(job));
  ASSIGN_OR_RETURN(Statement w,
                   db->Prepare("SELECT name, device, fallback, pid, heartbeat_at, current_job, "
                               "units_per_second FROM workers ORDER BY name"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, w.Step());
    if (!row) break;
    queue.workers.push_back(WorkerInfo{w.Text(0), w.Text(1), w.Int(2) != 0, w.Int(3), w.Int(4),
                                       w.OptText(5), w.OptReal(6).value_or(0.0)});
  }
  return queue;
}

Result<double> SqliteJobStore::UnitsPerSecond() {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(QueueLoad load, LoadQueue(*db, options_, options_.clock->NowMs()));
  return load.units_per_second;
}

Status SqliteJobStore::Ping() {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Statement q, db->Prepare("SELECT last_lease_id FROM lease_counter"));
  return q.Run();
}

// ---- Worker -------------------------------------------------------------------

Status SqliteJobStore::RegisterWorker(const WorkerInfo& worker) {
  RETURN_IF_ERROR(ValidateName(worker.name, "worker name"));
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare(
            "INSERT INTO workers (name, device, fallback, pid, started_at, heartbeat_at, "
            "units_per_second)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (name) DO UPDATE SET"
            "  device = excluded.device, fallback = excluded.fallback, pid = excluded.pid,"
            "  started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, current_job "
            "= NULL,"
            "  units_per_second = coalesce(excluded.units_per_second, workers.units_per_second)"));
    q.Bind(worker.name, worker.device, worker.fallback, worker.pid, now,
           worker.units_per_second > 0 ? std::optional<double>(worker.units_per_second)
                                       : std::nullopt);
    return q.Run();
  });
}

Result<std::optional<ClaimedJob>> SqliteJobStore::ClaimNext(const std::string& worker_name) {
  // Armed before looking, so a commit after an empty look still wakes WaitForChange.
  (void)ArmChangeWatch();  // without it WaitForChange falls back to a short sleep
  std::optional<ClaimedJob> claimed;
  auto work = [&](SqliteDb& db) -> Status {
    // Read under the write lock, so started_at follows the order of the claims
    // even across worker processes.
    const TimeMs now = options_.clock->NowMs();
    RETURN_IF_ERROR(
        RequeueIn(db, options_, now, /*spend=*/true, now - options_.lease_timeout_ms, nullptr)
            .status());
    ASSIGN_OR_RETURN(claimed, ClaimIn(db, worker_name, now));
    return Status::Ok();
  };
  RETURN_IF_ERROR(WorkerWrite(work));
  return claimed;
}

Result<bool> SqliteJobStore::Heartbeat(const Lease& lease, double progress) {
  if (!(progress >= 0 && progress <= 1))
    return Status::InvalidArgument("progress must lie in 0..1");
  const TimeMs now = options_.clock->NowMs();
  bool cancel = false;
  auto work = [&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(Statement q,
                     db.Prepare("UPDATE jobs SET progress = ?, heartbeat_at = ?" RQ_FENCE
                                " RETURNING cancel_requested"));
    q.Bind(progress, now, lease.job_id, lease.lease_id);
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row)
      return Status::Conflict("job " + lease.job_id + " is not held by lease " +
                              std::to_string(lease.lease_id));
    cancel = q.Int(0) != 0;
    return q.Run();
  };
  RETURN_IF_ERROR(WorkerWrite(work));
  return cancel;
}

Status SqliteJobStore::SaveCheckpoint(const Lease& lease, const std::string& path,
                                      std::int64_t samples) {
  if (path.empty()) return Status::InvalidArgument("checkpoint path is empty");
  if (samples < 0) return Status::InvalidArgument("checkpoint samples must be >= 0");
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(Statement q,
                     db.Prepare("UPDATE jobs SET checkpoint_path = ?, checkpoint_samples = min(?, "
                                "samples), heartbeat_at = ?" RQ_FENCE));
    q.Bind(path, samples, now, lease.job_id, lease.lease_id);
    return ExpectLeaseHeld(db, q, lease);
  });
}

Status SqliteJobStore::Finish(const Lease& lease, const FinishRequest& request) {
  if (request.device.empty() || request.result_etag.empty()) {
    return Status::InvalidArgument("a finished job needs its device and result etag");
  }
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare(
            "UPDATE jobs SET state = 'succeeded', progress = 1, finished_at = max(?, started_at),"
            "  lease_id = NULL, heartbeat_at = NULL, checkpoint_path = NULL, checkpoint_samples = "
            "0,"
            "  device = ?, render_seconds = max(?, 0), samples_per_second = max(?, 0), result_etag "
            "= ?" RQ_FENCE));
    q.Bind(now, request.device, request.render_seconds, request.samples_per_second,
           request.result_etag, lease.job_id, lease.lease_id);
    RETURN_IF_ERROR(ExpectLeaseHeld(db, q, lease));
    return ClearFinishedWorkerJobs(db);
  });
}

Status SqliteJobStore::Fail(const Lease& lease, const std::string& code,
                            const std::string& message) {
  if (code.empty()) return Status::InvalidArgument("a failure needs an error code");
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(Statement q,
                     db.Prepare("UPDATE jobs SET state = 'failed', finished_at = max(?, "
                                "started_at), error_code = ?, error_message = ?,"
                                "  lease_id = NULL, heartbeat_at = NULL, checkpoint_path = NULL, "
                                "checkpoint_samples = 0" RQ_FENCE));
    q.Bind(now, code, message, lease.job_id, lease.lease_id);
    RETURN_IF_ERROR(ExpectLeaseHeld(db, q, lease));
    return ClearFinishedWorkerJobs(db);
  });
}

Status SqliteJobStore::MarkCanceled(const Lease& lease) {
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare("UPDATE jobs SET state = 'canceled', finished_at = max(?, started_at),"
                   "  lease_id = NULL, heartbeat_at = NULL, checkpoint_path = NULL, "
                   "checkpoint_samples = 0" RQ_FENCE));
    q.Bind(now, lease.job_id, lease.lease_id);
    RETURN_IF_ERROR(ExpectLeaseHeld(db, q, lease));
    return ClearFinishedWorkerJobs(db);
  });
}

Status SqliteJobStore::Release(const Lease& lease, bool spend_attempt) {
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(int touched,
                     RequeueIn(db, options_, now, spend_attempt, std::nullopt, &lease));
    if (touched == 0) {
      return Status::Conflict("job " + lease.job_id + " is not held by lease " +
                              std::to_string(lease.lease_id));
    }
    return Status::Ok();
  });
}

Status SqliteJobStore::RecordThroughput(const std::string& worker_name, double units_per_second) {
  if (!(units_per_second > 0) || !std::isfinite(units_per_second)) {
    return Status::InvalidArgument("units per second must be a positive number");
  }
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(Statement q,
                     db.Prepare("UPDATE workers SET units_per_second = ? WHERE name = ?"));
    q.Bind(units_per_second, worker_name);
    RETURN_IF_ERROR(q.Run());
    return db.Changes() == 0 ? Status::NotFound("no worker named '" + worker_name + "'")
                             : Status::Ok();
  });
}

Status SqliteJobStore::WorkerHeartbeat(const std::string& worker_name) {
  const TimeMs now = options_.clock->NowMs();
  return WorkerWrite([&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(
        Statement q,
        db.Prepare("UPDATE workers SET heartbeat_at = max(?, started_at) WHERE name = ?"));
    q.Bind(now, worker_name);
    RETURN_IF_ERROR(q.Run());
    return db.Changes() == 0 ? Status::NotFound("no worker named '" + worker_name + "'")
                             : Status::Ok();
  });
}

Result<int> SqliteJobStore::RequeueLapsed() {
  const TimeMs now = options_.clock->NowMs();
  int touched = 0;
  auto work = [&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(touched, RequeueIn(db, options_, now, /*spend=*/true,
                                        now - options_.lease_timeout_ms, nullptr));
    return Status::Ok();
  };
  RETURN_IF_ERROR(WorkerWrite(work));
  return touched;
}

Result<int> SqliteJobStore::RequeueWorkerJobs(const std::string& worker_name) {
  const TimeMs now = options_.clock->NowMs();
  int touched = 0;
  auto work = [&](SqliteDb& db) -> Status {
    ASSIGN_OR_RETURN(touched, RequeueIn(db, options_, now, /*spend=*/true,
                                        /*cutoff=*/std::nullopt, nullptr, &worker_name));
    return Status::Ok();
  };
  RETURN_IF_ERROR(WorkerWrite(work));
  return touched;
}

Status SqliteJobStore::ArmChangeWatch() {
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

Status SqliteJobStore::WaitForChange(std::chrono::milliseconds timeout) {
  int fd = -1;
  if (ArmChangeWatch().ok()) {
    std::lock_guard lock(watch_mu_);
    fd = watch_fd_;
  }
  if (fd < 0) return JobStore::WaitForChange(timeout);  // no inotify: a short sleep instead
  pollfd p{fd, POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(std::min<std::int64_t>(timeout.count(), 1 << 30)));
  if (ready < 0 && errno != EINTR)
    return Status::Unavailable(std::string("poll: ") + std::strerror(errno));
  char buffer[4096];
  while (read(fd, buffer, sizeof buffer) > 0) {
  }  // drain: one wake-up per wait, however many commits
  return Status::Ok();
}

// ---- Administration -----------------------------------------------------------

Result<std::vector<std::string>> SqliteJobStore::Purge(TimeMs cutoff) {
  const TimeMs now = options_.clock->NowMs();
  std::vector<std::string> ids;
  auto work = [&](SqliteDb& db) -> Status {
    ids.clear();
    {
      ASSIGN_OR_RETURN(Statement q,
                       db.Prepare("DELETE FROM jobs WHERE finished_at < ? RETURNING id"));
      q.Bind(cutoff);
      while (true) {
        ASSIGN_OR_RETURN(bool row, q.Step());
        if (!row) break;
        ids.push_back(q.Text(0));
      }
    }
    ASSIGN_OR_RETURN(Statement keys,
                     db.Prepare("DELETE FROM idempotency_keys WHERE created_at <= ?"));
    keys.Bind(now - options_.idempotency_window_ms);
    return keys.Run();
  };
  RETURN_IF_ERROR(WorkerWrite(work));
  return ids;
}

Status SqliteJobStore::Backup(const std::string& destination_path) {
  ASSIGN_OR_RETURN(PooledDb source, pool_->Acquire());
  // Written beside the destination and renamed over it, so a failed backup
  // never leaves a half-written file under the requested name.
  const std::string partial = destination_path + ".partial";
  std::remove(partial.c_str());
  {
    sqlite3* raw = nullptr;
    int rc =
        sqlite3_open_v2(partial.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> destination(raw, sqlite3_close_v2);
    if (rc != SQLITE_OK) return SqliteStatus(raw, rc, "open " + partial);
    sqlite3_backup* backup = sqlite3_backup_init(raw, "main", source->handle(), "main");
    if (backup == nullptr) return SqliteStatus(raw, sqlite3_errcode(raw), "backup init");
    // One step copies every page under one read transaction: a consistent
    // snapshot, while writers go on in the WAL.
    rc = sqlite3_backup_step(backup, -1);
    int finish_rc = sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
      std::remove(partial.c_str());
      return SqliteStatus(raw, rc, "backup step");
    }
    if (finish_rc != SQLITE_OK) {
      std::remove(partial.c_str());
      return SqliteStatus(raw, finish_rc, "backup finish");
    }
  }
  if (std::rename(partial.c_str(), destination_path.c_str()) != 0) {
    Status error = Status::Unavailable("rename " + partial + ": " + std::strerror(errno));
    std::remove(partial.c_str());
    return error;
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SqliteJobStore::IntegrityCheck() {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  std::vector<std::string> problems;
  {
    ASSIGN_OR_RETURN(Statement q, db->Prepare("PRAGMA integrity_check"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      if (q.Text(0) != "ok") problems.push_back(q.Text(0));
    }
  }
  ASSIGN_OR_RETURN(Statement fk, db->Prepare("PRAGMA foreign_key_check"));
  while (true) {
    ASSIGN_OR_RETURN(bool row, fk.Step());
    if (!row) break;
    problems.push_back("foreign key: " + fk.Text(0) + " row " + fk.Text(1) +
                       " refers to a missing " + fk.Text(2));
  }
  return problems;
}

Result<std::vector<std::string>> SqliteJobStore::SucceededJobIds() {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Statement q,
                   db->Prepare("SELECT id FROM jobs WHERE state = 'succeeded' ORDER BY seq"));
  std::vector<std::string> ids;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ids.push_back(q.Text(0));
  }
  return ids;
}

Result<JobStats> SqliteJobStore::Stats(TimeMs finished_since, const std::vector<double>& bounds) {
  ASSIGN_OR_RETURN(PooledDb db, pool_->Acquire());
  ASSIGN_OR_RETURN(Transaction snapshot, Transaction::Begin(*db, Transaction::Mode::kDeferred));
  JobStats stats;
  stats.le.assign(bounds.size(), 0);
  {
    // One pass over the table (the job_counts view joins once per state).
    ASSIGN_OR_RETURN(Statement q, db->Prepare("SELECT state, count(*) FROM jobs GROUP BY state"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      const std::optional<JobState> state = ParseJobState(q.Text(0));
      if (state) stats.by_state[static_cast<std::size_t>(*state)] = q.Int(1);
    }
  }
  // Through jobs_finished: only the window's rows are read.
  ASSIGN_OR_RETURN(Statement q,
                   db->Prepare("SELECT render_seconds FROM jobs INDEXED BY jobs_finished"
                               " WHERE finished_at >= ? AND state = 'succeeded'"));
  q.Bind(finished_since);
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    const double seconds = q.Real(0);
    ++stats.count;
    stats.sum_seconds += seconds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (seconds <= bounds[i]) ++stats.le[i];
    }
  }
  return stats;
}

}  // namespace renderq
