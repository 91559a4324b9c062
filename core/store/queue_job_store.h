// QueueJobStore: the JobStore, written once over any QueueStorage backend.
//
// It holds the queue's rules (core/queue_rules.h) and decides with them from
// what the storage reads: admission, place in line and ETA, Retry-After,
// the lease rules (fencing errors, requeue or worker_lost), idempotency keys.
// Writes from the responder (Submit, Cancel, Retry, token changes) go through
// group commit (core/group_commit.h), so a submit returns once its job is
// committed while thousands per second share each commit; admission runs
// inside that transaction (which excludes every other writer session, on any
// host), so its limits are exact. The worker's writes are short transactions
// of their own, each fenced by the lease.
//
// Derived fields: a queued job's position is 1 + the queued jobs with a smaller
// seq; its eta_seconds is QueuedEtaSeconds of the cost ahead of it; a running
// job's comes from its progress rate (RunningEtaSeconds).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <memory>

#include "core/model/clock.h"
#include "core/model/queue_rules.h"
#include "core/store/group_commit.h"
#include "core/store/job_store.h"
#include "core/store/queue_storage.h"
#include "core/store/result_cache.h"

namespace renderq {

struct AdmissionCache;  // queue_job_store.cpp

struct QueueJobStoreOptions {
  QueueRules rules;
  std::size_t max_batch = 512;  // group commit: units per transaction
  // Where results a backend returns as bytes are copied for nginx to send
  // (core/store/result_cache.h); "" for none.
  std::string result_cache_dir;
};

class QueueJobStore final : public JobStore {
 public:
  static Result<std::unique_ptr<QueueJobStore>> Create(std::unique_ptr<QueueStorage> storage,
                                                       const QueueJobStoreOptions& options);
  ~QueueJobStore() override;

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
  using JobStore::Retry;
  Result<Job> Retry(std::int64_t owner_id, const std::string& job_id) override;
  Result<double> UnitsPerSecond() override;
  Result<std::optional<double>> KindRunSeconds(const std::string& kind) override;
  Status Ping() override;

  Status RegisterWorker(const WorkerInfo& worker) override;
  Result<std::unique_ptr<WorkerNameLock>> LockWorkerName(const std::string& worker_name) override;
  using JobStore::ClaimNext;
  Result<std::optional<ClaimedJob>> ClaimNext(const std::string& worker_name,
                                              const std::vector<std::string>& kinds) override;
  Result<bool> Heartbeat(const Lease& lease, double progress) override;
  Status SaveCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                        std::int64_t samples) override;
  Result<std::optional<std::vector<std::uint8_t>>> LoadCheckpoint(const Lease& lease) override;
  Status SavePreview(const Lease& lease, std::span<const std::uint8_t> png) override;
  Status Finish(const Lease& lease, const FinishRequest& request) override;
  Status Fail(const Lease& lease, const std::string& code, const std::string& message) override;
  Status MarkCanceled(const Lease& lease) override;
  Status Release(const Lease& lease, bool spend_attempt) override;
  Status ReleaseLost(const Lease& lease, const std::string& code,
                     const std::string& message) override;
  Status RecordThroughput(const std::string& worker_name, double units_per_second) override;
  Status WorkerHeartbeat(const std::string& worker_name) override;
  Result<int> RequeueLapsed() override;
  Result<int> RequeueWorkerJobs(const std::string& worker_name, bool predecessor_dead) override;
  Status WaitForChange(std::chrono::milliseconds timeout) override;

  Result<Webhook> CreateWebhook(const NewWebhook& webhook) override;
  Result<std::vector<Webhook>> ListWebhooks(std::int64_t owner_id) override;
  Status DeleteWebhook(std::int64_t owner_id, const std::string& webhook_id) override;
  Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(std::int64_t owner_id,
                                                            const std::string& webhook_id,
                                                            int limit) override;
  Result<DeliveryClaim> ClaimDeliveries(std::size_t limit, const std::vector<std::string>& busy,
                                        TimeMs lease_ms) override;
  Status RecordDeliveryAttempt(const AttemptOutcome& outcome) override;
  Result<std::vector<JobEvent>> JobEventsAfter(std::int64_t after, std::size_t limit) override;
  Result<ActiveJobs> ReadActiveJobs() override;
  void PrepareWaitForChange() override { storage_->PrepareWait(); }

  Result<Artifact> ReadArtifact(const std::string& job_id, ArtifactKind kind) override;

  Result<PurgeReport> Purge(TimeMs cutoff) override;
  Result<SweepReport> Sweep() override;
  Result<CheckReport> Check() override;
  Status Backup(const std::string& destination) override;
  std::string_view BackendName() const override { return storage_->Kind(); }
  Result<std::vector<std::string>> SucceededJobIds() override;
  Result<JobStats> Stats(TimeMs finished_since, const std::vector<double>& bounds) override;

  GroupCommitCounters GroupCommitStats() const override { return writer_->stats(); }

 private:
  QueueJobStore(QueueJobStoreOptions options, std::unique_ptr<QueueStorage> storage,
                std::unique_ptr<GroupCommit> writer);

  // A short write transaction of its own (the worker's writes, administration).
  Status Write(const std::function<Status(StorageTx&)>& work,
               QueueStorage::WriteKind kind = QueueStorage::WriteKind::kDurable);
  // A consistent read snapshot, or a lone statement (kOneStatement).
  Status Read(const std::function<Status(StorageTx&)>& work,
              QueueStorage::ReadKind kind = QueueStorage::ReadKind::kSnapshot);

  const QueueJobStoreOptions options_;
  const std::unique_ptr<QueueStorage> storage_;
  const std::unique_ptr<GroupCommit> writer_;
  const std::unique_ptr<ResultCache> result_cache_;  // null: the backend serves files
  // What admission needs about the queue, read once per group-commit batch and
  // kept current by the submits of that batch (no other admission can commit
  // while the batch runs). Used on the writer thread only.
  std::unique_ptr<AdmissionCache> admission_;
};

}  // namespace renderq
