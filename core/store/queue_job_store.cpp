#include "core/store/queue_job_store.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/model/uuid.h"
#include "core/store/token.h"

namespace renderq {

struct AdmissionCache {
  std::int64_t batch = -1;  // the group-commit batch it describes; -1: none
  QueueLoad load;
  std::unordered_map<std::int64_t, OwnerLoad> owners;
};

namespace {

Status NotHeld(const Lease& lease) {
  return Status::Conflict("job " + lease.job_id + " is not held by lease " +
                          std::to_string(lease.lease_id));
}

Status Fenced(const Result<bool>& held, const Lease& lease) {
  if (!held.ok()) return held.status();
  return *held ? Status::Ok() : NotHeld(lease);
}

Status ValidateName(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 128) {
    return Status::InvalidArgument(std::string(what) + " must be 1..128 characters");
  }
  return Status::Ok();
}

// Fills the derived fields (position, eta) of jobs read in one transaction.
class Deriver {
 public:
  Deriver(StorageTx& tx, const QueueRules& rules) : tx_(tx), rules_(rules) {}

  Status Fill(Job& job) {
    if (job.state != JobState::kQueued && job.state != JobState::kRunning) return Status::Ok();
    ASSIGN_OR_RETURN(const QueueLoad* load, Load());
    if (job.state == JobState::kRunning) {
      job.eta_seconds = RunningEtaSeconds(job, tx_.now(), *load, rules_);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(QueuedAhead ahead, tx_.ReadQueuedBefore(job.seq));
    job.position = ahead.count + 1;
    job.eta_seconds = QueuedEtaSeconds(ahead.cost, job.cost_units, *load, rules_);
    return Status::Ok();
  }

  Result<const QueueLoad*> Load() {
    if (!load_) {
      ASSIGN_OR_RETURN(QueueLoad load, tx_.ReadQueueLoad(tx_.now() - rules_.lease_timeout_ms));
      load_ = load;
    }
    return &*load_;
  }

 private:
  StorageTx& tx_;
  const QueueRules& rules_;
  std::optional<QueueLoad> load_;
};

// The job `id` as a caller may see it (owner_id 0: any owner), derived fields filled.
Result<Job> LoadJob(StorageTx& tx, Deriver& deriver, std::int64_t owner_id, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<Job> job, tx.ReadJob(owner_id, id));
  if (!job) return Status::NotFound("no job " + id);
  RETURN_IF_ERROR(deriver.Fill(*job));
  return std::move(*job);
}

// "evt_" and 32 hex digits from the OS random source: an event's id, which
// receivers see as webhook-id.
Result<std::string> NewEventId() {
  unsigned char bytes[16];
  RETURN_IF_ERROR(RandomBytes(bytes, sizeof bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "evt_";
  for (unsigned char b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

// Records `job` (as it now is, derived fields filled) in the outbox, in the
// transaction that changed it (docs/notifications.md).
Status RecordEvent(StorageTx& tx, const Job& job, const std::string& event_id) {
  JobEvent event;
  event.id = event_id;
  event.job_id = job.id;
  event.owner_id = job.owner_id;
  event.state = job.state;
  event.job_json = JobJsonText(job);
  event.created_at = tx.now();
  return tx.InsertJobEvent(event, WebhookEventFor(job.state));
}

Status RecordEvent(StorageTx& tx, const Job& job) {
  ASSIGN_OR_RETURN(const std::string id, NewEventId());
  return RecordEvent(tx, job, id);
}

// Reads job `id` as the change left it and records it.
Status RecordEventOf(StorageTx& tx, const QueueRules& rules, const std::string& id) {
  Deriver deriver(tx, rules);
  ASSIGN_OR_RETURN(const Job job, LoadJob(tx, deriver, /*owner_id=*/0, id));
  return RecordEvent(tx, job);
}

// Ends the lease of every running job that passes `filter` by the rules.
// Returns how many jobs it touched.
Result<int> EndLeases(StorageTx& tx, const QueueRules& rules, const LeaseFilter& filter,
                      bool spend_attempt, const LossReason* reason = nullptr) {
  ASSIGN_OR_RETURN(std::vector<LeasedJob> jobs, tx.ReadLeasedJobs(filter));
  for (const LeasedJob& job : jobs) {
    LeaseLoss loss;
    loss.attempts = job.attempts;
    loss.stalled_attempts = job.stalled_attempts;
    loss.cancel_requested = job.cancel_requested;
    loss.checkpoint_samples = job.checkpoint_samples;
    loss.attempt_from_samples = job.attempt_from_samples;
    loss.spend_attempt = spend_attempt;
    RETURN_IF_ERROR(tx.EndLease(job, LeaseEndFor(loss, job.worker, rules, reason)));
    RETURN_IF_ERROR(RecordEventOf(tx, rules, job.id));
  }
  return static_cast<int>(jobs.size());
}

Result<int> RequeueLapsedIn(StorageTx& tx, const QueueRules& rules) {
  LeaseFilter lapsed;
  lapsed.heartbeat_before = tx.now() - rules.lease_timeout_ms;
  return EndLeases(tx, rules, lapsed, /*spend_attempt=*/true);
}

// ---- Submit (runs on the group-commit writer) -----------------------------

// Looks up an idempotency key; fills `outcome` and returns true when the
// submit is answered by an earlier one (replay or conflict).
Result<bool> CheckIdempotencyKey(StorageTx& tx, const QueueRules& rules,
                                 const SubmitRequest& request, SubmitOutcome* outcome) {
  ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> record,
                   tx.ReadIdempotencyKey(request.owner_id, request.idempotency_key));
  if (!record) return false;
  if (record->created_at <= tx.now() - rules.idempotency_window_ms) {
    // Expired: the key starts over.
    RETURN_IF_ERROR(tx.DeleteIdempotencyKey(request.owner_id, request.idempotency_key));
    return false;
  }
  if (record->request_hash != request.request_hash) {
    outcome->kind = SubmitOutcome::Kind::kKeyConflict;
    return true;
  }
  Deriver deriver(tx, rules);
  ASSIGN_OR_RETURN(outcome->job, LoadJob(tx, deriver, request.owner_id, record->job_id));
  outcome->kind = SubmitOutcome::Kind::kReplayed;
  return true;
}

Status SubmitIn(StorageTx& tx, const QueueRules& rules, AdmissionCache& cache, std::int64_t batch,
                const SubmitRequest& request, const std::string& job_id,
                const std::string& event_id, SubmitOutcome* outcome) {
  *outcome = SubmitOutcome{};
  if (!request.idempotency_key.empty()) {
    ASSIGN_OR_RETURN(bool answered, CheckIdempotencyKey(tx, rules, request, outcome));
    if (answered) return Status::Ok();
  }
  if (cache.batch != batch) {
    cache.batch = -1;
    cache.owners.clear();
    ASSIGN_OR_RETURN(cache.load, tx.ReadQueueLoad(tx.now() - rules.lease_timeout_ms));
    cache.batch = batch;
  }
  QueueLoad& load = cache.load;
  auto found = cache.owners.find(request.owner_id);
  if (found == cache.owners.end()) {
    ASSIGN_OR_RETURN(OwnerLoad owner, tx.ReadOwnerLoad(request.owner_id));
    found = cache.owners.emplace(request.owner_id, owner).first;
  }
  OwnerLoad& owner = found->second;
  const JobSpec& spec = request.spec;
  const Admission admission = Admit(load, owner, spec.cost_units, rules);
  switch (admission.kind) {
    case Admission::Kind::kAdmit: break;
    case Admission::Kind::kTooExpensive:
      outcome->kind = SubmitOutcome::Kind::kTooExpensive;
      outcome->estimated_seconds = admission.estimated_seconds;
      outcome->units_per_second = admission.units_per_second;
      outcome->limit_seconds = rules.limits.max_render_seconds;
      return Status::Ok();
    case Admission::Kind::kOwnerQueueFull:
      outcome->kind = SubmitOutcome::Kind::kOwnerQueueFull;
      outcome->retry_after_seconds = admission.retry_after_seconds;
      return Status::Ok();
    case Admission::Kind::kQueueFull:
      outcome->kind = SubmitOutcome::Kind::kQueueFull;
      outcome->retry_after_seconds = admission.retry_after_seconds;
      return Status::Ok();
  }

  ASSIGN_OR_RETURN(const std::int64_t seq, tx.InsertJob(job_id, request.owner_id, spec));
  if (!request.idempotency_key.empty()) {
    RETURN_IF_ERROR(tx.InsertIdempotencyKey(request.owner_id, request.idempotency_key,
                                            request.request_hash, job_id));
  }
  Job& job = outcome->job;
  outcome->kind = SubmitOutcome::Kind::kCreated;
  job.id = job_id;
  job.seq = seq;
  job.owner_id = request.owner_id;
  job.state = JobState::kQueued;
  job.created_at = tx.now();
  job.kind = spec.kind;
  job.scene = spec.scene;
  job.cost_units = spec.cost_units;
  job.position = load.queued + 1;  // every queued job committed before this one
  job.eta_seconds = QueuedEtaSeconds(load.queued_cost, spec.cost_units, load, rules);
  RETURN_IF_ERROR(RecordEvent(tx, job, event_id));
  // This batch's later submits see this one.
  load.queued += 1;
  load.queued_cost += spec.cost_units;
  if (!load.head_seq) {
    load.head_seq = seq;
    load.head_cost = spec.cost_units;
  }
  owner.queued += 1;
  if (owner.queued == 1) owner.cost_through_first = load.queued_cost;
  return Status::Ok();
}

Status CancelIn(StorageTx& tx, const QueueRules& rules, std::int64_t owner_id,
                const std::string& job_id, CancelOutcome* outcome) {
  *outcome = CancelOutcome{};
  Deriver deriver(tx, rules);
  ASSIGN_OR_RETURN(Job job, LoadJob(tx, deriver, owner_id, job_id));
  if (IsTerminal(job.state)) {
    outcome->kind = CancelOutcome::Kind::kAlreadyTerminal;
    outcome->job = std::move(job);
    return Status::Ok();
  }
  const bool queued = job.state == JobState::kQueued;
  RETURN_IF_ERROR(queued ? tx.CancelQueuedJob(job.seq) : tx.RequestCancel(job.seq));
  outcome->kind = queued ? CancelOutcome::Kind::kCanceled : CancelOutcome::Kind::kCancelRequested;
  Deriver after(tx, rules);
  ASSIGN_OR_RETURN(outcome->job, LoadJob(tx, after, owner_id, job_id));
  // A running job's cancel is only asked for: its worker records the end.
  if (queued) RETURN_IF_ERROR(RecordEvent(tx, outcome->job));
  return Status::Ok();
}

Status RetryIn(StorageTx& tx, const QueueRules& rules, std::int64_t owner_id,
               const std::string& job_id, Job* out) {
  Deriver deriver(tx, rules);
  ASSIGN_OR_RETURN(Job job, LoadJob(tx, deriver, owner_id, job_id));
  if (job.state != JobState::kFailed && job.state != JobState::kCanceled) {
    return Status::Conflict(std::string("job ") + job_id + " is " + JobStateName(job.state) +
                            "; only failed or canceled jobs can be retried");
  }
  RETURN_IF_ERROR(tx.RequeueAtEnd(job.seq));
  Deriver after(tx, rules);
  ASSIGN_OR_RETURN(*out, LoadJob(tx, after, owner_id, job_id));
  return RecordEvent(tx, *out);
}

}  // namespace

// ---- Opening ------------------------------------------------------------------

QueueJobStore::QueueJobStore(QueueJobStoreOptions options, std::unique_ptr<QueueStorage> storage,
                             std::unique_ptr<GroupCommit> writer)
    : options_(std::move(options)),
      storage_(std::move(storage)),
      writer_(std::move(writer)),
      result_cache_(options_.result_cache_dir.empty()
                        ? nullptr
                        : std::make_unique<ResultCache>(options_.result_cache_dir)),
      admission_(std::make_unique<AdmissionCache>()) {}

QueueJobStore::~QueueJobStore() = default;

Result<std::unique_ptr<QueueJobStore>> QueueJobStore::Create(std::unique_ptr<QueueStorage> storage,
                                                             const QueueJobStoreOptions& options) {
  if (storage == nullptr) return Status::InvalidArgument("no storage");
  ASSIGN_OR_RETURN(std::unique_ptr<QueueStorage::WriterSession> session,
                   storage->OpenWriterSession());
  auto writer =
      std::make_unique<GroupCommit>(std::move(session), GroupCommit::Options{options.max_batch});
  return std::unique_ptr<QueueJobStore>(
      new QueueJobStore(options, std::move(storage), std::move(writer)));
}

Status QueueJobStore::Write(const std::function<Status(StorageTx&)>& work,
                            QueueStorage::WriteKind kind) {
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, storage_->BeginWrite(kind));
  RETURN_IF_ERROR(work(*tx));
  return tx->Commit();
}

Status QueueJobStore::Read(const std::function<Status(StorageTx&)>& work,
                           QueueStorage::ReadKind kind) {
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, storage_->BeginRead(kind));
  RETURN_IF_ERROR(work(*tx));
  return tx->Commit();
}

// ---- Tokens -----------------------------------------------------------------

Result<Owner> QueueJobStore::Authenticate(const std::string& token) {
  std::optional<Owner> owner;
  const std::string hash = Sha256Hex(token);
  RETURN_IF_ERROR(Read(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(owner, tx.ReadOwnerByTokenHash(hash));
        return Status::Ok();
      },
      QueueStorage::ReadKind::kOneStatement));
  if (!owner) return Status::NotFound("unknown or revoked token");
  return std::move(*owner);
}

