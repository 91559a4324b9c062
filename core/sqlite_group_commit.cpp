#include "core/sqlite_group_commit.h"

#include <utility>

namespace renderq {
namespace {

// Runs one unit inside its own savepoint; a failed unit leaves no trace.
Status RunUnit(SqliteDb& db, const SqliteGroupCommit::Work& work) {
  ASSIGN_OR_RETURN(Savepoint savepoint, Savepoint::Begin(db));
  RETURN_IF_ERROR(work(db));
  return savepoint.Release();
}

}  // namespace

SqliteGroupCommit::SqliteGroupCommit(std::unique_ptr<SqliteDb> db, Options options)
    : db_(std::move(db)), options_(options), writer_([this] { WriterLoop(); }) {}

SqliteGroupCommit::~SqliteGroupCommit() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_one();
  writer_.join();
}

Status SqliteGroupCommit::Run(const Work& work) {
  Pending pending{&work, Status::Ok()};
  std::unique_lock lock(mu_);
  if (stopping_) return Status::Unavailable("the store is shutting down");
  queue_.push_back(&pending);
  work_ready_.notify_one();
  batch_done_.wait(lock, [&] { return pending.done; });
  return std::move(pending.status);
}

SqliteGroupCommit::Stats SqliteGroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void SqliteGroupCommit::WriterLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to do
    std::deque<Pending*> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    RunBatch(batch);
    lock.lock();
    for (Pending* pending : batch) pending->done = true;
    stats_.units += static_cast<std::int64_t>(batch.size());
    batch_done_.notify_all();
  }
}

void SqliteGroupCommit::RunBatch(const std::deque<Pending*>& batch) {
  auto fail_all = [&](const Status& why) {
    for (Pending* pending : batch) {
      if (pending->status.ok()) pending->status = why;
    }
  };
  {
    std::lock_guard lock(mu_);
    ++stats_.batches;
  }
  ++current_batch_;
  auto transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return fail_all(transaction.status());
  for (Pending* pending : batch) {
    pending->status = RunUnit(*db_, *pending->work);
    // SQLite rolls the whole transaction back by itself after some errors
    // (I/O error, disk full): then nothing of this batch can commit.
    if (!db_->InTransaction()) {
      return fail_all(Status::Unavailable("sqlite: transaction rolled back: " + pending->status.message()));
    }
  }
  Status committed = transaction->Commit();
  if (!committed.ok()) {
    // Units that failed on their own keep their own error; the rest did not commit.
    for (Pending* pending : batch) {
      if (pending->status.ok()) pending->status = Status::Unavailable(committed.message());
    }
    return;
  }
  std::lock_guard lock(mu_);
  ++stats_.commits;
}

}  // namespace renderq
