// The delivery engine's view of the outbox: what is due, and what happened.
//
// The store implements it over the outbox tables of either backend; the
// engine knows nothing of SQL. Every method may be called from the engine's
// thread only, one call at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model/status.h"
#include "notify/retry_schedule.h"

namespace renderq::notify {

// One event on its way to one webhook.
struct Delivery {
  std::int64_t id = 0;     // the delivery, as the outbox names it
  std::string webhook_id;  // the endpoint: at most one delivery in flight per webhook
  std::string url;
  std::string secret_key;  // the signing key's bytes (opened from its seal)
  std::string event_id;    // webhook-id: the same on every attempt
  std::string event_type;  // "job.succeeded", ...
  std::string body;        // the JSON payload, signed as it is sent
  int attempt = 1;         // this attempt's number, 1 = the first
  TimeMs created_at = 0;   // the event's commit: the retry window starts here
};

// What one attempt came to.
struct AttemptRecord {
  std::int64_t delivery_id = 0;
  std::string webhook_id;
  std::string event_id;
  std::string event_type;
  int attempt = 1;
  TimeMs attempted_at = 0;
  std::optional<int> http_status;    // the receiver's status, if it answered
  std::optional<std::string> error;  // a short reason, unless it succeeded
  bool succeeded = false;
  // When to try again; nullopt with !succeeded: given up (retry window over).
  std::optional<TimeMs> next_attempt_at;
};

// What ClaimDue hands out, and when to ask again.
struct Claim {
  std::vector<Delivery> deliveries;
  // The earliest time another delivery becomes claimable, not counting those
  // of the webhooks busy now (including the ones just claimed); nullopt when
  // nothing else waits.
  std::optional<TimeMs> next_due_at;
};

class DeliveryOutbox {
 public:
  virtual ~DeliveryOutbox() = default;

  // Up to `limit` deliveries due at `now` (oldest first), at most one per
  // webhook and none for a webhook in `busy`; each is claimed until
  // `lease_until`, after which another dispatcher (or this one restarted)
  // may take it again: a dispatcher killed mid-delivery loses nothing. A
  // delivery whose lease ran out is due.
  virtual Result<Claim> ClaimDue(TimeMs now, std::size_t limit,
                                 const std::vector<std::string>& busy, TimeMs lease_until) = 0;

  // Records the attempt (kept for GET /api/v1/webhooks/{id}/deliveries) and
  // what follows it: delivered, due again at next_attempt_at, or failed.
  // Ends the claim.
  virtual Status RecordAttempt(const AttemptRecord& record) = 0;
};

}  // namespace renderq::notify