Result<std::string> QueueJobStore::CreateToken(const std::string& name) {
  RETURN_IF_ERROR(ValidateName(name, "token name"));
  ASSIGN_OR_RETURN(std::string token, NewToken());
  const std::string hash = Sha256Hex(token);
  RETURN_IF_ERROR(writer_->Run([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(const std::int64_t owner_id, tx.EnsureOwner(name));
    ASSIGN_OR_RETURN(const bool active, tx.HasActiveToken(owner_id));
    if (active) return Status::Conflict("a token named '" + name + "' already exists");
    return tx.InsertToken(owner_id, hash);
  }));
  return token;
}

Result<std::vector<TokenInfo>> QueueJobStore::ListTokens() {
  std::vector<TokenInfo> tokens;
  RETURN_IF_ERROR(Read(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(tokens, tx.ReadTokens());
        return Status::Ok();
      },
      QueueStorage::ReadKind::kOneStatement));
  return tokens;
}

Status QueueJobStore::RevokeToken(const std::string& name) {
  return writer_->Run([&](StorageTx& tx) -> Status {
    std::int64_t owner_id = 0;
    ASSIGN_OR_RETURN(const bool revoked, tx.RevokeActiveToken(name, &owner_id));
    return revoked ? Status::Ok() : Status::NotFound("no active token named '" + name + "'");
  });
}

