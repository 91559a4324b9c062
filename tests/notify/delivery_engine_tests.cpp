// The delivery engine against real HTTP receivers on loopback: signed posts,
// retries with the same id, isolation from a receiver that hangs, redirects
// not followed, the connect-time address check, bounded response bodies.
#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <thread>

#include "core/model/clock.h"
#include "notify/delivery_engine.h"
#include "tests/notify/http_receiver.h"
#include "tests/notify/memory_outbox.h"

namespace renderq::notify {
namespace {

using testing::Answer;
using testing::Hang;
using testing::HttpReceiver;
using testing::MemoryOutbox;
using testing::ReceivedRequest;
using testing::Reply;

// Standard Webhooks' signature, computed here from the specification rather
// than with the code under test.
std::string ExpectedSignature(const std::string& key, const std::string& id,
                              const std::string& timestamp, const std::string& body) {
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char mac[32];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &size);
  unsigned char b64[64] = {};
  EVP_EncodeBlock(b64, mac, static_cast<int>(size));
  return "v1," + std::string(reinterpret_cast<char*>(b64));
}

Delivery MakeDelivery(std::int64_t id, const std::string& webhook, const std::string& url) {
  Delivery d;
  d.id = id;
  d.webhook_id = webhook;
  d.url = url;
  d.secret_key = std::string(32, static_cast<char>('a' + id % 26));
  d.event_id = "evt_" + std::to_string(id);
  d.event_type = "job.succeeded";
  d.body = R"({"type":"job.succeeded","n":)" + std::to_string(id) + "}";
  d.created_at = SystemClock::Instance()->NowMs();
  return d;
}

UrlPolicyOptions LoopbackAllowed() {
  UrlPolicyOptions o;
  o.allowed = {*IpRange::Parse("127.0.0.0/8")};
  o.allow_http = true;
  return o;
}

// Runs an engine on its own thread for the life of the object.
class RunningEngine {
 public:
  RunningEngine(MemoryOutbox* outbox, const WebhookUrlPolicy* policy, DeliveryEngineOptions options)
      : engine_(outbox, policy, SystemClock::Instance(), std::move(options)),
        thread_([this] { (void)engine_.Run(); }) {}
  ~RunningEngine() {
    engine_.Stop();
    thread_.join();
  }
  void Wake() { engine_.Wake(); }

