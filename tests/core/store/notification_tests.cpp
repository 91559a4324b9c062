// The store's notification contract (docs/notifications.md): every change of a
// job's state is an event of the outbox, in commit order, with the job as it
// then was; the change that is a webhook event queues a delivery to each of
// the owner's webhooks that asked for it; deliveries are claimed one per
// webhook, under a lease, and their attempts recorded. Runs on every backend.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "tests/core/store/store_fixture.h"

namespace renderq::testing {
namespace {

// A sealed secret's stand-in: the store keeps the text as it is given.
const std::string kSealed(136, 'A');

std::vector<JobEvent> Events(JobStore& store, std::int64_t after = 0) {
  auto events = store.JobEventsAfter(after, 1000);
  BOOST_REQUIRE_MESSAGE(events.ok(), events.status().ToString());
  return *events;
}

std::vector<std::string> States(const std::vector<JobEvent>& events) {
  std::vector<std::string> out;
  for (const JobEvent& e : events) out.push_back(JobStateName(e.state));
  return out;
}

}  // namespace

struct NotificationFixture : StoreFixture {
  Webhook AddWebhook(std::int64_t owner, const std::string& id, int events) {
    NewWebhook w;
    w.id = id;
    w.owner_id = owner;
    w.url = "https://hooks.example.com/" + id;
    w.events = events;
    w.secret_sealed = kSealed;
    auto made = store->CreateWebhook(w);
    BOOST_REQUIRE_MESSAGE(made.ok(), made.status().ToString());
    return *made;
  }

  DeliveryClaim ClaimDue(std::size_t limit = 10, std::vector<std::string> busy = {}) {
    auto claim = store->ClaimDeliveries(limit, busy, /*lease_ms=*/30'000);
    BOOST_REQUIRE_MESSAGE(claim.ok(), claim.status().ToString());
    return *claim;
  }

  void Record(const DueDelivery& d, AttemptOutcome::Next next, std::optional<int> status,
              TimeMs retry_in_ms = 0) {
    AttemptOutcome o;
    o.delivery_id = d.id;
    o.webhook_id = d.webhook_id;
    o.event_id = d.event_id;
    o.type = d.type;
    o.attempt = d.attempts + 1;
    o.attempted_at = clock.NowMs();
    o.status = status;
    if (next != AttemptOutcome::Next::kDelivered) o.error = "answered 503";
    o.next = next;
    o.retry_in_ms = retry_in_ms;
    BOOST_REQUIRE(store->RecordDeliveryAttempt(o).ok());
  }
};

const std::string kHookA = "wh_" + std::string(32, 'a');
const std::string kHookB = "wh_" + std::string(32, 'b');
const std::string kHookC = "wh_" + std::string(32, 'c');

BOOST_FIXTURE_TEST_SUITE(StoreNotifications, NotificationFixture)

BOOST_AUTO_TEST_CASE(EveryChangeOfStateIsAnEventInCommitOrder) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  Job b = Submit(owner);
  ClaimedJob claimed = Claim();
  clock.Advance(1000);
  BOOST_REQUIRE(store->Finish(claimed.lease, Finished(Bytes("png"), "cpu", 1, 1, "\"e\"")).ok());
  BOOST_REQUIRE(store->Cancel(owner, b.id).ok());
  BOOST_REQUIRE(store->Retry(owner, b.id).ok());
  const std::vector<JobEvent> events = Events(*store);
  BOOST_TEST(States(events) == (std::vector<std::string>{"queued", "queued", "running", "succeeded",
                                                         "canceled", "queued"}));
  std::set<std::string> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) BOOST_TEST(events[i].seq > events[i - 1].seq);
    BOOST_TEST(events[i].owner_id == owner);
    BOOST_TEST(events[i].id.size() == 36u);
    BOOST_TEST(events[i].id.starts_with("evt_"));
    ids.insert(events[i].id);
    // The job object as the change left it.
    const auto job = nlohmann::json::parse(events[i].job_json);
    BOOST_TEST(job["state"].get<std::string>() == JobStateName(events[i].state));
    BOOST_TEST(job["id"].get<std::string>() == events[i].job_id);
  }
  BOOST_TEST(ids.size() == events.size());
  BOOST_TEST(events[0].job_id == a.id);
  BOOST_TEST(nlohmann::json::parse(events[0].job_json)["position"].get<int>() == 1);
  BOOST_TEST(nlohmann::json::parse(events[3].job_json)["device"].get<std::string>() == "cpu");
  BOOST_TEST(Events(*store, events[3].seq).size() == 2u);
}