Result<std::string> QueueJobStore::RotateToken(const std::string& name) {
  ASSIGN_OR_RETURN(std::string token, NewToken());
  const std::string hash = Sha256Hex(token);
  RETURN_IF_ERROR(writer_->Run([&](StorageTx& tx) -> Status {
    std::int64_t owner_id = 0;
    ASSIGN_OR_RETURN(const bool revoked, tx.RevokeActiveToken(name, &owner_id));
    if (!revoked) return Status::NotFound("no active token named '" + name + "'");
    return tx.InsertToken(owner_id, hash);
  }));
  return token;
}

// ---- Responder ----------------------------------------------------------------

Result<SubmitOutcome> QueueJobStore::Submit(const SubmitRequest& request) {
  // Random ids are drawn outside the writer thread, which only writes.
  ASSIGN_OR_RETURN(std::string job_id, NewUuidV4());
  ASSIGN_OR_RETURN(std::string event_id, NewEventId());
  SubmitOutcome outcome;
  RETURN_IF_ERROR(writer_->Run([&](StorageTx& tx) {
    return SubmitIn(tx, options_.rules, *admission_, writer_->current_batch(), request, job_id,
                    event_id, &outcome);
  }));
  return outcome;
}

Result<Job> QueueJobStore::Get(std::int64_t owner_id, const std::string& job_id) {
  Job job;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    Deriver deriver(tx, options_.rules);
    ASSIGN_OR_RETURN(job, LoadJob(tx, deriver, owner_id, job_id));
    return Status::Ok();
  }));
  return job;
}

