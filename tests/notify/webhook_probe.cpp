// renderq_webhook_probe: registers one webhook URL as the service would
// (WebhookUrlPolicy with the system's resolver and this host's addresses)
// and, if it is accepted, delivers one signed event to it with the delivery
// engine; prints what happened as one JSON object. For the SSRF test, which
// runs it inside a network namespace of its own with listeners at the
// addresses a webhook must never reach.
//
//   renderq_webhook_probe [--allow CIDR]... [--allow-http] URL
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/model/clock.h"
#include "notify/delivery_engine.h"
#include "notify/local_addresses.h"
#include "notify/url_policy.h"
#include "tests/notify/memory_outbox.h"

int main(int argc, char** argv) {
  using namespace renderq;
  using namespace renderq::notify;
  UrlPolicyOptions options;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--allow" && i + 1 < argc) {
      const auto range = IpRange::Parse(argv[++i]);
      if (!range) {
        std::cerr << "bad range " << argv[i] << "\n";
        return 2;
      }
      options.allowed.push_back(*range);
    } else if (arg == "--allow-http") {
      options.allow_http = true;
    } else {
      url = arg;
    }
  }
  options.own = LocalInterfaceAddresses();
  const WebhookUrlPolicy policy(options);
  nlohmann::json out;
  const auto checked = policy.CheckRegistration(url, SystemResolver());
  out["registered"] = checked.ok();
  if (!checked.ok()) {
    out["problem"] = checked.status().message();
    std::cout << out.dump() << std::endl;
    return 0;
  }
  testing::MemoryOutbox outbox;
  Delivery d;
  d.id = 1;
  d.webhook_id = "wh_probe";
  d.url = checked->url;
  d.secret_key = std::string(32, 'k');
  d.event_id = "evt_probe";
  d.event_type = "job.succeeded";
  d.body = R"({"type":"job.succeeded"})";
  d.created_at = SystemClock::Instance()->NowMs();
  outbox.Add(d);
  DeliveryEngineOptions engine_options;
  engine_options.attempt_timeout_ms = 3'000;
  DeliveryEngine engine(&outbox, &policy, SystemClock::Instance(), engine_options);
  std::thread runner([&] { (void)engine.Run(); });
  outbox.WaitForRecords(1, 30);
  engine.Stop();
  runner.join();
  const auto records = outbox.records();
  if (!records.empty()) {
    const AttemptRecord& r = records[0];
    out["attempt"] = {{"succeeded", r.succeeded},
                      {"status", r.http_status ? nlohmann::json(*r.http_status) : nullptr},
                      {"error", r.error ? nlohmann::json(*r.error) : nullptr}};
  }
  std::cout << out.dump() << std::endl;
  return 0;
}