BOOST_AUTO_TEST_CASE(LostLeasesAndFailuresAreEventsToo) {
  options.rules.lease_timeout_ms = 10'000;
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  Claim("w1");
  clock.Advance(11'000);  // the lease lapses; the next claim requeues, then takes it again
  ClaimedJob again = Claim("w2");
  BOOST_TEST(again.job.id == a.id);
  BOOST_REQUIRE(store->Fail(again.lease, "render_failed", "broken").ok());
  BOOST_TEST(States(Events(*store)) ==
             (std::vector<std::string>{"queued", "running", "queued", "running", "failed"}));
}

BOOST_AUTO_TEST_CASE(ReadActiveJobsIsTheQueueAndWhereTheOutboxStood) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Submit(owner);
  Submit(owner);
  Claim();
  auto active = store->ReadActiveJobs();
  BOOST_REQUIRE(active.ok());
  BOOST_TEST(active->jobs.size() == 2u);
  BOOST_TEST(active->last_event == Events(*store).back().seq);
  for (const Job& job : active->jobs) {
    BOOST_TEST(!IsTerminal(job.state));
    BOOST_TEST(job.eta_seconds.has_value());
  }
}

BOOST_AUTO_TEST_CASE(AWebhookEventQueuesADeliveryToTheOwnersWebhooksThatAskedForIt) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  const std::int64_t bob = NewOwner("bob");
  AddWebhook(alice, kHookA, kAllWebhookEvents);
  AddWebhook(alice, kHookB, kEventJobSucceeded);
  AddWebhook(bob, kHookC, kAllWebhookEvents);
  Submit(alice);  // queued: no webhook event
  BOOST_TEST(ClaimDue().deliveries.empty());
  ClaimedJob claimed = Claim();  // job.started: A only
  DeliveryClaim first = ClaimDue();
  BOOST_REQUIRE(first.deliveries.size() == 1u);
  const DueDelivery& started = first.deliveries[0];
  BOOST_TEST(started.webhook_id == kHookA);
  BOOST_TEST(started.type == "job.started");
  BOOST_TEST(started.url == "https://hooks.example.com/" + kHookA);
  BOOST_TEST(started.secret_sealed == kSealed);
  BOOST_TEST(started.attempts == 0);
  BOOST_TEST(nlohmann::json::parse(started.job_json)["state"].get<std::string>() == "running");
  BOOST_TEST(started.event_created_at == clock.NowMs());
  Record(started, AttemptOutcome::Next::kDelivered, 200);
  BOOST_REQUIRE(store->Finish(claimed.lease, Finished(Bytes("png"), "cpu", 1, 1, "\"e\"")).ok());
  DeliveryClaim done = ClaimDue();
  std::set<std::string> hooks;
  for (const DueDelivery& d : done.deliveries) {
    hooks.insert(d.webhook_id);
    BOOST_TEST(d.type == "job.succeeded");
  }
  BOOST_TEST(hooks == (std::set<std::string>{kHookA, kHookB}));  // never bob's
}

