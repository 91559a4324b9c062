// The values that cross the store's interfaces: what JobStore's callers pass
// and get back, and what a storage backend (core/store/queue_storage.h) reads
// and writes. Plain data; no behaviour beyond trivial helpers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/job.h"
#include "core/model/status.h"

namespace renderq {

// ---- Responder side ------------------------------------------------------

struct Owner {
  std::int64_t id = 0;
  std::string name;
};

// What a new job is, as its row keeps it.
struct JobSpec {
  std::string kind = std::string(kSceneKind);
  std::string input_json;           // the validated body, stored as received
  std::optional<SceneShape> scene;  // scene jobs
  double cost_units = 0.0;          // see core/model/cost_model.h
  // The result's Content-Type when it is not image/png (a kind's output_media_type).
  std::optional<std::string> media_type;
};

struct SubmitRequest {
  std::int64_t owner_id = 0;
  JobSpec spec;
  std::string idempotency_key;  // empty: none
  std::string request_hash;     // SHA-256 hex of the body, for key reuse checks
};

struct SubmitOutcome {
  enum class Kind {
    kCreated,         // new job committed
    kReplayed,        // same owner, key and body within 24 h: the original job
    kKeyConflict,     // same key, different body
    kTooExpensive,    // predicted to run longer than QueueLimits::max_render_seconds
    kOwnerQueueFull,  // the owner already has kMaxQueuedPerOwner queued jobs
    kQueueFull,       // the queue holds kMaxQueued jobs, or drains too slowly
  };
  Kind kind = Kind::kCreated;
  Job job;                         // kCreated, kReplayed
  double retry_after_seconds = 0;  // kOwnerQueueFull, kQueueFull
  double estimated_seconds = 0;    // kTooExpensive: the prediction
  double units_per_second = 0;     // kTooExpensive: the rate it used
  double limit_seconds = 0;        // kTooExpensive: the limit it is over
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
  // The kinds whose jobs it claims (SPEC: a worker serves the kinds whose
  // files it finds, and scene), sorted.
  std::vector<std::string> kinds = {std::string(kSceneKind)};
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
  std::string input_json;  // the job's input as submitted (a scene job's scene)
  // Samples of the checkpoint the job resumes from (0: none); its bytes come
  // from LoadCheckpoint(), so a claim stays cheap when the job starts over.
  std::int64_t checkpoint_samples = 0;
};

struct FinishRequest {
  std::string device;
  double render_seconds = 0;
  std::optional<double> samples_per_second;  // scene jobs; none for other kinds
  std::string result_etag;
  // The result (a scene job's PNG, a kind's output). Stored durably before
  // the job is marked succeeded, in the same commit where the backend can
  // (PostgreSQL), or synced to its file before that commit (SQLite).
  std::span<const std::uint8_t> png;
};

// A kind's cost is the mean runtime of its last kKindRunsAveraged succeeded
// jobs once it has kMinKindRuns of them (SPEC: "the mean runtime of its last
// finished jobs (at least 3)"); before that its kind file's estimate_seconds.
inline constexpr int kKindRunsAveraged = 10;
inline constexpr int kMinKindRuns = 3;

// The largest checkpoint a backend keeps. A renderer's state is 12 bytes a
// pixel (4096 × 4096 would be 192 MiB); above this bound SaveCheckpoint()
// refuses with kResourceExhausted and a lost job starts over instead of resuming.
inline constexpr std::size_t kMaxCheckpointBytes = std::size_t{64} << 20;

// ---- Notifications (docs/notifications.md) ------------------------------

// The webhook event types, as bits of a webhook's `events`.
inline constexpr int kEventJobStarted = 1;
inline constexpr int kEventJobSucceeded = 2;
inline constexpr int kEventJobFailed = 4;
inline constexpr int kEventJobCanceled = 8;
inline constexpr int kAllWebhookEvents = 15;
// An owner's webhooks at most.
inline constexpr int kMaxWebhooksPerOwner = 20;
// The attempts a delivery log shows.
inline constexpr int kDeliveryLogLength = 100;

// "job.started" for kEventJobStarted, ...; nullptr for anything else.
inline const char* WebhookEventName(int bit) {
  switch (bit) {
    case kEventJobStarted: return "job.started";
    case kEventJobSucceeded: return "job.succeeded";
    case kEventJobFailed: return "job.failed";
    case kEventJobCanceled: return "job.canceled";
    default: return nullptr;
  }
}
// The bit of "job.started", ...; 0 for anything else.
inline int WebhookEventBit(std::string_view name) {
  for (int bit = 1; bit <= kEventJobCanceled; bit <<= 1) {
    if (name == WebhookEventName(bit)) return bit;
  }
  return 0;
}
// The webhook event a change to `state` is: a job that starts running is
// job.started, one that ends is job.<state>; queued is none (0).
inline int WebhookEventFor(JobState state) {
  switch (state) {
    case JobState::kRunning: return kEventJobStarted;
    case JobState::kSucceeded: return kEventJobSucceeded;
    case JobState::kFailed: return kEventJobFailed;
    case JobState::kCanceled: return kEventJobCanceled;
    case JobState::kQueued: return 0;
  }
  return 0;
}

struct NewWebhook {
  std::string id;  // "wh_" + 32 hex digits
  std::int64_t owner_id = 0;
  std::string url;            // checked by the caller (notify/url_policy.h)
  int events = 0;             // kEventJob* bits
  std::string secret_sealed;  // base64 of the sealed secret (notify/secret_seal.h)
};

struct Webhook {
  std::string id;
  std::int64_t owner_id = 0;
  std::string url;
  int events = 0;
  TimeMs created_at = 0;
};

// One attempt of a delivery, as GET /api/v1/webhooks/{id}/deliveries shows it.
struct DeliveryAttempt {
  std::string event_id;
  std::string type;  // "job.succeeded", ...
  int attempt = 1;
  TimeMs attempted_at = 0;
  std::optional<int> status;
  std::optional<std::string> error;
};

// A change of a job's state, as the outbox keeps it: written in the
// transaction that made the change, numbered in commit order.
struct JobEvent {
  std::int64_t seq = 0;  // commit order
  std::string id;        // "evt_" + 32 hex digits: a delivery's webhook-id
  std::string job_id;
  std::int64_t owner_id = 0;
  JobState state = JobState::kQueued;
  std::string job_json;  // the job object (SPEC) as of the change
  TimeMs created_at = 0;
};

// The jobs a live event stream starts from, and where the outbox stood.
struct ActiveJobs {
  std::vector<Job> jobs;        // queued and running, derived fields filled
  std::int64_t last_event = 0;  // the seq of the last event they reflect
};

// A delivery claimed for one attempt.
struct DueDelivery {
  std::int64_t id = 0;
  std::string webhook_id;
  std::string url;
  std::string secret_sealed;  // base64
  std::string event_id;
  std::string type;
  std::string job_json;
  TimeMs event_created_at = 0;
  int attempts = 0;  // made before this one
};

struct DeliveryClaim {
  std::vector<DueDelivery> deliveries;
  // When the next delivery not claimed now (and not of a webhook in `busy`)
  // becomes due; nullopt when none waits.
  std::optional<TimeMs> next_due_at;
};

struct AttemptOutcome {
  std::int64_t delivery_id = 0;
  std::string webhook_id;
  std::string event_id;
  std::string type;
  int attempt = 1;
  TimeMs attempted_at = 0;
  std::optional<int> status;
  std::optional<std::string> error;
  enum class Next { kDelivered, kRetry, kFailed };
  Next next = Next::kDelivered;
  TimeMs retry_in_ms = 0;  // kRetry: from the store's now
};

// ---- Images served to clients ---------------------------------------------

enum class ArtifactKind { kResult, kPreview };

// Where the responder finds a job's image: a file in the results directory
// that nginx serves (the SQLite backend keeps its files there; a result the
// PostgreSQL backend holds is copied there once, core/store/result_cache.h),
// or the bytes themselves.
struct Artifact {
  std::string file;                 // non-empty: its name inside the results directory
  std::vector<std::uint8_t> bytes;  // otherwise
  // A preview's Content-Type: image/png, or image/jpeg from a kind's runner.
  std::string media_type = "image/png";
};

// Whether `head` (a file's first bytes) starts a JPEG image.
inline bool LooksLikeJpeg(std::span<const std::uint8_t> head) {
  return head.size() >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
}

// ---- Administration ------------------------------------------------------

struct PurgeReport {
  std::vector<std::string> job_ids;  // the jobs deleted
  int files_removed = 0;             // their files, where the backend keeps files
};

// What a worker's sweep at start removed from the files a backend keeps on
// this host (nothing where it keeps none).
struct SweepReport {
  int temps_removed = 0;        // temp files of processes that are gone
  int stale_files_removed = 0;  // previews and checkpoints of finished or unknown jobs
};

// `renderqctl check`: what the backend could check and what it found.
struct CheckReport {
  // The database's own consistency check, where the backend runs one here
  // (SQLite: integrity_check and foreign_key_check; PostgreSQL checks its own
  // pages with data checksums and amcheck, outside renderq).
  bool integrity_checked = false;
  std::vector<std::string> integrity_problems;
  // Result files on this host against the succeeded jobs, where the backend
  // keeps files (SQLite); PostgreSQL stores a result in the transaction that
  // marks its job succeeded, so no file can be missing or orphaned.
  bool files_checked = false;
  std::vector<std::string> orphan_files;     // result files of no succeeded job
  std::vector<std::string> missing_results;  // succeeded jobs without a result
  bool clean() const {
    return integrity_problems.empty() && orphan_files.empty() && missing_results.empty();
  }
};

// Group commit's counters (core/store/group_commit.h): submits and other
// responder writes (units) against the transactions that committed them; far
// fewer commits than units under load.
struct GroupCommitCounters {
  std::int64_t units = 0;    // units run
  std::int64_t batches = 0;  // transactions attempted (a rerun counts once more)
  std::int64_t commits = 0;  // transactions committed
  std::int64_t reruns = 0;   // batches run again unit by unit after a unit failed
};

// Proof that this process is the only live one using a worker name (see
// JobStore::LockWorkerName); released on destruction.
class WorkerNameLock {
 public:
  virtual ~WorkerNameLock() = default;
  // Whether taking the lock proved the name's previous process dead, so that
  // the leases it held may be taken back at once: a file lock is released
  // only when its process dies. A lock held by a database session proves only
  // that the session ended; its process may live on, cut off by a partition
  // or a failover, and still be rendering.
  virtual bool ProvesPredecessorDead() const = 0;
  // Whether the lock is still held. A lock whose session was lost (a
  // failover, a partition) is taken again on a fresh session: true when it
  // was taken again just now. kConflict when another process took the name
  // meanwhile (this one must stop claiming under it); kUnavailable when the
  // database cannot be asked now.
  virtual Result<bool> Verify() = 0;
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
  // Per kind (every kind with a job in the database): jobs by state, and
  // how many succeeded at or after the asked time with their render seconds.
  struct Kind {
    std::array<std::int64_t, 5> by_state{};
    std::int64_t succeeded = 0;
    double sum_seconds = 0;
  };
  std::map<std::string, Kind> kinds;
};

}  // namespace renderq
