// SqliteStorage: the queue's storage on one SQLite file in WAL mode, with the
// jobs' images and checkpoints as files in a results directory beside it.
//
// - Reads use a pool of connections (one per calling thread at a time) in a
//   deferred transaction: one snapshot, no lock. Writes are BEGIN IMMEDIATE
//   transactions (the worker's on pooled connections, the responder's on the
//   group commit writer's own connection); SQLite's single write lock makes
//   every write transaction exclusive, across processes too, and seq follows
//   commit order.
// - now() is this process's clock (SqliteStorageOptions::clock), read under
//   the write lock for writes, so started_at follows the order of the claims
//   even across worker processes. One host, one clock.
// - Files: <results>/<id>.png, .preview.png, .ckpt (core/result_file_names.h).
//   A result is written and synced under a temp name, renamed into place and
//   the directory synced while the write lock fences the lease, and only then
//   is the job marked succeeded in the same transaction's COMMIT. A checkpoint
//   is written durably before its row is updated, so a crash between the two
//   leaves a file newer than the row, which the next attempt resumes from (the
//   file carries its own sample count). Previews are replaced without fsync.
// - Change notification: WaitForChange() blocks on inotify (IN_MODIFY) on the
//   -wal file, which every commit from any process appends to; PrepareWait()
//   arms the watch before each claim.
// - Worker names: an flock beside the database (core/instance_lock.h), which
//   the kernel drops with the process, however it dies.
// - Maintenance: an online backup and integrity_check (core/sqlite/sqlite_maintenance.h).
//
// Thread safety: QueueStorage's. Open only after any fork(). Several processes
// may open the same file at once; they must be on one host (WAL's shared memory).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/model/clock.h"
#include "core/store/queue_storage.h"
#include "core/sqlite/sqlite_db.h"
#include "core/sqlite/sqlite_pool.h"

namespace renderq {

struct SqliteStorageOptions {
  std::string path;         // the database file (e.g. var/queue.db)
  std::string results_dir;  // results, previews, checkpoints; "" = none (those then fail)
  SqliteOptions db;         // per connection: busy timeout, WAL size limit, ...
  Clock* clock = SystemClock::Instance();  // not owned; ManualClock in tests
};

class SqliteStorage final : public QueueStorage {
 public:
  // Opens the database, creating it if needed, and applies the migrations.
  static Result<std::unique_ptr<SqliteStorage>> Open(const SqliteStorageOptions& options);
  ~SqliteStorage() override;

  std::string_view Kind() const override { return "sqlite"; }
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
  Result<bool> StoreResult(const Lease& lease, const FinishRequest& request) override;
  Result<Artifact> ReadArtifact(const std::string& job_id, ArtifactKind kind) override;
  Status Ping() override;
  Result<SweepReport> SweepFiles(
      const std::function<bool(const std::string& job_id)>& job_is_over) override;
  Result<CheckReport> Check() override;
  Status Backup(const std::string& destination) override;

 private:
  SqliteStorage(SqliteStorageOptions options, std::unique_ptr<SqlitePool> pool);
  Status ArmChangeWatch();
  Result<std::string> ResultsDir() const;

  const SqliteStorageOptions options_;
  const std::unique_ptr<SqlitePool> pool_;
  std::mutex watch_mu_;
  int watch_fd_ = -1;  // inotify on the -wal file; guarded by watch_mu_
};

}  // namespace renderq