 private:
  DeliveryEngine engine_;
  std::thread thread_;
};

DeliveryEngineOptions FastRetries() {
  DeliveryEngineOptions o;
  o.retry.first_delay_ms = 100;
  o.retry.max_delay_ms = 400;
  o.idle_poll_ms = 50;
  return o;
}

std::string Url(const HttpReceiver& r, const std::string& path = "/hook") {
  return "http://127.0.0.1:" + std::to_string(r.port()) + path;
}

BOOST_AUTO_TEST_SUITE(DeliveryEngineTests)

BOOST_AUTO_TEST_CASE(DeliversASignedPost) {
  HttpReceiver receiver([](const ReceivedRequest&, int) { return Reply(204); });
  const WebhookUrlPolicy policy(LoopbackAllowed());
  MemoryOutbox outbox;
  const Delivery d = MakeDelivery(1, "wh_a", Url(receiver));
  outbox.Add(d);
  const auto before = SystemClock::Instance()->NowMs() / 1000;
  RunningEngine engine(&outbox, &policy, FastRetries());
  BOOST_REQUIRE(outbox.WaitForRecords(1, 30));
  const auto after = SystemClock::Instance()->NowMs() / 1000;

  const ReceivedRequest req = receiver.requests().at(0);
  BOOST_TEST(req.method == "POST");
  BOOST_TEST(req.target == "/hook");
  BOOST_TEST(req.headers.at("content-type") == "application/json");
  BOOST_TEST(req.headers.at("webhook-id") == "evt_1");
  BOOST_TEST(req.body == d.body);
  const std::string timestamp = req.headers.at("webhook-timestamp");
  BOOST_TEST(std::stoll(timestamp) >= before);
  BOOST_TEST(std::stoll(timestamp) <= after);
  BOOST_TEST(req.headers.at("webhook-signature") ==
             ExpectedSignature(d.secret_key, "evt_1", timestamp, d.body));

  const AttemptRecord r = outbox.records().at(0);
  BOOST_TEST(r.succeeded);
  BOOST_TEST(r.http_status.value() == 204);
  BOOST_TEST(!r.error.has_value());
  BOOST_TEST(r.attempt == 1);
  BOOST_TEST(r.event_id == "evt_1");
}

BOOST_AUTO_TEST_CASE(RetriesWithTheSameIdUntilA2xx) {
  HttpReceiver receiver([](const ReceivedRequest&, int i) { return Reply(i < 2 ? 503 : 200); });
  const WebhookUrlPolicy policy(LoopbackAllowed());
  MemoryOutbox outbox;
  outbox.Add(MakeDelivery(7, "wh_a", Url(receiver)));
  RunningEngine engine(&outbox, &policy, FastRetries());
  BOOST_REQUIRE(outbox.WaitForRecords(3, 30));

  const auto requests = receiver.requests();
  BOOST_REQUIRE(requests.size() == 3u);
  for (const ReceivedRequest& req : requests) {
    BOOST_TEST(req.headers.at("webhook-id") == "evt_7");
    // Each attempt is signed afresh for its own timestamp.
    BOOST_TEST(req.headers.at("webhook-signature") ==
               ExpectedSignature(std::string(32, 'a' + 7), "evt_7",
                                 req.headers.at("webhook-timestamp"), req.body));
  }
  const auto records = outbox.records();
  for (int i = 0; i < 3; ++i) BOOST_TEST(records[i].attempt == i + 1);
  BOOST_TEST(records[0].http_status.value() == 503);
  BOOST_TEST(records[0].error.value() == "answered 503");
  BOOST_TEST(records[0].next_attempt_at.has_value());
  BOOST_TEST(records[2].succeeded);
}

BOOST_AUTO_TEST_CASE(GivesUpOnceTheRetryWindowIsOver) {
  HttpReceiver receiver([](const ReceivedRequest&, int) { return Reply(500); });
  const WebhookUrlPolicy policy(LoopbackAllowed());
  MemoryOutbox outbox;
  Delivery d = MakeDelivery(2, "wh_a", Url(receiver));
  d.created_at -= 25LL * 3'600'000;  // a day and an hour ago
  d.attempt = 30;
  outbox.Add(d);
  RunningEngine engine(&outbox, &policy, FastRetries());
  BOOST_REQUIRE(outbox.WaitForRecords(1, 30));
  const AttemptRecord r = outbox.records().at(0);
  BOOST_TEST(!r.succeeded);
  BOOST_TEST(!r.next_attempt_at.has_value());
}

// One webhook's receiver accepts and never answers; another webhook's five
// deliveries all complete while the first one still waits for its answer.
BOOST_AUTO_TEST_CASE(AReceiverThatHangsDelaysNoOtherWebhook) {
  HttpReceiver hanging([](const ReceivedRequest&, int) { return Hang(); });
  HttpReceiver quick([](const ReceivedRequest&, int) { return Reply(200); });
  const WebhookUrlPolicy policy(LoopbackAllowed());
  MemoryOutbox outbox;
  outbox.Add(MakeDelivery(1, "wh_dead", Url(hanging)));
  outbox.Add(MakeDelivery(2, "wh_dead", Url(hanging)));
  DeliveryEngineOptions options = FastRetries();
  options.attempt_timeout_ms = 4'000;
  RunningEngine engine(&outbox, &policy, options);
  BOOST_REQUIRE(hanging.WaitForRequests(1, 30));
  for (int i = 0; i < 5; ++i) {
    outbox.Add(MakeDelivery(10 + i, "wh_live", Url(quick)));
    engine.Wake();
  }
  BOOST_REQUIRE(outbox.WaitForRecords(6, 60));
  const auto records = outbox.records();
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(records[i].webhook_id == "wh_live");
    BOOST_TEST(records[i].succeeded);
  }
  BOOST_TEST(records[5].webhook_id == "wh_dead");
  BOOST_TEST(records[5].error.value() == "no answer within 4 s");
  BOOST_TEST(!records[5].http_status.has_value());
  // One delivery at a time per webhook: the second never started meanwhile.
  BOOST_TEST(hanging.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(RedirectsAreNotFollowed) {
  HttpReceiver target([](const ReceivedRequest&, int) { return Reply(200); });
  HttpReceiver redirecting([&](const ReceivedRequest&, int) {
    return Reply(302, "", {{"Location", Url(target, "/inside")}});
  });
  const WebhookUrlPolicy policy(LoopbackAllowed());
  MemoryOutbox outbox;
  outbox.Add(MakeDelivery(3, "wh_a", Url(redirecting)));
  RunningEngine engine(&outbox, &policy, FastRetries());
  BOOST_REQUIRE(outbox.WaitForRecords(1, 30));
  const AttemptRecord r = outbox.records().at(0);
  BOOST_TEST(!r.succeeded);
  BOOST_TEST(r.http_status.value() == 302);
  BOOST_TEST(r.error.value() == "answered 302; redirects are not followed");
  BOOST_TEST(target.connections() == 0);
}

// A name that resolves inward at delivery time (DNS rebinding): the address
// is checked as the socket opens, and nothing connects.
BOOST_AUTO_TEST_CASE(TheConnectTimeCheckRefusesANameThatTurnsInward) {
  HttpReceiver inside([](const ReceivedRequest&, int) { return Reply(200); });
  UrlPolicyOptions no_loopback;
  no_loopback.allow_http = true;
  const WebhookUrlPolicy policy(no_loopback);
  MemoryOutbox outbox;
  const std::string port = std::to_string(inside.port());
  outbox.Add(MakeDelivery(4, "wh_a", "http://rebind.example.com:" + port + "/hook"));
  DeliveryEngineOptions options = FastRetries();
  options.resolve = {"rebind.example.com:" + port + ":127.0.0.1"};
  RunningEngine engine(&outbox, &policy, options);
  BOOST_REQUIRE(outbox.WaitForRecords(2, 30));
  for (const AttemptRecord& r : outbox.records()) {
    BOOST_TEST(!r.succeeded);
    BOOST_TEST(!r.http_status.has_value());
    BOOST_TEST(r.error.value() == "refused to connect: 127.0.0.1 is a loopback address");
  }
  BOOST_TEST(inside.connections() == 0);
}

BOOST_AUTO_TEST_CASE(ResponseBodiesAreReadToABound) {
  HttpReceiver chatty(
      [](const ReceivedRequest&, int) { return Reply(200, std::string(32u << 20, 'x')); });
  const WebhookUrlPolicy policy(LoopbackAllowed());
  MemoryOutbox outbox;
  outbox.Add(MakeDelivery(5, "wh_a", Url(chatty)));
  RunningEngine engine(&outbox, &policy, FastRetries());
  BOOST_REQUIRE(outbox.WaitForRecords(1, 30));
  BOOST_TEST(outbox.records().at(0).succeeded);
  // The engine hung up long before 32 MiB: the receiver could not send them all.
  for (int i = 0; i < 200 && chatty.answers_cut_short() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(chatty.answers_cut_short() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::notify