Result<JobPage> QueueJobStore::List(const ListRequest& request) {
  const int limit = std::clamp(request.limit, 1, 100);
  JobPage page;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(page.jobs, tx.ReadJobs(request, limit + 1));
    if (static_cast<int>(page.jobs.size()) > limit) {
      page.jobs.pop_back();
      page.next_before_seq = page.jobs.back().seq;
    }
    Deriver deriver(tx, options_.rules);
    for (Job& job : page.jobs) RETURN_IF_ERROR(deriver.Fill(job));
    return Status::Ok();
  }));
  return page;
}

Result<CancelOutcome> QueueJobStore::Cancel(std::int64_t owner_id, const std::string& job_id) {
  CancelOutcome outcome;
  RETURN_IF_ERROR(writer_->Run([&](StorageTx& tx) {
    admission_->batch = -1;  // the queue changes under the cache
    return CancelIn(tx, options_.rules, owner_id, job_id, &outcome);
  }));
  return outcome;
}

Result<Job> QueueJobStore::Retry(std::int64_t owner_id, const std::string& job_id) {
  Job job;
  RETURN_IF_ERROR(writer_->Run([&](StorageTx& tx) {
    admission_->batch = -1;  // the queue changes under the cache
    return RetryIn(tx, options_.rules, owner_id, job_id, &job);
  }));
  return job;
}

