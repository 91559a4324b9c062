#include "core/store/group_commit.h"

#include <utility>

namespace renderq {

GroupCommit::GroupCommit(std::unique_ptr<QueueStorage::WriterSession> session, Options options)
    : session_(std::move(session)), options_(options), writer_([this] { WriterLoop(); }) {}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_one();
  writer_.join();
}

Status GroupCommit::Run(const Work& work) {
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

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void GroupCommit::WriterLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to do
    std::deque<Pending> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    stats_.units += static_cast<std::int64_t>(batch.size());
    lock.unlock();
    std::vector<Status> results = RunBatch(batch);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].result.set_value(std::move(results[i]));
    lock.lock();
  }
}

std::vector<Status> GroupCommit::RunBatch(const std::deque<Pending>& batch) {
  std::vector<Status> results;
  if (TryBatch(batch, /*unit_by_unit=*/false, &results)) return results;
  {
    std::lock_guard lock(mu_);
    ++stats_.reruns;
  }
  TryBatch(batch, /*unit_by_unit=*/true, &results);
  return results;
}

bool GroupCommit::TryBatch(const std::deque<Pending>& batch, bool unit_by_unit,
                           std::vector<Status>* results) {
  {
    std::lock_guard lock(mu_);
    ++stats_.batches;
  }
  results->assign(batch.size(), Status::Ok());
  auto fail_all = [&](const Status& why) {
    for (Status& result : *results) {
      if (result.ok()) result = why;
    }
    return true;  // final: nothing to run again
  };
  ++current_batch_;
  Result<std::unique_ptr<StorageTx>> began = session_->Begin();
  if (!began.ok()) return fail_all(began.status());
  StorageTx& tx = **began;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    Status& result = (*results)[i];
    if (unit_by_unit) {
      result = tx.BeginUnit();
      if (result.ok()) result = (*batch[i].work)(tx);
      if (tx.Active()) {
        const Status ended = tx.EndUnit(result.ok());
        if (result.ok()) result = ended;
      }
    } else {
      result = (*batch[i].work)(tx);
      // The unit may have written part of its changes: roll back, run again.
      if (!result.ok() && tx.Active()) return false;
    }
    // The backend rolls the whole transaction back by itself after some
    // errors (I/O error, disk full): then nothing of this batch can commit.
    if (!tx.Active()) {
      return fail_all(Status::Unavailable("transaction rolled back: " + result.message()));
    }
  }
  // Units that failed on their own keep their own error; the rest did not commit.
  const Status committed = tx.Commit();
  if (!committed.ok()) return fail_all(Status::Unavailable(committed.message()));
  std::lock_guard lock(mu_);
  ++stats_.commits;
  return true;
}

}  // namespace renderq
