// Sends webhook deliveries with libcurl's multi interface: many at once from
// one thread, each bounded in time and size, each signed as Standard Webhooks.
//
// Isolation: at most one delivery per webhook is in flight, and at most
// `max_in_flight` in all, so a receiver that hangs holds one slot for at most
// `attempt_timeout_ms` and delays no other webhook. At least once: a delivery
// is claimed from the outbox under a lease and recorded after its attempt; a
// dispatcher that dies in between leaves the lease to run out, and the
// delivery is tried again. Retries follow retry_schedule.h.
//
// Every connection goes through WebhookUrlPolicy::RefusalFor at connect time
// (CURLOPT_OPENSOCKETFUNCTION), redirects are never followed, no proxy from
// the environment is used, and a response body is read to at most
// `max_response_bytes`.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/clock.h"
#include "core/model/status.h"
#include "notify/delivery_outbox.h"
#include "notify/retry_schedule.h"
#include "notify/url_policy.h"

namespace renderq::notify {

struct DeliveryEngineOptions {
  std::size_t max_in_flight = 32;      // deliveries at once, over all webhooks
  TimeMs attempt_timeout_ms = 10'000;  // SPEC: a 2xx within 10 s is a success
  TimeMs connect_timeout_ms = 5'000;
  TimeMs lease_ms = 30'000;     // a claim outlives the attempt's timeout
  TimeMs idle_poll_ms = 1'000;  // ask the outbox at least this often
  std::size_t max_response_bytes = 64 * 1024;
  RetryPolicy retry;
  std::string ca_file;               // CURLOPT_CAINFO; empty: the system's store
  std::vector<std::string> resolve;  // CURLOPT_RESOLVE entries ("host:port:address")
  std::string user_agent = "renderq-webhooks/1";
};

class DeliveryEngine {
 public:
  using Random = std::function<double()>;  // uniform in [0, 1)
  using Log = std::function<void(std::string_view)>;

  // `outbox`, `policy` and `clock` must outlive the engine.
  DeliveryEngine(DeliveryOutbox* outbox, const WebhookUrlPolicy* policy, const Clock* clock,
                 DeliveryEngineOptions options, Random random = nullptr, Log log = nullptr);
  ~DeliveryEngine();
  DeliveryEngine(const DeliveryEngine&) = delete;
  DeliveryEngine& operator=(const DeliveryEngine&) = delete;

  // Delivers until Stop(); transfers still in flight then are abandoned
  // unrecorded (their leases run out and they are tried again).
  Status Run();
  // Thread-safe; Run() returns within a moment.
  void Stop();
  // Thread-safe: deliveries may have become due (a commit added some).
  void Wake();

 private:
  struct Transfer;
  void StartTransfer(Delivery delivery, TimeMs now);
  void FinishTransfer(Transfer* transfer, int curl_code, TimeMs now);
  void Claim(TimeMs now);

  DeliveryOutbox* outbox_;
  const WebhookUrlPolicy* policy_;
  const Clock* clock_;
  DeliveryEngineOptions options_;
  Random random_;
  Log log_;
  void* multi_ = nullptr;  // CURLM*
  std::atomic<bool> stop_{false};
  std::atomic<bool> woken_{true};
  TimeMs next_claim_at_ = 0;
  std::map<void*, std::unique_ptr<Transfer>> in_flight_;  // by easy handle
};

}  // namespace renderq::notify