Result<QueueSnapshot> QueueJobStore::Queue() {
  QueueSnapshot queue;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    Deriver deriver(tx, options_.rules);
    ASSIGN_OR_RETURN(const QueueLoad* load, deriver.Load());
    queue.queued = load->queued;
    queue.estimated_wait_seconds = EstimatedWaitSeconds(*load, options_.rules);
    ASSIGN_OR_RETURN(queue.running, tx.ReadRunningJobs());
    for (Job& job : queue.running) RETURN_IF_ERROR(deriver.Fill(job));
    ASSIGN_OR_RETURN(queue.workers, tx.ReadWorkers());
    return Status::Ok();
  }));
  return queue;
}

Result<double> QueueJobStore::UnitsPerSecond() {
  double units_per_second = 0;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(QueueLoad load, tx.ReadQueueLoad(tx.now() - options_.rules.lease_timeout_ms));
    units_per_second = renderq::UnitsPerSecond(load, options_.rules);
    return Status::Ok();
  }));
  return units_per_second;
}

Result<std::optional<double>> QueueJobStore::KindRunSeconds(const std::string& kind) {
  std::vector<double> runs;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(runs, tx.ReadKindRunSeconds(kind, kKindRunsAveraged));
    return Status::Ok();
  }));
  if (static_cast<int>(runs.size()) < kMinKindRuns) return std::optional<double>();
  double sum = 0;
  for (double seconds : runs) sum += seconds;
  return std::optional<double>(sum / static_cast<double>(runs.size()));
}

Status QueueJobStore::Ping() { return storage_->Ping(); }

// ---- Worker -------------------------------------------------------------------

Status QueueJobStore::RegisterWorker(const WorkerInfo& worker) {
  RETURN_IF_ERROR(ValidateName(worker.name, "worker name"));
  return Write([&](StorageTx& tx) { return tx.UpsertWorker(worker); });
}

Result<std::unique_ptr<WorkerNameLock>> QueueJobStore::LockWorkerName(
    const std::string& worker_name) {
  RETURN_IF_ERROR(ValidateName(worker_name, "worker name"));
  return storage_->LockWorkerName(worker_name);
}

Result<std::optional<ClaimedJob>> QueueJobStore::ClaimNext(const std::string& worker_name,
                                                           const std::vector<std::string>& kinds) {
  for (const std::string& kind : kinds) {
    if (kind.empty() || kind.size() > 32 ||
        kind.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
      return Status::InvalidArgument("not a kind name: \"" + kind + "\"");
    }
  }
  // Armed before looking, so a commit after an empty look still wakes WaitForChange.
  storage_->PrepareWait();
  std::optional<ClaimedJob> claimed;
  RETURN_IF_ERROR(Write([&](StorageTx& tx) -> Status {
    RETURN_IF_ERROR(RequeueLapsedIn(tx, options_.rules).status());
    if (kinds.empty()) return Status::Ok();  // nothing this worker can run now
    ASSIGN_OR_RETURN(claimed, tx.ClaimOldest(worker_name, kinds));
    if (claimed) RETURN_IF_ERROR(RecordEventOf(tx, options_.rules, claimed->job.id));
    return Status::Ok();
  }));
  return claimed;
}

