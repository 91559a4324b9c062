// PgStorage: the queue's storage on PostgreSQL, shared by programs on any
// number of hosts, with every byte of a job (scene, checkpoint, preview,
// result) in the database: a GPU host needs only the database URI.
//
// - Reads: a pooled connection in a REPEATABLE READ READ ONLY transaction (one
//   snapshot). Writes: short READ COMMITTED transactions; claims take the
//   oldest queued row with FOR UPDATE SKIP LOCKED in one statement, so any
//   number of workers claim at once without waiting on each other and never
//   take the same job. No transaction stays open while a job renders.
// - The group commit writer (the responder's submits, cancels, retries and
//   token changes) begins each batch with pg_advisory_xact_lock: batches of
//   all responders on all hosts run one at a time, so the admission that a
//   batch decides from what it read holds at its COMMIT, and jobs get seq in
//   commit order. Jobs are the same rows whichever host wrote them.
// - now() is the database server's clock (clock_timestamp(), read when the
//   transaction began) unless the options give a Clock (tests), so leases and
//   heartbeats mean the same on every host.
// - A result is inserted in the same transaction that marks its job
//   succeeded (a deferred constraint trigger refuses one without the other);
//   a checkpoint replaces the previous one in the transaction that records its
//   sample count; previews are committed without waiting for their WAL flush
//   (synchronous_commit off: a lost preview is replaced by the next).
// - Change notification: a transaction that makes a job claimable (a submit,
//   a requeue, a retry) sends NOTIFY renderq_jobs (empty payload; PostgreSQL
//   folds a transaction's repeats into one) just before its COMMIT. An idle
//   worker LISTENs on a dedicated session connection; after that connection
//   is lost and remade, WaitForChange() returns at once so the worker claims
//   again (notifications sent meanwhile are gone); the caller's bounded wait
//   is the slow poll that covers the rest.
// - Worker names: a session advisory lock (pg_try_advisory_lock) on a
//   connection the lock object holds, dropped by the server when the process
//   or its connection dies, on whatever host it ran. Losing the connection
//   loses the lock (a failover, a partition) while the process may live on:
//   it proves nothing about the predecessor's death, and Verify() takes it
//   again or reports that another process has the name now.
// - COMMITs go through PgConn::Commit: one the server confirms only with a
//   warning (its wait for the synchronous standby cut short) is an error, so
//   nothing is acknowledged that a failover could lose.
//
// Thread safety: QueueStorage's. Connections are opened lazily and reopened
// after a failure: every call simply fails with kUnavailable while the
// database is unreachable and works again once it is back.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "core/model/clock.h"
#include "core/postgres/pg_conn.h"
#include "core/postgres/pg_pool.h"
#include "core/store/queue_storage.h"

namespace renderq {

struct PgStorageOptions {
  std::string uri;           // postgresql://...
  Clock* clock = nullptr;    // nullptr: the database server's clock
  int max_connections = 16;  // pooled connections (the writer, listener and locks are extra)
  std::chrono::milliseconds pool_wait{5000};  // for a free pooled connection
  bool wake_on_events = false;                // WaitForChange() also wakes on job events
  // Longest a durable write's COMMIT (and each of its statements) may take:
  // with a synchronous standby away, a COMMIT waits for it; past this the
  // store gives up on it (kUnavailable, outcome unknown: PgConn::Commit), so
  // the responder answers 503 before nginx's 10 s give up on it.
  std::chrono::milliseconds commit_wait{4000};
  // Tests only (tests/ha): a planted fencing bug. A finish is accepted
  // whatever lease it comes with, even for a job another worker holds or
  // finished, so the history checker has a real bug to find. Never set it
  // anywhere else.
  bool test_accept_stale_finish = false;
};

class PgStorage final : public QueueStorage {
 public:
  // Connects once (to fail early on a wrong URI or password) and applies the
  // migrations.
  static Result<std::unique_ptr<PgStorage>> Open(const PgStorageOptions& options);
  ~PgStorage() override;

  std::string_view Kind() const override { return "postgresql"; }
  Result<std::unique_ptr<StorageTx>> BeginRead(ReadKind kind) override;
  Result<std::unique_ptr<StorageTx>> BeginWrite(WriteKind kind) override;
  Result<std::unique_ptr<WriterSession>> OpenWriterSession() override;
  void PrepareWait() override;
  Status WaitForChange(std::chrono::milliseconds timeout) override;
  Result<std::unique_ptr<WorkerNameLock>> LockWorkerName(const std::string& name) override;
  Result<bool> StoreCheckpoint(const Lease& lease, std::span<const std::uint8_t> state,
                               std::int64_t samples) override;
  Result<std::optional<std::vector<std::uint8_t>>> LoadCheckpoint(const Lease& lease) override;
  Status StorePreview(const Lease& lease, std::span<const std::uint8_t> png) override;
  Result<bool> StoreResult(const Lease& lease, const FinishRequest& request,
                           const std::function<Status(StorageTx&)>& also) override;
  Result<Artifact> ReadArtifact(const std::string& job_id, ArtifactKind kind) override;
  Status Ping() override;
  Result<CheckReport> Check() override;
  Status Backup(const std::string& destination) override;

 private:
  explicit PgStorage(PgStorageOptions options);
  // The listener, connected and LISTENing; true when it was (re)made just now.
  Result<bool> EnsureListening();

  const PgStorageOptions options_;
  PgPool pool_;
  std::mutex listen_mu_;
  std::unique_ptr<PgConn> listener_;  // guarded by listen_mu_
};

}  // namespace renderq
