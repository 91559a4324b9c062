// An outbox in memory for the delivery engine's tests: the engine's side of
// the contract (delivery_outbox.h) without a database. The store's outbox on
// SQLite and PostgreSQL is tested end to end with the dispatcher.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "notify/delivery_outbox.h"

namespace renderq::notify::testing {

class MemoryOutbox final : public DeliveryOutbox {
 public:
  struct Row {
    Delivery delivery;
    TimeMs due_at = 0;
    TimeMs leased_until = 0;
    bool done = false;  // delivered or given up
    bool failed = false;
  };

  void Add(Delivery d, TimeMs due_at = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    rows_.push_back({std::move(d), due_at});
  }

  Result<Claim> ClaimDue(TimeMs now, std::size_t limit, const std::vector<std::string>& busy,
                         TimeMs lease_until) override {
    std::lock_guard<std::mutex> lock(mu_);
    Claim claim;
    std::vector<std::string> taken = busy;
    auto is_taken = [&](const std::string& w) {
      return std::find(taken.begin(), taken.end(), w) != taken.end();
    };
    for (Row& r : rows_) {
      if (r.done || r.leased_until > now || is_taken(r.delivery.webhook_id)) continue;
      if (r.due_at <= now && claim.deliveries.size() < limit) {
        r.leased_until = lease_until;
        claim.deliveries.push_back(r.delivery);
        taken.push_back(r.delivery.webhook_id);
      }
    }
    for (const Row& r : rows_) {
      if (r.done || is_taken(r.delivery.webhook_id)) continue;
      const TimeMs due = std::max(r.due_at, r.leased_until);
      if (!claim.next_due_at || due < *claim.next_due_at) claim.next_due_at = due;
    }
    ++claims_;
    return claim;
  }

  Status RecordAttempt(const AttemptRecord& record) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back(record);
      for (Row& r : rows_) {
        if (r.delivery.id != record.delivery_id) continue;
        r.leased_until = 0;
        if (record.succeeded || !record.next_attempt_at) {
          r.done = true;
          r.failed = !record.succeeded;
        } else {
          r.due_at = *record.next_attempt_at;
          r.delivery.attempt = record.attempt + 1;
        }
      }
    }
    cv_.notify_all();
    return Status::Ok();
  }

  std::vector<AttemptRecord> records() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

  // Waits until `n` attempts are recorded; false after `seconds`.
  bool WaitForRecords(std::size_t n, double seconds) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::duration<double>(seconds),
                        [&] { return records_.size() >= n; });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Row> rows_;
  std::vector<AttemptRecord> records_;
  int claims_ = 0;
};

}  // namespace renderq::notify::testing
