// QueueStorage: what a database must provide for renderq's queue.
//
// The queue's rules (core/queue_rules.h) and the JobStore built on them
// (core/queue_job_store.h) are written once; a backend supplies only this:
// transactions whose operations read and write rows, the bytes of a job's
// images and checkpoint, a change notification and a worker-name lock. Each
// operation is one or two statements of the backend's SQL; none decides a
// rule (admission, ETA, what a lost lease becomes): the caller does, from what
// the operations read. docs/architecture.md shows the layers.
//
// Contract for every backend (the store contract suite, tests/core/store,
// runs against each one):
// - A StorageTx sees one consistent snapshot of the queue for its reads and
//   writes atomically at Commit(); destroying it uncommitted rolls it back.
// - Writes through BeginWrite() or a writer session exclude each other where
//   they touch the same rows; WriterSession transactions also exclude each
//   other across processes and hosts (they decide admission from what they
//   read), and jobs they insert get seq in commit order.
// - "Fenced" operations change a running job only while `lease` still holds
//   it (same job id, same lease id, state running) and report false otherwise.
// - now() is the time the transaction runs at, read when it began (under the
//   write lock for writes); on PostgreSQL it is the database's clock, so hosts
//   with skewed clocks agree on leases.
// - Errors: kUnavailable for storage trouble (busy, I/O, unreachable); after
//   one, the transaction is no longer usable (Active() is false).
//
// Thread safety: a StorageTx belongs to one thread. QueueStorage's methods
// may be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/job.h"
#include "core/model/queue_rules.h"
#include "core/model/status.h"
#include "core/store/store_types.h"

namespace renderq {

struct QueuedAhead {
  std::int64_t count = 0;
  double cost = 0;
};

struct IdempotencyRecord {
  std::string request_hash;
  std::string job_id;
  TimeMs created_at = 0;
};

// A running job, as the lease rules need it.
struct LeasedJob {
  std::int64_t seq = 0;
  std::string id;
  std::string worker;
  int attempts = 0;
  int stalled_attempts = 0;
  bool cancel_requested = false;
  std::int64_t checkpoint_samples = 0;
  std::int64_t attempt_from_samples = 0;
};

// Selects running jobs that pass every filter given.
struct LeaseFilter {
  std::optional<TimeMs> heartbeat_before;
  std::optional<Lease> lease;
  std::optional<std::string> worker;
};

// The render durations of succeeded jobs and the jobs by state, for Stats().
struct StatsRows {
  std::array<std::int64_t, 5> by_state{};
  std::vector<double> render_seconds;
  // The same two by kind: jobs by state, and the window's render seconds.
  std::map<std::string, std::array<std::int64_t, 5>> by_kind_state;
  std::vector<std::pair<std::string, double>> kind_render_seconds;
};

class StorageTx {
 public:
  virtual ~StorageTx() = default;
  StorageTx() = default;
  StorageTx(const StorageTx&) = delete;
  StorageTx& operator=(const StorageTx&) = delete;

  virtual TimeMs now() const = 0;
  // False once the transaction failed (the backend rolled it back).
  virtual bool Active() const = 0;
  virtual Status Commit() = 0;
  // Nested units (group commit's slow path): each unit's changes are kept or
  // undone on their own.
  virtual Status BeginUnit() = 0;
  virtual Status EndUnit(bool keep) = 0;
  // How many of the ended jobs' files Commit() removed, for a backend that
  // keeps files beside the database (removed only once the commit is durable).
  virtual int FilesRemovedAtCommit() const { return 0; }

  // ---- reads
  // The queue's figures; workers with a heartbeat at or after `live_since` are live.
  virtual Result<QueueLoad> ReadQueueLoad(TimeMs live_since) = 0;
  virtual Result<QueuedAhead> ReadQueuedBefore(std::int64_t seq) = 0;
  virtual Result<OwnerLoad> ReadOwnerLoad(std::int64_t owner_id) = 0;
  // owner_id 0: any owner's.
  virtual Result<std::optional<Job>> ReadJob(std::int64_t owner_id, const std::string& id) = 0;
  // Newest first, at most `limit` (ListRequest's filters; limit already clamped).
  virtual Result<std::vector<Job>> ReadJobs(const ListRequest& request, int limit) = 0;
  virtual Result<std::vector<Job>> ReadRunningJobs() = 0;
  virtual Result<std::vector<WorkerInfo>> ReadWorkers() = 0;
  virtual Result<std::optional<IdempotencyRecord>> ReadIdempotencyKey(std::int64_t owner_id,
                                                                      const std::string& key) = 0;
  // Active tokens only.
  virtual Result<std::optional<Owner>> ReadOwnerByTokenHash(const std::string& token_hash) = 0;
  virtual Result<std::vector<TokenInfo>> ReadTokens() = 0;
  virtual Result<std::vector<std::string>> ReadSucceededJobIds() = 0;
  virtual Result<StatsRows> ReadStats(TimeMs finished_since) = 0;
  // The render_seconds of the last `limit` succeeded jobs of `kind`, newest first.
  virtual Result<std::vector<double>> ReadKindRunSeconds(const std::string& kind, int limit) = 0;

