// JobStore: the durable queue. Every job, owner, token and worker lives here.
//
// The job's row is the truth: the responder inserts it, the worker claims,
// updates and finishes it, and a job survives any process dying at any moment.
// The interface is what the responder, the worker and renderqctl need; the SQL
// lives in one implementation (SqliteJobStore, core/sqlite_job_store.h) so a
// PostgreSQL store can be added beside it later.
//
// Thread safety: every method may be called from any number of threads at once.
// Errors: storage failures (busy past the timeout, I/O error, disk full) are
// StatusCode::kUnavailable; nothing is half-written when a method fails.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/job.h"
#include "core/status.h"

namespace renderq {

// ---- Responder side ------------------------------------------------------

struct Owner {
  std::int64_t id = 0;
  std::string name;
};

struct SubmitRequest {
  std::int64_t owner_id = 0;
  std::string scene_json;       // the validated body, stored as received
  std::string idempotency_key;  // empty: none
  std::string request_hash;     // SHA-256 hex of the body, for key reuse checks
  int width = 0, height = 0, samples = 0, max_depth = 0;
  double cost_units = 0.0;
};

struct SubmitOutcome {
  enum class Kind {
    kCreated,         // new job committed
    kReplayed,        // same owner, key and body within 24 h: the original job
    kKeyConflict,     // same key, different body
    kOwnerQueueFull,  // the owner already has kMaxQueuedPerOwner queued jobs
    kQueueFull,       // the queue holds kMaxQueued jobs, or drains too slowly
  };
  Kind kind = Kind::kCreated;
  Job job;                         // kCreated, kReplayed
  double retry_after_seconds = 0;  // kOwnerQueueFull, kQueueFull
};

struct ListRequest {
  std::int64_t owner_id = 0;  // 0: every owner's jobs (admin)
  std::optional<JobState> state;
  int limit = 20;                          // 1..100
  std::optional<std::int64_t> before_seq;  // from the cursor: jobs older than this
};

struct JobPage {
  std::vector<Job> jobs;                        // newest first
  std::optional<std::int64_t> next_before_seq;  // absent on the last page
};

struct CancelOutcome {
  enum class Kind { kCanceled, kCancelRequested, kAlreadyTerminal };
  Kind kind = Kind::kCanceled;
  Job job;
};

struct WorkerInfo {
  std::string name;       // "cpu", "0", ...: the systemd instance
  std::string device;     // "cpu", "cuda:0 NVIDIA H100"
  bool fallback = false;  // asked for a GPU, running on the CPU
  std::int64_t pid = 0;
  TimeMs heartbeat_at = 0;
  std::optional<std::string> current_job;
  double units_per_second = 0;  // last measured throughput (cost units / s)
};

struct QueueSnapshot {
  std::int64_t queued = 0;
  std::vector<Job> running;
  std::vector<WorkerInfo> workers;
  double estimated_wait_seconds = 0;  // until every queued job is done
};

struct QueueLimits {
  std::int64_t max_queued = 1000;  // whole queue
  std::int64_t max_queued_per_owner = 100;
  double max_drain_seconds = 3600;  // predicted drain time bound
};

// ---- Worker side ---------------------------------------------------------

// Proof that a worker holds a job; every later write is fenced by it, so a
// worker whose lease lapsed (and whose job was requeued) cannot finish it.
struct Lease {
  std::string job_id;
  std::int64_t lease_id = 0;  // increases on every claim of any job
};

struct ClaimedJob {
  Lease lease;
  Job job;
  std::string scene_json;
  std::string checkpoint_path;  // "" when the job has no checkpoint
  std::int64_t checkpoint_samples = 0;
};

struct FinishRequest {
  std::string device;
  double render_seconds = 0;
  double samples_per_second = 0;
  std::string result_etag;
};

// ---- Administration ------------------------------------------------------

struct TokenInfo {
  std::string name;
  TimeMs created_at = 0;
  std::optional<TimeMs> revoked_at;
};

// What /metrics reports about the jobs table, read in one snapshot.
struct JobStats {
  std::array<std::int64_t, 5> by_state{};  // indexed by JobState, every state
  // Render durations of the jobs that succeeded at or after the asked time:
  // le[i] counts those with render_seconds <= the i-th bound (cumulative).
  std::vector<std::int64_t> le;
  std::int64_t count = 0;
  double sum_seconds = 0;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // -- tokens and owners
  // Resolves a bearer token (the raw secret) to its owner; NotFound if unknown or revoked.
  virtual Result<Owner> Authenticate(const std::string& token) = 0;
  // Creates an owner with a fresh token; returns the token, which is stored only hashed.
  virtual Result<std::string> CreateToken(const std::string& name) = 0;
  virtual Result<std::vector<TokenInfo>> ListTokens() = 0;
  virtual Status RevokeToken(const std::string& name) = 0;
  // Revokes NAME's active token and creates a new one for the same owner in one
  // transaction; returns the new token. NotFound when NAME has no active token.
  virtual Result<std::string> RotateToken(const std::string& name) = 0;

