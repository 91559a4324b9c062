#include "notify/store_outbox.h"

#include <nlohmann/json.hpp>

#include "notify/base64.h"

namespace renderq::notify {

std::string WebhookBody(const DueDelivery& d) {
  // The job's JSON goes in as the event stored it, not parsed and printed
  // again: the same bytes, and so the same signature input, on every retry.
  return R"({"type":)" + nlohmann::json(d.type).dump() + R"(,"timestamp":)" +
         nlohmann::json(FormatTimestamp(d.event_created_at)).dump() + R"(,"data":)" + d.job_json +
         "}";
}

Result<Claim> StoreOutbox::ClaimDue(TimeMs now, std::size_t limit,
                                    const std::vector<std::string>& busy, TimeMs lease_until) {
  ASSIGN_OR_RETURN(DeliveryClaim claimed,
                   store_->ClaimDeliveries(limit, busy, std::max<TimeMs>(1, lease_until - now)));
  Claim claim;
  claim.next_due_at = claimed.next_due_at;
  for (const DueDelivery& d : claimed.deliveries) {
    Delivery delivery;
    delivery.id = d.id;
    delivery.webhook_id = d.webhook_id;
    delivery.url = d.url;
    delivery.event_id = d.event_id;
    delivery.event_type = d.type;
    delivery.body = WebhookBody(d);
    delivery.attempt = d.attempts + 1;
    delivery.created_at = d.event_created_at;
    const auto sealed = Base64Decode(d.secret_sealed);
    auto secret = sealed ? key_->Open(*sealed, d.webhook_id)
                         : Result<std::string>(Status::InvalidArgument("not base64"));
    if (!secret.ok()) {
      // Never sent unsigned: the attempt fails, and is tried again (the right
      // key may be installed meanwhile).
      AttemptRecord record;
      record.delivery_id = d.id;
      record.webhook_id = d.webhook_id;
      record.event_id = d.event_id;
      record.event_type = d.type;
      record.attempt = delivery.attempt;
      record.attempted_at = now;
      record.error = "cannot open the webhook's secret: " + secret.status().message();
      record.next_attempt_at = now + 60'000;
      RETURN_IF_ERROR(RecordAttempt(record));
      continue;
    }
    delivery.secret_key = std::move(secret).value();
    claim.deliveries.push_back(std::move(delivery));
  }
  return claim;
}

Status StoreOutbox::RecordAttempt(const AttemptRecord& r) {
  AttemptOutcome outcome;
  outcome.delivery_id = r.delivery_id;
  outcome.webhook_id = r.webhook_id;
  outcome.event_id = r.event_id;
  outcome.type = r.event_type;
  outcome.attempt = r.attempt;
  outcome.attempted_at = r.attempted_at;
  outcome.status = r.http_status;
  outcome.error = r.error;
  if (r.succeeded) {
    outcome.next = AttemptOutcome::Next::kDelivered;
  } else if (r.next_attempt_at) {
    outcome.next = AttemptOutcome::Next::kRetry;
    outcome.retry_in_ms = std::max<TimeMs>(0, *r.next_attempt_at - clock_->NowMs());
  } else {
    outcome.next = AttemptOutcome::Next::kFailed;
  }
  return store_->RecordDeliveryAttempt(outcome);
}

}  // namespace renderq::notify
