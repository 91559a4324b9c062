// Group commit: one writer thread commits the writes of many callers together.
//
// A caller hands Run() a unit of work; the writer thread takes every unit that
// is waiting, runs them in one transaction of its writer session, COMMITs once
// (one fsync for the whole batch with SQLite's synchronous=FULL, one WAL flush
// on PostgreSQL) and then wakes each caller with its own result. Run() returns
// OK only once the unit's changes are committed; when the transaction or its
// COMMIT fails, every unit of the batch gets kUnavailable, so no caller ever
// sees success for an uncommitted change.
//
// Units run back to back without a savepoint each: almost every unit either
// writes or refuses before writing. When one fails after all (its changes may
// be half made), the batch is rolled back and run again with every unit in a
// nested unit of its own (StorageTx::BeginUnit), so one unit's failure does
// not sink the others and leaves no trace. A unit may therefore run twice; it
// must reset what it reports each time it starts.
//
// Thread safety: Run() may be called from any number of threads. The work runs
// on the writer thread; it must not block on anything but the database, and
// whatever it writes into the caller's variables is valid only when Run()
// returns OK.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/store/queue_storage.h"
#include "core/model/status.h"

namespace renderq {

class GroupCommit {
 public:
  using Work = std::function<Status(StorageTx&)>;

  struct Options {
    std::size_t max_batch = 512;  // units per transaction; the rest wait for the next
  };

  GroupCommit(std::unique_ptr<QueueStorage::WriterSession> session, Options options);
  // Finishes the units already handed in, then stops the writer.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `work` in the next batch; returns its Status once the batch committed,
  // or kUnavailable if the batch did not commit.
  Status Run(const Work& work);

  using Stats = GroupCommitCounters;
  Stats stats() const;

  // Numbers the transactions; work units read it (on the writer thread) to
  // tell whether what they cached about the database is from this batch.
  std::int64_t current_batch() const { return current_batch_; }

 private:
  // The writer owns the promise; the caller waits on its future. Each caller
  // is woken on its own, so a batch of N callers does not wake N threads that
  // then queue up on one mutex.
  struct Pending {
    const Work* work;
    std::promise<Status> result;
  };

  void WriterLoop();
  // Runs the batch; returns each unit's Status, in batch order.
  std::vector<Status> RunBatch(const std::deque<Pending>& batch);
  // One attempt; false when a unit failed on the fast path (nothing committed).
  bool TryBatch(const std::deque<Pending>& batch, bool unit_by_unit, std::vector<Status>* results);

  const std::unique_ptr<QueueStorage::WriterSession> session_;  // writer thread only
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable work_ready_;  // writer waits for units
  std::deque<Pending> queue_;           // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  Stats stats_;                         // guarded by mu_
  std::int64_t current_batch_ = 0;      // writer thread only
  std::thread writer_;                  // last: starts after everything above
};

}  // namespace renderq