  // -- responder
  // Commits a new job durably (group commit: returns once it is on disk).
  virtual Result<SubmitOutcome> Submit(const SubmitRequest& request) = 0;
  // NotFound also when the job belongs to another owner. owner_id 0: any owner (admin).
  virtual Result<Job> Get(std::int64_t owner_id, const std::string& job_id) = 0;
  virtual Result<JobPage> List(const ListRequest& request) = 0;
  virtual Result<CancelOutcome> Cancel(std::int64_t owner_id, const std::string& job_id) = 0;
  virtual Result<QueueSnapshot> Queue() = 0;
  // Admin: a failed or canceled job goes back to the queue at the end of the line.
  virtual Result<Job> Retry(const std::string& job_id) = 0;
  // Cost units per second, from the workers' last measurements (a
  // conservative default until any worker has measured).
  virtual Result<double> UnitsPerSecond() = 0;
  // Cheap read that proves the database answers (for /healthz).
  virtual Status Ping() = 0;

  // -- worker
  virtual Status RegisterWorker(const WorkerInfo& worker) = 0;
  // Requeues jobs whose heartbeat lapsed, then claims the oldest queued job.
  // Returns nullopt when the queue is empty.
  virtual Result<std::optional<ClaimedJob>> ClaimNext(const std::string& worker_name) = 0;
  // Progress and heartbeat; reports whether a cancel was requested.
  // Conflict when the lease is no longer held (the job was requeued or canceled).
  virtual Result<bool> Heartbeat(const Lease& lease, double progress) = 0;
  virtual Status SaveCheckpoint(const Lease& lease, const std::string& path,
                                std::int64_t samples) = 0;
  virtual Status Finish(const Lease& lease, const FinishRequest& request) = 0;
  virtual Status Fail(const Lease& lease, const std::string& code, const std::string& message) = 0;
  virtual Status MarkCanceled(const Lease& lease) = 0;
  // Hands the job back to its place in line. spend_attempt=false for GPU faults
  // and orderly shutdown, where the job itself did nothing wrong.
  virtual Status Release(const Lease& lease, bool spend_attempt) = 0;
  virtual Status RecordThroughput(const std::string& worker_name, double units_per_second) = 0;
  virtual Status WorkerHeartbeat(const std::string& worker_name) = 0;
  // Requeues (attempts + 1) or fails (worker_lost after 3 attempts) jobs whose
  // heartbeat is older than the lease timeout. Returns how many it touched.
  virtual Result<int> RequeueLapsed() = 0;
  // The same for every running job leased to `worker_name`, lapsed or not. Only
  // for a worker process that has just proved no other live process uses its
  // name (worker/instance_lock.h): such jobs were left by a dead predecessor.
  virtual Result<int> RequeueWorkerJobs(const std::string& worker_name) = 0;
  // Blocks until another process (or thread) may have committed a change, or
  // `timeout` passed; spurious returns are allowed. An idle worker calls it
  // after ClaimNext() found nothing, so it wakes within ms of a submit's commit
  // without polling. The default is for backends that cannot be notified.
  virtual Status WaitForChange(std::chrono::milliseconds timeout) {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(10)));
    return Status::Ok();
  }

  // -- administration
  // Deletes terminal jobs finished before `cutoff`; returns their ids (to delete files).
  virtual Result<std::vector<std::string>> Purge(TimeMs cutoff) = 0;
  virtual Status Backup(const std::string& destination_path) = 0;
  virtual Result<std::vector<std::string>> IntegrityCheck() = 0;  // empty: ok
  // Ids of succeeded jobs (to compare with the files on disk).
  virtual Result<std::vector<std::string>> SucceededJobIds() = 0;
  // Jobs by state, and the render durations of jobs that succeeded at or after
  // `finished_since`, counted against `bounds` (ascending seconds).
  virtual Result<JobStats> Stats(TimeMs finished_since, const std::vector<double>& bounds) = 0;
};

}  // namespace renderq