  // ---- the responder's writes
  // Inserts a queued job at the end of the line with its input; returns its seq.
  virtual Result<std::int64_t> InsertJob(std::string_view id, std::int64_t owner_id,
                                         const JobSpec& spec) = 0;
  virtual Status InsertIdempotencyKey(std::int64_t owner_id, const std::string& key,
                                      const std::string& request_hash,
                                      const std::string& job_id) = 0;
  virtual Status DeleteIdempotencyKey(std::int64_t owner_id, const std::string& key) = 0;
  virtual Status CancelQueuedJob(std::int64_t seq) = 0;
  virtual Status RequestCancel(std::int64_t seq) = 0;
  // A failed or canceled job goes to the end of the line with a new seq, as
  // new: no attempts, progress, error, run figures or checkpoint.
  virtual Status RequeueAtEnd(std::int64_t seq) = 0;
  // The owner's id, created if missing.
  virtual Result<std::int64_t> EnsureOwner(const std::string& name) = 0;
  virtual Result<bool> HasActiveToken(std::int64_t owner_id) = 0;
  virtual Status InsertToken(std::int64_t owner_id, const std::string& token_hash) = 0;
  // Revokes NAME's active token; false when it has none. Its owner id in `owner_id`.
  virtual Result<bool> RevokeActiveToken(const std::string& name, std::int64_t* owner_id) = 0;

  // ---- the worker's writes
  virtual Status UpsertWorker(const WorkerInfo& worker) = 0;
  // False when no worker has that name.
  virtual Result<bool> TouchWorker(const std::string& name) = 0;
  virtual Result<bool> SetWorkerThroughput(const std::string& name, double units_per_second) = 0;
  // Takes the oldest queued job of one of `kinds` under a new lease (never
  // used before by any job); nullopt when none is queued. With its input.
  virtual Result<std::optional<ClaimedJob>> ClaimOldest(const std::string& worker,
                                                        const std::vector<std::string>& kinds) = 0;
  // Fenced. The cancel_requested flag, or nullopt when the lease is not held.
  virtual Result<std::optional<bool>> TouchLease(const Lease& lease, double progress) = 0;
  // Fenced. Failed or canceled; the preview and checkpoint go.
  virtual Result<bool> MarkFailed(const Lease& lease, const std::string& code,
                                  const std::string& message) = 0;
  virtual Result<bool> MarkCanceled(const Lease& lease) = 0;
  virtual Result<std::vector<LeasedJob>> ReadLeasedJobs(const LeaseFilter& filter) = 0;
  // Applies the rules' decision to a job read by ReadLeasedJobs in this
  // transaction: queued keeps seq and checkpoint (progress = its share of the
  // samples); failed and canceled end the job (finished now).
  virtual Status EndLease(const LeasedJob& job, const LeaseEnd& end) = 0;

  // ---- notifications (docs/notifications.md)
  // Appends a job's change to the outbox (event.seq is assigned; the events
  // of every transaction are numbered in commit order, across processes and
  // hosts) and, when `webhook_event` is a kEventJob* bit, a pending delivery
  // due now to each of the owner's webhooks that asked for that event. On a
  // backend with several hosts the commit wakes every dispatcher.
  virtual Status InsertJobEvent(const JobEvent& event, int webhook_event) = 0;
  // Events with seq > `after`, in seq order, at most `limit`.
  virtual Result<std::vector<JobEvent>> ReadJobEventsAfter(std::int64_t after,
                                                           std::size_t limit) = 0;
  // The seq of the newest event (0: none).
  virtual Result<std::int64_t> ReadLastJobEventSeq() = 0;
  virtual Status InsertWebhook(const NewWebhook& webhook) = 0;
  virtual Result<std::int64_t> CountWebhooks(std::int64_t owner_id) = 0;
  // The owner's webhooks, oldest first.
  virtual Result<std::vector<Webhook>> ReadWebhooks(std::int64_t owner_id) = 0;
  virtual Result<std::optional<Webhook>> ReadWebhook(std::int64_t owner_id,
                                                     const std::string& id) = 0;
  // With its deliveries and attempts; false when the owner has no such webhook.
  virtual Result<bool> DeleteWebhook(std::int64_t owner_id, const std::string& id) = 0;
  // The webhook's last `limit` attempts, newest first.
  virtual Result<std::vector<DeliveryAttempt>> ReadDeliveryAttempts(const std::string& webhook_id,
                                                                    int limit) = 0;
  // Up to `limit` pending deliveries due now (and not claimed by anyone until
  // later), oldest first, at most one per webhook, none of a webhook in
  // `busy` or with a delivery claimed now; each is claimed until
  // `lease_until`. Several dispatchers never claim the same delivery.
  virtual Result<DeliveryClaim> ClaimDeliveries(std::size_t limit,
                                                const std::vector<std::string>& busy,
                                                TimeMs lease_until) = 0;
  // Records an attempt and ends its claim: delivered, due again in
  // retry_in_ms, or failed. A webhook deleted meanwhile: nothing to record.
  virtual Status RecordDeliveryAttempt(const AttemptOutcome& outcome) = 0;