Result<bool> QueueJobStore::Heartbeat(const Lease& lease, double progress) {
  if (!(progress >= 0 && progress <= 1)) {
    return Status::InvalidArgument("progress must lie in 0..1");
  }
  bool cancel = false;
  RETURN_IF_ERROR(Write(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(std::optional<bool> held, tx.TouchLease(lease, progress));
        if (!held) return NotHeld(lease);
        cancel = *held;
        return Status::Ok();
      },
      QueueStorage::WriteKind::kHeartbeat));
  return cancel;
}

Status QueueJobStore::SaveCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                                     std::int64_t samples) {
  if (state.empty()) return Status::InvalidArgument("checkpoint is empty");
  if (samples < 0) return Status::InvalidArgument("checkpoint samples must be >= 0");
  if (state.size() > kMaxCheckpointBytes) {
    return Status::ResourceExhausted("checkpoint of " + std::to_string(state.size()) +
                                     " bytes is over the bound of " +
                                     std::to_string(kMaxCheckpointBytes) + " bytes");
  }
  return Fenced(storage_->StoreCheckpoint(lease, state, samples), lease);
}

Result<std::optional<std::vector<std::uint8_t>>> QueueJobStore::LoadCheckpoint(const Lease& lease) {
  return storage_->LoadCheckpoint(lease);
}

Status QueueJobStore::SavePreview(const Lease& lease, std::span<const std::uint8_t> png) {
  if (png.empty()) return Status::InvalidArgument("preview is empty");
  return storage_->StorePreview(lease, png);
}

Status QueueJobStore::Finish(const Lease& lease, const FinishRequest& request) {
  if (request.device.empty() || request.result_etag.empty() || request.png.empty()) {
    return Status::InvalidArgument("a finished job needs its device, result and result etag");
  }
  return Fenced(storage_->StoreResult(
                    lease, request,
                    [&](StorageTx& tx) { return RecordEventOf(tx, options_.rules, lease.job_id); }),
                lease);
}

Status QueueJobStore::Fail(const Lease& lease, const std::string& code,
                           const std::string& message) {
  if (code.empty()) return Status::InvalidArgument("a failure needs an error code");
  return Write([&](StorageTx& tx) -> Status {
    RETURN_IF_ERROR(Fenced(tx.MarkFailed(lease, code, message), lease));
    return RecordEventOf(tx, options_.rules, lease.job_id);
  });
}

Status QueueJobStore::MarkCanceled(const Lease& lease) {
  return Write([&](StorageTx& tx) -> Status {
    RETURN_IF_ERROR(Fenced(tx.MarkCanceled(lease), lease));
    return RecordEventOf(tx, options_.rules, lease.job_id);
  });
}

Status QueueJobStore::Release(const Lease& lease, bool spend_attempt) {
  return Write([&](StorageTx& tx) -> Status {
    LeaseFilter held;
    held.lease = lease;
    ASSIGN_OR_RETURN(const int touched, EndLeases(tx, options_.rules, held, spend_attempt));
    return touched == 0 ? NotHeld(lease) : Status::Ok();
  });
}

Status QueueJobStore::ReleaseLost(const Lease& lease, const std::string& code,
                                  const std::string& message) {
  if (code.empty()) return Status::InvalidArgument("a lost attempt needs an error code");
  const LossReason reason{code, message};
  return Write([&](StorageTx& tx) -> Status {
    LeaseFilter held;
    held.lease = lease;
    ASSIGN_OR_RETURN(const int touched,
                     EndLeases(tx, options_.rules, held, /*spend_attempt=*/true, &reason));
    return touched == 0 ? NotHeld(lease) : Status::Ok();
  });
}

Status QueueJobStore::RecordThroughput(const std::string& worker_name, double units_per_second) {
  if (!(units_per_second > 0) || !std::isfinite(units_per_second)) {
    return Status::InvalidArgument("units per second must be a positive number");
  }
  return Write([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(const bool found, tx.SetWorkerThroughput(worker_name, units_per_second));
    return found ? Status::Ok() : Status::NotFound("no worker named '" + worker_name + "'");
  });
}

Status QueueJobStore::WorkerHeartbeat(const std::string& worker_name) {
  return Write(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(const bool found, tx.TouchWorker(worker_name));
        return found ? Status::Ok() : Status::NotFound("no worker named '" + worker_name + "'");
      },
      QueueStorage::WriteKind::kHeartbeat);
}

