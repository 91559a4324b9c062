// LiveHub's ordering rules, with a publisher that records what it is given:
// first events, holds, thinned progress, the end of a job's streams.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "core/model/clock.h"
#include "notify/live_channels.h"
#include "notify/live_hub.h"

namespace renderq::notify {
namespace {

class RecordingPublisher final : public ChannelPublisher {
 public:
  struct Op {
    std::string what;  // "publish" or "delete"
    std::vector<std::string> channels;
    std::string message;
  };
  Status Publish(const std::vector<std::string>& channels, std::string_view message) override {
    ops.push_back({"publish", channels, std::string(message)});
    return Status::Ok();
  }
  Status Delete(const std::vector<std::string>& channels) override {
    ops.push_back({"delete", channels, ""});
    return Status::Ok();
  }
  static bool Has(const Op& op, const std::string& channel) {
    return std::find(op.channels.begin(), op.channels.end(), channel) != op.channels.end();
  }
  // The messages published to `channel`, in order.
  std::vector<std::string> On(const std::string& channel) const {
    std::vector<std::string> out;
    for (const Op& op : ops) {
      if (op.what == "publish" && Has(op, channel)) out.push_back(op.message);
    }
    return out;
  }
  bool Deleted(const std::string& channel) const {
    for (const Op& op : ops) {
      if (op.what == "delete" && Has(op, channel)) return true;
    }
    return false;
  }
  std::vector<Op> ops;
};

const std::string kJob = "3f1c2b7e-5d4a-4c1e-9b0f-2a6d8e4c1b3a";
const std::string kOther = "11111111-2222-4333-8444-555555555555";
const std::string kSid = "0123456789abcdef0123456789abcdef";

LiveEvent State(std::int64_t seq, const std::string& job, const std::string& state,
                std::int64_t owner = 1, const std::string& created = "2026-01-01T00:00:00.000Z") {
  LiveEvent e;
  e.seq = seq;
  e.kind = LiveEvent::Kind::kState;
  e.job_id = job;
  e.owner_id = owner;
  e.terminal = state == "succeeded" || state == "failed" || state == "canceled";
  e.data =
      nlohmann::ordered_json{
          {"id", job}, {"state", state}, {"progress", 0.0}, {"created_at", created}}
          .dump();
  return e;
}

LiveEvent Progress(std::int64_t seq, const std::string& job, double p, std::int64_t owner = 1) {
  LiveEvent e;
  e.seq = seq;
  e.kind = LiveEvent::Kind::kProgress;
  e.job_id = job;
  e.owner_id = owner;
  e.data = nlohmann::ordered_json{{"id", job}, {"progress", p}, {"eta_seconds", 10.0}}.dump();
  return e;
}

std::string Frame(std::int64_t id, const std::string& event, const std::string& data) {
  return "id: " + std::to_string(id) + "\nevent: " + event + "\ndata: " + data + "\n\n";
}

struct Fixture {
  ManualClock clock{1'000'000};
  RecordingPublisher publisher;
  LiveHub hub{&publisher, &clock};
};

const std::string kSid2 = "fedcba9876543210fedcba9876543210";
const std::string kSid3 = "00000000000000000000000000000003";

std::string Stream(const std::string& sid) { return SubscriberChannel(sid); }

BOOST_FIXTURE_TEST_SUITE(LiveHubTests, Fixture)

BOOST_AUTO_TEST_CASE(EventsReachOnlyTheStreamsThatMaySeeThem) {
  BOOST_TEST(hub.Open(kSid, JobChannel(kJob)).ok());
  BOOST_TEST(hub.Open(kSid2, OwnerChannel(1)).ok());
  BOOST_TEST(hub.Open(kSid3, OwnerChannel(2)).ok());
  for (const std::string& sid : {kSid, kSid2, kSid3}) hub.Subscribed(sid);
  publisher.ops.clear();
  hub.OnEvent(State(1, kJob, "queued"));
  hub.OnEvent(State(2, kOther, "queued"));
  const std::string a = Frame(1, "state", State(1, kJob, "queued").data);
  const std::string b = Frame(2, "state", State(2, kOther, "queued").data);
  BOOST_TEST(publisher.On(Stream(kSid)) == std::vector<std::string>{a});
  BOOST_TEST(publisher.On(Stream(kSid2)) == (std::vector<std::string>{a, b}));
  BOOST_TEST(publisher.On(Stream(kSid3)).empty());
  // One request per event for all its streams.
  BOOST_TEST(publisher.ops.size() == 2u);
}

BOOST_AUTO_TEST_CASE(AStreamStartsWithTheStateOfEachActiveJob) {
  hub.OnEvent(State(1, kOther, "queued", 1, "2026-01-01T00:00:02.000Z"));
  hub.OnEvent(State(2, kJob, "queued", 1, "2026-01-01T00:00:01.000Z"));
  hub.OnEvent(State(3, kJob, "running", 1, "2026-01-01T00:00:01.000Z"));
  hub.OnEvent(Progress(4, kJob, 0.5));
  BOOST_TEST(hub.Open(kSid, OwnerChannel(1)).ok());
  // Nothing before nchan has subscribed the stream: it would not be there to get it.
  BOOST_TEST(publisher.On(Stream(kSid)).empty());
  hub.Subscribed(kSid);
  const auto first = publisher.On(Stream(kSid));
  BOOST_REQUIRE(first.size() == 1u);  // one message: every first event at once
  auto running =
      nlohmann::ordered_json::parse(State(3, kJob, "running", 1, "2026-01-01T00:00:01.000Z").data);
  running["progress"] = 0.5;
  running["eta_seconds"] = 10.0;
  const auto queued =
      nlohmann::ordered_json::parse(State(1, kOther, "queued", 1, "2026-01-01T00:00:02.000Z").data);
  // Oldest submit first; the id is the stream's position.
  BOOST_TEST(first[0] == Frame(4, "state", running.dump()) + Frame(4, "state", queued.dump()));
}

BOOST_AUTO_TEST_CASE(WhatHappensBeforeTheSubscriptionIsInTheFirstEvents) {
  hub.OnEvent(State(1, kJob, "queued"));
  BOOST_TEST(hub.Open(kSid, JobChannel(kJob)).ok());
  hub.OnEvent(State(2, kJob, "running"));
  hub.Subscribed(kSid);
  hub.OnEvent(Progress(3, kJob, 0.25));
  BOOST_TEST(publisher.On(Stream(kSid)) ==
             (std::vector<std::string>{Frame(2, "state", State(2, kJob, "running").data),
                                       Frame(3, "progress", Progress(3, kJob, 0.25).data)}));
}

BOOST_AUTO_TEST_CASE(AStreamWithNothingToShowIsOpenedWithAComment) {
  BOOST_TEST(hub.Open(kSid, OwnerChannel(9)).ok());
  hub.Subscribed(kSid);
  BOOST_TEST(publisher.On(Stream(kSid)) == std::vector<std::string>{": stream open\n\n"});
}

BOOST_AUTO_TEST_CASE(TheTerminalStateEndsTheJobsStreamsNotTheOwners) {
  hub.OnEvent(State(1, kJob, "running"));
  BOOST_TEST(hub.Open(kSid, JobChannel(kJob)).ok());
  BOOST_TEST(hub.Open(kSid2, OwnerChannel(1)).ok());
  hub.Subscribed(kSid);
  hub.Subscribed(kSid2);
  publisher.ops.clear();
  hub.OnEvent(State(2, kJob, "succeeded"));
  BOOST_REQUIRE(publisher.ops.size() == 1u);
  // The terminal state reaches both streams; the job's stream is deleted a
  // moment later, once nchan has surely handed the state on.
  BOOST_TEST(publisher.ops[0].what == "publish");
  BOOST_TEST(publisher.ops[0].channels.size() == 2u);
  BOOST_TEST(hub.NextTickAt() == clock.NowMs() + LiveHubOptions{}.end_delay_ms);
  clock.Advance(LiveHubOptions{}.end_delay_ms - 1);
  hub.Tick();
  BOOST_TEST(publisher.ops.size() == 1u);
  clock.Advance(1);
  hub.Tick();
  BOOST_REQUIRE(publisher.ops.size() == 2u);
  BOOST_TEST(publisher.ops[1].what == "delete");
  BOOST_TEST(publisher.ops[1].channels == std::vector<std::string>{Stream(kSid)});
  BOOST_TEST(hub.streams() == 1u);
}

BOOST_AUTO_TEST_CASE(ALateSubscriberToAFinishedJobGetsItsEndThenTheStreamCloses) {
  hub.OnEvent(State(1, kJob, "running"));
  hub.OnEvent(State(2, kJob, "failed"));
  BOOST_TEST(hub.Open(kSid, JobChannel(kJob)).ok());
  hub.Subscribed(kSid);
  BOOST_TEST(publisher.On(Stream(kSid)).at(0) == Frame(2, "state", State(2, kJob, "failed").data));
  BOOST_TEST(!publisher.Deleted(Stream(kSid)));
  clock.Advance(LiveHubOptions{}.end_delay_ms);
  hub.Tick();
  BOOST_TEST(publisher.Deleted(Stream(kSid)));
  BOOST_TEST(hub.streams() == 0u);
}

BOOST_AUTO_TEST_CASE(ProgressIsThinnedToOnePerSecondLatestWins) {
  BOOST_TEST(hub.Open(kSid, JobChannel(kJob)).ok());
  hub.Subscribed(kSid);
  hub.OnEvent(State(1, kJob, "running"));
  hub.OnEvent(Progress(2, kJob, 0.1));
  hub.OnEvent(Progress(3, kJob, 0.2));
  hub.OnEvent(Progress(4, kJob, 0.3));
  BOOST_TEST(publisher.On(Stream(kSid)).size() == 3u);  // open, state, the first progress
  clock.Advance(999);
  hub.Tick();
  BOOST_TEST(publisher.On(Stream(kSid)).size() == 3u);
  BOOST_TEST(hub.NextTickAt() == clock.NowMs() + 1);
  clock.Advance(1);
  hub.Tick();
  BOOST_REQUIRE(publisher.On(Stream(kSid)).size() == 4u);
  BOOST_TEST(publisher.On(Stream(kSid))[3] == Frame(4, "progress", Progress(4, kJob, 0.3).data));
  // A state change drops a waiting progress: it would come after it, older.
  hub.OnEvent(Progress(5, kJob, 0.9));
  hub.OnEvent(State(6, kJob, "succeeded"));
  clock.Advance(5'000);
  hub.Tick();
  const auto got = publisher.On(Stream(kSid));
  BOOST_TEST(got.back().find("event: state") != std::string::npos);
  for (const auto& m : got) BOOST_TEST(m.find("0.9") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(StartEndsAnEarlierDispatchersStreamsAndTakesTheStates) {
  hub.Start({State(7, kJob, "running")});
  BOOST_REQUIRE(publisher.ops.size() == 1u);
  BOOST_TEST(publisher.ops[0].what == "delete");
  BOOST_TEST(publisher.ops[0].channels == std::vector<std::string>{"k"});
  BOOST_TEST(hub.Open(kSid, JobChannel(kJob)).ok());
  hub.Subscribed(kSid);
  BOOST_TEST(publisher.On(Stream(kSid)).at(0) == Frame(7, "state", State(7, kJob, "running").data));
}

BOOST_AUTO_TEST_CASE(GoneAndNeverSubscribedStreamsAreForgotten) {
  BOOST_TEST(hub.Open(kSid, OwnerChannel(1)).ok());
  BOOST_TEST(hub.Open(kSid2, OwnerChannel(1)).ok());
  hub.Subscribed(kSid);
  hub.Unsubscribed(kSid);
  BOOST_TEST(hub.streams() == 1u);
  clock.Advance(LiveHubOptions{}.subscribe_within_ms);
  hub.Tick();
  BOOST_TEST(hub.streams() == 0u);
  publisher.ops.clear();
  hub.OnEvent(State(1, kJob, "queued"));
  BOOST_TEST(publisher.ops.empty());
}

BOOST_AUTO_TEST_CASE(ManyStreamsArePublishedInBatches) {
  for (int i = 0; i < 250; ++i) {
    char sid[33];
    std::snprintf(sid, sizeof sid, "%032x", i);
    BOOST_TEST(hub.Open(sid, OwnerChannel(1)).ok());
    hub.Subscribed(sid);
  }
  publisher.ops.clear();
  hub.OnEvent(State(1, kJob, "queued"));
  BOOST_REQUIRE(publisher.ops.size() == 3u);
  BOOST_TEST(publisher.ops[0].channels.size() == 100u);
  BOOST_TEST(publisher.ops[2].channels.size() == 50u);
}

BOOST_AUTO_TEST_CASE(OnlyStreamChannelsOpen) {
  for (const char* bad : {"", "k", "s.0123", "j.not-a-uuid", "o.", "o.1x", "x.1"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!hub.Open(kSid, bad).ok()); }
  }
  BOOST_TEST(hub.Open(kSid, OwnerChannel(42)).ok());
  BOOST_TEST(!hub.Open(kSid, OwnerChannel(42)).ok());  // a sid opens once
}

BOOST_AUTO_TEST_CASE(KeepAlivesGoToEveryStream) {
  clock.Advance(LiveHubOptions{}.keepalive_ms);
  hub.Tick();
  BOOST_TEST(publisher.On("k") == std::vector<std::string>{": keep-alive\n\n"});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::notify