  // ---- administration
  // Deletes terminal jobs finished before `cutoff` and everything of theirs.
  virtual Result<PurgeReport> DeleteJobsFinishedBefore(TimeMs cutoff) = 0;
  virtual Status DeleteIdempotencyKeysBefore(TimeMs cutoff) = 0;
  // Events before `cutoff` that no pending delivery needs, and delivery
  // attempts before it.
  virtual Status DeleteNotificationsBefore(TimeMs cutoff) = 0;
};

class QueueStorage {
 public:
  virtual ~QueueStorage() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view Kind() const = 0;

  // A read snapshot. kOneStatement: a read of a single statement, which
  // needs no snapshot of its own (no BEGIN and COMMIT to pay for, which on
  // PostgreSQL are round trips); now() is 0 in it.
  enum class ReadKind { kSnapshot, kOneStatement };
  virtual Result<std::unique_ptr<StorageTx>> BeginRead(ReadKind kind = ReadKind::kSnapshot) = 0;
  // A short write transaction (the worker's writes, administration).
  // kHeartbeat: a write whose loss in a crash only ages a lease (heartbeats,
  // five a second per running job), which the backend may commit without
  // waiting for the disk; every later durable commit makes it durable too.
  // Not where a failover could lose it after it was acknowledged: a worker
  // counts an acknowledged renewal toward its self-fence (PostgreSQL commits
  // heartbeats like durable writes).
  enum class WriteKind { kDurable, kHeartbeat };
  virtual Result<std::unique_ptr<StorageTx>> BeginWrite(WriteKind kind = WriteKind::kDurable) = 0;

  // The group commit writer's connection (core/group_commit.h): its
  // transactions also exclude every other writer session, on any host, so
  // admission read inside one holds at its commit.
  class WriterSession {
   public:
    virtual ~WriterSession() = default;
    virtual Result<std::unique_ptr<StorageTx>> Begin() = 0;
  };
  virtual Result<std::unique_ptr<WriterSession>> OpenWriterSession() = 0;

  // See JobStore::WaitForChange. A backend that must arm something before a
  // look (so a commit between an empty look and the wait still wakes it) does
  // it in PrepareWait(), which the store calls before every claim.
  virtual void PrepareWait() {}
  virtual Status WaitForChange(std::chrono::milliseconds timeout) = 0;

  virtual Result<std::unique_ptr<WorkerNameLock>> LockWorkerName(const std::string& name) = 0;

  // The operations that carry a job's bytes are whole operations of the
  // backend: where the bytes go decides how their writes are ordered against
  // the commit (a file synced before it, or a row inside it).
  //
  // Fenced. Replaces the job's checkpoint and its checkpoint_samples.
  virtual Result<bool> StoreCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                                       std::int64_t samples) = 0;
  virtual Result<std::optional<std::vector<std::uint8_t>>> LoadCheckpoint(const Lease& lease) = 0;
  // Replaced wholesale and not durable; fenced where the backend can check
  // that cheaply.
  virtual Status StorePreview(const Lease& lease, std::span<const std::uint8_t> png) = 0;
  // Fenced. Stores the result durably, then marks the job succeeded; the
  // preview and checkpoint go. `also` runs in the same transaction once the
  // job is marked (the store records its event there); it may be empty.
  virtual Result<bool> StoreResult(const Lease& lease, const FinishRequest& request,
                                   const std::function<Status(StorageTx&)>& also) = 0;
  virtual Result<Artifact> ReadArtifact(const std::string& job_id, ArtifactKind kind) = 0;

  // A cheap read that proves the database answers.
  virtual Status Ping() = 0;

  // ---- what the backend keeps on this host and its own tools
  // See JobStore::Sweep; `job_is_over` is the store's verdict on a job id.
  // Default: the backend keeps no files here.
  virtual Result<SweepReport> SweepFiles(
      const std::function<bool(const std::string& job_id)>& job_is_over) {
    (void)job_is_over;
    return SweepReport{};
  }
  // See JobStore::Check: the checks this backend can run here.
  virtual Result<CheckReport> Check() = 0;
  // See JobStore::Backup.
  virtual Status Backup(const std::string& destination) = 0;
};

}  // namespace renderq
