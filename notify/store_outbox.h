// The delivery engine's outbox (delivery_outbox.h) over the queue's store:
// deliveries claimed from JobStore, their secrets opened with the
// dispatcher's private key, their bodies made from the event as committed.
#pragma once

#include "core/model/clock.h"
#include "core/store/job_store.h"
#include "notify/delivery_outbox.h"
#include "notify/secret_seal.h"

namespace renderq::notify {

// The body a webhook receives: {"type", "timestamp", "data"}, the job object
// as the event recorded it, byte for byte the same on every attempt.
std::string WebhookBody(const DueDelivery& delivery);

class StoreOutbox final : public DeliveryOutbox {
 public:
  // Every pointer must outlive the outbox.
  StoreOutbox(JobStore* store, const OpeningKey* key, const Clock* clock)
      : store_(store), key_(key), clock_(clock) {}

  Result<Claim> ClaimDue(TimeMs now, std::size_t limit, const std::vector<std::string>& busy,
                         TimeMs lease_until) override;
  Status RecordAttempt(const AttemptRecord& record) override;

 private:
  JobStore* store_;
  const OpeningKey* key_;
  const Clock* clock_;
};

}  // namespace renderq::notify
