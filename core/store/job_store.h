// JobStore: the durable queue. Every job, owner, token and worker lives here,
// and so do a job's bytes: its scene, checkpoint, preview and result image.
//
// The job's row is the truth: the responder inserts it, the worker claims,
// updates and finishes it, and a job survives any process dying at any moment.
// The interface is what the responder, the worker and renderqctl need, whatever
// the database: OpenJobStore() (core/open_job_store.h) opens one from a SQLite
// path or a PostgreSQL URI; docs/architecture.md shows the layers below it.
//
// Thread safety: every method may be called from any number of threads at once.
// Errors: storage failures (busy past the timeout, I/O error, disk full, the
// database unreachable) are StatusCode::kUnavailable; nothing is half-written
// when a method fails.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/model/job.h"
#include "core/model/queue_rules.h"
#include "core/model/status.h"

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
  // Samples of the checkpoint the job resumes from (0: none); its bytes come
  // from LoadCheckpoint(), so a claim stays cheap when the job starts over.
  std::int64_t checkpoint_samples = 0;
};

struct FinishRequest {
  std::string device;
  double render_seconds = 0;
  double samples_per_second = 0;
  std::string result_etag;
  // The PNG. Stored durably before the job is marked succeeded, in the same
  // commit where the backend can (PostgreSQL), or synced to its file before
  // that commit (SQLite).
  std::span<const std::uint8_t> png;
};

// The largest checkpoint a backend keeps. A renderer's state is 12 bytes a
// pixel (4096 × 4096 would be 192 MiB); above this bound SaveCheckpoint()
// refuses with kResourceExhausted and a lost job starts over instead of resuming.
inline constexpr std::size_t kMaxCheckpointBytes = std::size_t{64} << 20;

// ---- Images served to clients ---------------------------------------------

enum class ArtifactKind { kResult, kPreview };

// Where the responder finds a job's image: a file on this host (the SQLite
// backend keeps them in its results directory, which nginx serves), or the
// bytes themselves (the PostgreSQL backend keeps them in the database).
struct Artifact {
  std::string file;                 // non-empty: the file that holds it
  std::vector<std::uint8_t> bytes;  // otherwise
};

// ---- Administration ------------------------------------------------------

struct PurgeReport {
  std::vector<std::string> job_ids;  // the jobs deleted
  int files_removed = 0;             // their files, where the backend keeps files
};

// Proof that this process is the only live one using a worker name (see
// JobStore::LockWorkerName); released on destruction.
class WorkerNameLock {
 public:
  virtual ~WorkerNameLock() = default;
};

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
  // Proves that no other live process, on any host, uses `worker_name`, and
  // holds that until the lock is destroyed; kConflict when one does. A worker
  // that holds it may take back its name's leases at once (RequeueWorkerJobs).
  virtual Result<std::unique_ptr<WorkerNameLock>> LockWorkerName(
      const std::string& worker_name) = 0;
  // Requeues jobs whose heartbeat lapsed, then claims the oldest queued job.
  // Returns nullopt when the queue is empty.
  virtual Result<std::optional<ClaimedJob>> ClaimNext(const std::string& worker_name) = 0;
  // Progress and heartbeat; reports whether a cancel was requested.
  // Conflict when the lease is no longer held (the job was requeued or canceled).
  virtual Result<bool> Heartbeat(const Lease& lease, double progress) = 0;
  // Keeps the renderer's state after `samples` samples, durably, replacing the
  // previous one. kResourceExhausted above kMaxCheckpointBytes.
  virtual Status SaveCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                                std::int64_t samples) = 0;
  // The last saved state of the leased job; nullopt when it has none.
  virtual Result<std::optional<std::vector<std::uint8_t>>> LoadCheckpoint(const Lease& lease) = 0;
  // The latest progressive image of a running job (not durable: a lost one
  // is simply replaced by the next).
  virtual Status SavePreview(const Lease& lease, std::span<const std::uint8_t> png) = 0;
  virtual Status Finish(const Lease& lease, const FinishRequest& request) = 0;
  virtual Status Fail(const Lease& lease, const std::string& code, const std::string& message) = 0;
  virtual Status MarkCanceled(const Lease& lease) = 0;
  // Hands the job back to its place in line. spend_attempt=false for GPU faults
  // and orderly shutdown, where the job itself did nothing wrong.
  virtual Status Release(const Lease& lease, bool spend_attempt) = 0;
  virtual Status RecordThroughput(const std::string& worker_name, double units_per_second) = 0;
  virtual Status WorkerHeartbeat(const std::string& worker_name) = 0;
  // Ends the lease of jobs whose heartbeat is older than the lease timeout:
  // requeued, or failed with worker_lost (QueueRules, core/queue_rules.h).
  // Returns how many it touched.
  virtual Result<int> RequeueLapsed() = 0;
  // The same for every running job leased to `worker_name`, lapsed or not.
  // Only for a process that holds LockWorkerName(worker_name): such jobs were
  // left by a dead predecessor.
  virtual Result<int> RequeueWorkerJobs(const std::string& worker_name) = 0;
  // Blocks until another process (or thread) may have committed a change that
  // makes a job claimable, or `timeout` passed; spurious returns are allowed.
  // An idle worker calls it after ClaimNext() found nothing, so it wakes within
  // ms of a submit's commit without polling.
  virtual Status WaitForChange(std::chrono::milliseconds timeout) = 0;

  // -- images
  // The result (succeeded jobs) or the latest preview (running jobs) of a job
  // of any owner; NotFound when there is none (yet).
  virtual Result<Artifact> ReadArtifact(const std::string& job_id, ArtifactKind kind) = 0;

  // -- administration
  // Deletes terminal jobs finished before `cutoff`, with their images.
  virtual Result<PurgeReport> Purge(TimeMs cutoff) = 0;
  // Ids of succeeded jobs.
  virtual Result<std::vector<std::string>> SucceededJobIds() = 0;
  // Jobs by state, and the render durations of jobs that succeeded at or after
  // `finished_since`, counted against `bounds` (ascending seconds).
  virtual Result<JobStats> Stats(TimeMs finished_since, const std::vector<double>& bounds) = 0;
};

}  // namespace renderq