BOOST_AUTO_TEST_CASE(OneDeliveryPerWebhookAtATimeUnderALease) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  AddWebhook(alice, kHookA, kAllWebhookEvents);
  Submit(alice);
  Submit(alice);
  Claim("w1");
  Claim("w2");  // two job.started for the same webhook
  DeliveryClaim first = ClaimDue();
  BOOST_REQUIRE(first.deliveries.size() == 1u);
  BOOST_TEST(!first.next_due_at.has_value());  // the other waits for this webhook
  BOOST_TEST(ClaimDue().deliveries.empty());   // claimed: no second one meanwhile
  // A dispatcher that died: the lease runs out, the same delivery is due again.
  clock.Advance(30'000);
  DeliveryClaim again = ClaimDue();
  BOOST_REQUIRE(again.deliveries.size() == 1u);
  BOOST_TEST(again.deliveries[0].id == first.deliveries[0].id);
  BOOST_TEST(again.deliveries[0].event_id == first.deliveries[0].event_id);
  // Busy in this dispatcher: not handed out.
  clock.Advance(30'000);
  BOOST_TEST(ClaimDue(10, {kHookA}).deliveries.empty());
}

BOOST_AUTO_TEST_CASE(AttemptsAreRecordedAndRetriesComeDue) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  AddWebhook(alice, kHookA, kAllWebhookEvents);
  Submit(alice);
  Claim();
  DueDelivery d = ClaimDue().deliveries.at(0);
  Record(d, AttemptOutcome::Next::kRetry, 503, /*retry_in_ms=*/5'000);
  DeliveryClaim waiting = ClaimDue();
  BOOST_TEST(waiting.deliveries.empty());
  BOOST_TEST(waiting.next_due_at.value() == clock.NowMs() + 5'000);
  clock.Advance(5'000);
  DueDelivery retry = ClaimDue().deliveries.at(0);
  BOOST_TEST(retry.id == d.id);
  BOOST_TEST(retry.attempts == 1);
  Record(retry, AttemptOutcome::Next::kDelivered, 204);
  clock.Advance(100'000);
  BOOST_TEST(ClaimDue().deliveries.empty());
  auto log = store->ListDeliveryAttempts(alice, kHookA, 100);
  BOOST_REQUIRE(log.ok());
  BOOST_REQUIRE(log->size() == 2u);
  BOOST_TEST((*log)[0].attempt == 2);  // newest first
  BOOST_TEST((*log)[0].status.value() == 204);
  BOOST_TEST(!(*log)[0].error.has_value());
  BOOST_TEST((*log)[1].attempt == 1);
  BOOST_TEST((*log)[1].error.value() == "answered 503");
  BOOST_TEST((*log)[1].event_id == d.event_id);
  BOOST_TEST((*log)[1].type == "job.started");
}

BOOST_AUTO_TEST_CASE(WebhooksBelongToTheirOwner) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  const std::int64_t bob = NewOwner("bob");
  AddWebhook(alice, kHookA, kEventJobFailed | kEventJobCanceled);
  clock.Advance(1);
  AddWebhook(alice, kHookB, kEventJobStarted);
  auto listed = store->ListWebhooks(alice);
  BOOST_REQUIRE(listed.ok());
  BOOST_REQUIRE(listed->size() == 2u);
  BOOST_TEST((*listed)[0].id == kHookA);  // oldest first
  BOOST_TEST((*listed)[0].events == (kEventJobFailed | kEventJobCanceled));
  BOOST_TEST(store->ListWebhooks(bob)->empty());
  BOOST_TEST((store->DeleteWebhook(bob, kHookA).code() == StatusCode::kNotFound));
  BOOST_TEST(
      (store->ListDeliveryAttempts(bob, kHookA, 10).status().code() == StatusCode::kNotFound));
  // A deleted webhook's pending deliveries go with it.
  Submit(alice);
  Claim();
  BOOST_TEST(ClaimDue().deliveries.size() == 1u);
  BOOST_TEST(store->DeleteWebhook(alice, kHookB).ok());
  clock.Advance(60'000);
  BOOST_TEST(ClaimDue().deliveries.empty());
  BOOST_TEST((store->DeleteWebhook(alice, kHookB).code() == StatusCode::kNotFound));
}

BOOST_AUTO_TEST_CASE(AnOwnerHasAtMostTwentyWebhooks) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  for (int i = 0; i < kMaxWebhooksPerOwner; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "wh_%032x", i);
    AddWebhook(alice, id, kAllWebhookEvents);
  }
  NewWebhook extra;
  extra.id = "wh_" + std::string(32, 'f');
  extra.owner_id = alice;
  extra.url = "https://hooks.example.com/x";
  extra.events = kAllWebhookEvents;
  extra.secret_sealed = kSealed;
  BOOST_TEST((store->CreateWebhook(extra).status().code() == StatusCode::kResourceExhausted));
}

BOOST_AUTO_TEST_CASE(RetryIsTheOwnersAndOnlyForFailedOrCanceledJobs) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  const std::int64_t bob = NewOwner("bob");
  Job a = Submit(alice);
  BOOST_TEST((store->Retry(alice, a.id).status().code() == StatusCode::kConflict));
  BOOST_REQUIRE(store->Cancel(alice, a.id).ok());
  BOOST_TEST((store->Retry(bob, a.id).status().code() == StatusCode::kNotFound));
  Job b = Submit(alice);
  auto retried = store->Retry(alice, a.id);
  BOOST_REQUIRE(retried.ok());
  BOOST_TEST(JobStateName(retried->state) == "queued");
  BOOST_TEST(retried->attempts == 0);
  BOOST_TEST(retried->seq > b.seq);  // at the end of the line
  BOOST_TEST(retried->position.value() == 2);
}

BOOST_AUTO_TEST_CASE(TwoDispatchersNeverClaimTheSameDelivery) {
  Open();
  const std::int64_t alice = NewOwner("alice");
  const int hooks = 12;
  for (int i = 0; i < hooks; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "wh_%032x", i);
    AddWebhook(alice, id, kAllWebhookEvents);
  }
  Submit(alice);
  Claim();
  // Two more stores on the same database, as if on two hosts, claiming at once.
  auto second = OpenJobStore(db(), options);
  auto third = OpenJobStore(db(), options);
  BOOST_REQUIRE(second.ok());
  BOOST_REQUIRE(third.ok());
  std::vector<std::int64_t> got[2];
  std::thread t1([&] {
    for (int i = 0; i < 6; ++i) {
      auto c = (*second)->ClaimDeliveries(2, {}, 30'000);
      if (c.ok()) {
        for (const DueDelivery& d : c->deliveries) got[0].push_back(d.id);
      }
    }
  });
  std::thread t2([&] {
    for (int i = 0; i < 6; ++i) {
      auto c = (*third)->ClaimDeliveries(2, {}, 30'000);
      if (c.ok()) {
        for (const DueDelivery& d : c->deliveries) got[1].push_back(d.id);
      }
    }
  });
  t1.join();
  t2.join();
  std::set<std::int64_t> all(got[0].begin(), got[0].end());
  for (std::int64_t id : got[1]) BOOST_TEST(all.insert(id).second);
  BOOST_TEST(all.size() == static_cast<std::size_t>(hooks));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
