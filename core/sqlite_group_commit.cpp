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
  std::future<Status> result;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the store is shutting down");
    Pending pending{&work, {}};
    result = pending.result.get_future();
    queue_.push_back(std::move(pending));
  }
  work_ready_.notify_one();
  return result.get();
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
    std::deque<Pending> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    ++stats_.batches;
    stats_.units += static_cast<std::int64_t>(batch.size());
    lock.unlock();
    std::vector<Status> results = RunBatch(batch);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].result.set_value(std::move(results[i]));
    lock.lock();
  }
}

std::vector<Status> SqliteGroupCommit::RunBatch(const std::deque<Pending>& batch) {
  std::vector<Status> results(batch.size());
  auto fail_all = [&](const Status& why) {
    for (Status& result : results) {
      if (result.ok()) result = why;
    }
    return std::move(results);
  };
  ++current_batch_;
  auto transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return fail_all(transaction.status());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    results[i] = RunUnit(*db_, *batch[i].work);
    // SQLite rolls the whole transaction back by itself after some errors
    // (I/O error, disk full): then nothing of this batch can commit.
    if (!db_->InTransaction()) {
      return fail_all(
          Status::Unavailable("sqlite: transaction rolled back: " + results[i].message()));
    }
  }
  // Units that failed on their own keep their own error; the rest did not commit.
  Status committed = transaction->Commit();
  if (!committed.ok()) return fail_all(Status::Unavailable(committed.message()));
  std::lock_guard lock(mu_);
  ++stats_.commits;
  return results;
}

}  // namespace renderq
