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

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/job.h"
#include "core/model/status.h"
#include "core/store/store_types.h"

namespace renderq {

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
  // A failed or canceled job goes back to the queue at the end of the line,
  // as new (attempts 0). kConflict for a job in any other state; NotFound
  // also for another owner's job. owner_id 0: any owner's (admin).
  virtual Result<Job> Retry(std::int64_t owner_id, const std::string& job_id) = 0;
  Result<Job> Retry(const std::string& job_id) { return Retry(0, job_id); }
  // Cost units per second, from the workers' last measurements (a
  // conservative default until any worker has measured).
  virtual Result<double> UnitsPerSecond() = 0;
  // A job kind's measured cost: the mean runtime of its last succeeded jobs
  // (kKindRunsAveraged of them), or nullopt while it has fewer than
  // kMinKindRuns.
  virtual Result<std::optional<double>> KindRunSeconds(const std::string& kind) = 0;
  // Cheap read that proves the database answers (for /healthz).
  virtual Status Ping() = 0;

  // -- worker
  virtual Status RegisterWorker(const WorkerInfo& worker) = 0;
  // Proves that no other live process, on any host, uses `worker_name`, and
  // holds that until the lock is destroyed; kConflict when one does. A worker
  // that holds it may take back its name's leases at once (RequeueWorkerJobs).
  virtual Result<std::unique_ptr<WorkerNameLock>> LockWorkerName(
      const std::string& worker_name) = 0;
  // Requeues jobs whose heartbeat lapsed, then claims the oldest queued job
  // of one of `kinds` (the ones this worker serves now). Returns nullopt when
  // none is queued.
  virtual Result<std::optional<ClaimedJob>> ClaimNext(const std::string& worker_name,
                                                      const std::vector<std::string>& kinds) = 0;
  // The same for a worker of scene jobs only.
  Result<std::optional<ClaimedJob>> ClaimNext(const std::string& worker_name) {
    return ClaimNext(worker_name, {std::string(kSceneKind)});
  }
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
  // Ends the lease as if its worker had died (QueueRules' lost attempts): a
  // kind's runner exited or broke the protocol. When the job has lost too
  // many attempts without progress it fails with `code` and `message`.
  virtual Status ReleaseLost(const Lease& lease, const std::string& code,
                             const std::string& message) = 0;
  virtual Status RecordThroughput(const std::string& worker_name, double units_per_second) = 0;
  virtual Status WorkerHeartbeat(const std::string& worker_name) = 0;
  // Ends the lease of jobs whose heartbeat is older than the lease timeout:
  // requeued, or failed with worker_lost (QueueRules, core/queue_rules.h).
  // Returns how many it touched.
  virtual Result<int> RequeueLapsed() = 0;
  // The same for the running jobs leased to `worker_name`, for a process that
  // holds LockWorkerName(worker_name): all of them, lapsed or not, when
  // `predecessor_dead` (the lock proved it); otherwise only those whose holder
  // has stopped rendering by its own fence (SelfFenceAfterMs), so a
  // predecessor that is alive but was cut off never renders beside the job's
  // next holder.
  virtual Result<int> RequeueWorkerJobs(const std::string& worker_name, bool predecessor_dead) = 0;
  // Blocks until another process (or thread) may have committed a change that
  // makes a job claimable (or, for a store opened with wake_on_events, any
  // job event), or `timeout` passed; spurious returns are allowed.
  // An idle worker calls it after ClaimNext() found nothing, so it wakes within
  // ms of a submit's commit without polling.
  virtual Status WaitForChange(std::chrono::milliseconds timeout) = 0;

  // -- notifications (docs/notifications.md). Every change of a job's state
  // is recorded, in the transaction that makes it, as a JobEvent; a change
  // that is a webhook event also queues a delivery to each of the owner's
  // webhooks that asked for it.
  // kResourceExhausted when the owner has kMaxWebhooksPerOwner already.
  virtual Result<Webhook> CreateWebhook(const NewWebhook& webhook) = 0;
  virtual Result<std::vector<Webhook>> ListWebhooks(std::int64_t owner_id) = 0;
  // NotFound also for another owner's webhook.
  virtual Status DeleteWebhook(std::int64_t owner_id, const std::string& webhook_id) = 0;
  virtual Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(std::int64_t owner_id,
                                                                    const std::string& webhook_id,
                                                                    int limit) = 0;
  // The dispatcher's side (QueueStorage::ClaimDeliveries says what is due;
  // a claim lasts `lease_ms` from the store's now).
  virtual Result<DeliveryClaim> ClaimDeliveries(std::size_t limit,
                                                const std::vector<std::string>& busy,
                                                TimeMs lease_ms) = 0;
  virtual Status RecordDeliveryAttempt(const AttemptOutcome& outcome) = 0;
  // Events after `after` in commit order, at most `limit`.
  virtual Result<std::vector<JobEvent>> JobEventsAfter(std::int64_t after, std::size_t limit) = 0;
  // The queued and running jobs and the last event they reflect, in one snapshot.
  virtual Result<ActiveJobs> ReadActiveJobs() = 0;
  // Arms WaitForChange() before a look, so that a commit between the look
  // and the wait still wakes it (the dispatcher's loop; ClaimNext does it itself).
  virtual void PrepareWaitForChange() = 0;

  // -- images
  // The result (succeeded jobs) or the latest preview (running jobs) of a job
  // of any owner; NotFound when there is none (yet).
  virtual Result<Artifact> ReadArtifact(const std::string& job_id, ArtifactKind kind) = 0;

  // -- administration
  // Deletes terminal jobs finished before `cutoff`, with their images (and
  // what this host cached of them).
  virtual Result<PurgeReport> Purge(TimeMs cutoff) = 0;
  // Run once when a worker starts, before it claims: removes what crashed
  // processes and finished jobs left among the files the backend keeps on
  // this host (never a live process's temp files, nor the files of a queued
  // or running job, nor those of a job that cannot be looked up right now).
  // Nothing to do, and an empty report, where the backend keeps no files.
  virtual Result<SweepReport> Sweep() = 0;
  // The database's consistency and its files on this host, as far as the
  // backend can check them here (CheckReport says what was checked).
  virtual Result<CheckReport> Check() = 0;
  // An online, consistent copy of the queue in `destination`, where the
  // backend can make one; kInvalidArgument with the backend's own tool named
  // where it cannot (PostgreSQL: pg_dump).
  virtual Status Backup(const std::string& destination) = 0;
  // "sqlite" or "postgresql".
  virtual std::string_view BackendName() const = 0;
  // Group commit's counters since the store was opened.
  virtual GroupCommitCounters GroupCommitStats() const = 0;
  // Ids of succeeded jobs.
  virtual Result<std::vector<std::string>> SucceededJobIds() = 0;
  // Jobs by state, and the render durations of jobs that succeeded at or after
  // `finished_since`, counted against `bounds` (ascending seconds).
  virtual Result<JobStats> Stats(TimeMs finished_since, const std::vector<double>& bounds) = 0;
};

}  // namespace renderq