Result<int> QueueJobStore::RequeueLapsed() {
  int touched = 0;
  RETURN_IF_ERROR(Write([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(touched, RequeueLapsedIn(tx, options_.rules));
    return Status::Ok();
  }));
  return touched;
}

Result<int> QueueJobStore::RequeueWorkerJobs(const std::string& worker_name,
                                             bool predecessor_dead) {
  int touched = 0;
  RETURN_IF_ERROR(Write([&](StorageTx& tx) -> Status {
    LeaseFilter leased;
    leased.worker = worker_name;
    if (!predecessor_dead) {
      leased.heartbeat_before = tx.now() - SelfFenceAfterMs(options_.rules.lease_timeout_ms);
    }
    ASSIGN_OR_RETURN(touched, EndLeases(tx, options_.rules, leased, /*spend_attempt=*/true));
    return Status::Ok();
  }));
  return touched;
}

Status QueueJobStore::WaitForChange(std::chrono::milliseconds timeout) {
  return storage_->WaitForChange(timeout);
}

// ---- Notifications --------------------------------------------------------------

Result<Webhook> QueueJobStore::CreateWebhook(const NewWebhook& webhook) {
  std::optional<Webhook> made;
  RETURN_IF_ERROR(Write([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(const std::int64_t count, tx.CountWebhooks(webhook.owner_id));
    if (count >= kMaxWebhooksPerOwner) {
      return Status::ResourceExhausted("an owner has at most " +
                                       std::to_string(kMaxWebhooksPerOwner) + " webhooks");
    }
    RETURN_IF_ERROR(tx.InsertWebhook(webhook));
    ASSIGN_OR_RETURN(made, tx.ReadWebhook(webhook.owner_id, webhook.id));
    return made ? Status::Ok() : Status::Internal("the new webhook is not there");
  }));
  return std::move(*made);
}

Result<std::vector<Webhook>> QueueJobStore::ListWebhooks(std::int64_t owner_id) {
  std::vector<Webhook> webhooks;
  RETURN_IF_ERROR(Read(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(webhooks, tx.ReadWebhooks(owner_id));
        return Status::Ok();
      },
      QueueStorage::ReadKind::kOneStatement));
  return webhooks;
}

Status QueueJobStore::DeleteWebhook(std::int64_t owner_id, const std::string& webhook_id) {
  return Write([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(const bool deleted, tx.DeleteWebhook(owner_id, webhook_id));
    return deleted ? Status::Ok() : Status::NotFound("no webhook " + webhook_id);
  });
}

Result<std::vector<DeliveryAttempt>> QueueJobStore::ListDeliveryAttempts(
    std::int64_t owner_id, const std::string& webhook_id, int limit) {
  std::vector<DeliveryAttempt> attempts;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(const std::optional<Webhook> webhook, tx.ReadWebhook(owner_id, webhook_id));
    if (!webhook) return Status::NotFound("no webhook " + webhook_id);
    ASSIGN_OR_RETURN(attempts, tx.ReadDeliveryAttempts(webhook_id, std::clamp(limit, 1, 1000)));
    return Status::Ok();
  }));
  return attempts;
}

Result<DeliveryClaim> QueueJobStore::ClaimDeliveries(std::size_t limit,
                                                     const std::vector<std::string>& busy,
                                                     TimeMs lease_ms) {
  DeliveryClaim claim;
  if (limit == 0) return claim;
  RETURN_IF_ERROR(Write([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(claim, tx.ClaimDeliveries(limit, busy, tx.now() + lease_ms));
    return Status::Ok();
  }));
  return claim;
}

Status QueueJobStore::RecordDeliveryAttempt(const AttemptOutcome& outcome) {
  return Write([&](StorageTx& tx) { return tx.RecordDeliveryAttempt(outcome); });
}

Result<std::vector<JobEvent>> QueueJobStore::JobEventsAfter(std::int64_t after, std::size_t limit) {
  std::vector<JobEvent> events;
  RETURN_IF_ERROR(Read(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(events, tx.ReadJobEventsAfter(after, limit));
        return Status::Ok();
      },
      QueueStorage::ReadKind::kOneStatement));
  return events;
}

Result<ActiveJobs> QueueJobStore::ReadActiveJobs() {
  ActiveJobs active;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(active.last_event, tx.ReadLastJobEventSeq());
    Deriver deriver(tx, options_.rules);
    for (const JobState state : {JobState::kRunning, JobState::kQueued}) {
      ListRequest request;
      request.state = state;
      // Every one: the queue holds at most QueueLimits::max_queued jobs.
      ASSIGN_OR_RETURN(std::vector<Job> jobs, tx.ReadJobs(request, 1 << 20));
      for (Job& job : jobs) {
        RETURN_IF_ERROR(deriver.Fill(job));
        active.jobs.push_back(std::move(job));
      }
    }
    return Status::Ok();
  }));
  return active;
}

// ---- Images -------------------------------------------------------------------

Result<Artifact> QueueJobStore::ReadArtifact(const std::string& job_id, ArtifactKind kind) {
  const bool cached = kind == ArtifactKind::kResult && result_cache_ != nullptr;
  if (cached) {
    if (std::optional<std::string> name = result_cache_->Find(job_id)) return Artifact{*name, {}};
  }
  ASSIGN_OR_RETURN(Artifact artifact, storage_->ReadArtifact(job_id, kind));
  if (cached && artifact.file.empty()) {
    // A copy that cannot be written is no error: the bytes travel in the answer.
    if (Result<std::string> name = result_cache_->Put(job_id, artifact.bytes); name.ok()) {
      return Artifact{*name, {}};
    }
  }
  return artifact;
}

// ---- Administration -----------------------------------------------------------

Result<PurgeReport> QueueJobStore::Purge(TimeMs cutoff) {
  ASSIGN_OR_RETURN(std::unique_ptr<StorageTx> tx, storage_->BeginWrite());
  ASSIGN_OR_RETURN(PurgeReport report, tx->DeleteJobsFinishedBefore(cutoff));
  RETURN_IF_ERROR(
      tx->DeleteIdempotencyKeysBefore(tx->now() - options_.rules.idempotency_window_ms));
  RETURN_IF_ERROR(tx->DeleteNotificationsBefore(cutoff));
  RETURN_IF_ERROR(tx->Commit());
  report.files_removed = tx->FilesRemovedAtCommit();
  if (result_cache_ != nullptr) {
    ASSIGN_OR_RETURN(const int cached, result_cache_->DeleteWrittenBefore(cutoff));
    report.files_removed += cached;
  }
  return report;
}

Result<SweepReport> QueueJobStore::Sweep() {
  // A job's partial files belong to nobody once it is terminal or gone; a job
  // that cannot be looked up right now keeps them.
  return storage_->SweepFiles([this](const std::string& job_id) {
    const Result<Job> job = Get(/*owner_id=*/0, job_id);
    if (!job.ok()) return job.status().code() == StatusCode::kNotFound;
    return IsTerminal(job->state);
  });
}

Result<CheckReport> QueueJobStore::Check() { return storage_->Check(); }

Status QueueJobStore::Backup(const std::string& destination) {
  return storage_->Backup(destination);
}

Result<std::vector<std::string>> QueueJobStore::SucceededJobIds() {
  std::vector<std::string> ids;
  RETURN_IF_ERROR(Read(
      [&](StorageTx& tx) -> Status {
        ASSIGN_OR_RETURN(ids, tx.ReadSucceededJobIds());
        return Status::Ok();
      },
      QueueStorage::ReadKind::kOneStatement));
  return ids;
}

Result<JobStats> QueueJobStore::Stats(TimeMs finished_since, const std::vector<double>& bounds) {
  StatsRows rows;
  RETURN_IF_ERROR(Read([&](StorageTx& tx) -> Status {
    ASSIGN_OR_RETURN(rows, tx.ReadStats(finished_since));
    return Status::Ok();
  }));
  JobStats stats;
  stats.by_state = rows.by_state;
  for (const auto& [kind, by_state] : rows.by_kind_state) stats.kinds[kind].by_state = by_state;
  for (const auto& [kind, seconds] : rows.kind_render_seconds) {
    JobStats::Kind& k = stats.kinds[kind];
    ++k.succeeded;
    k.sum_seconds += seconds;
  }
  stats.le.assign(bounds.size(), 0);
  for (const double seconds : rows.render_seconds) {
    ++stats.count;
    stats.sum_seconds += seconds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      if (seconds <= bounds[i]) ++stats.le[i];
    }
  }
  return stats;
}

}  // namespace renderq
