// The queue's rules as pure functions: a table per rule, values a reader can
// check by hand.
#include <boost/test/unit_test.hpp>

#include "core/model/queue_rules.h"

namespace renderq {
namespace {

QueueLoad Load(std::int64_t queued, double queued_cost, double running_remaining,
               std::optional<double> best, double live) {
  QueueLoad load;
  load.queued = queued;
  load.queued_cost = queued_cost;
  if (queued > 0) {
    load.head_seq = 1;
    load.head_cost = queued_cost / static_cast<double>(queued);
  }
  load.running_remaining = running_remaining;
  load.best_units_per_second = best;
  load.live_units_per_second = live;
  return load;
}

BOOST_AUTO_TEST_SUITE(QueueRulesTests)

BOOST_AUTO_TEST_CASE(RatesFallBackFromLiveWorkersToTheBestToTheDefault) {
  QueueRules rules;
  rules.default_units_per_second = 10;
  struct Row {
    const char* what;
    std::optional<double> best;
    double live;
    double one_worker, drain;
  };
  const Row rows[] = {
      {"nobody measured yet", std::nullopt, 0, 10, 10},
      {"measured, nobody live", 100, 0, 100, 100},
      {"two live workers", 100, 180, 100, 180},
      {"a nonsense measurement", -1, 0, 10, 10},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.what) {
      const QueueLoad load = Load(0, 0, 0, row.best, row.live);
      BOOST_TEST(UnitsPerSecond(load, rules) == row.one_worker);
      BOOST_TEST(DrainRate(load, rules) == row.drain);
    }
  }
}

BOOST_AUTO_TEST_CASE(EtasCountWhatIsAheadAndWhatRuns) {
  QueueRules rules;
  const QueueLoad load = Load(3, 300, 50, 100, 100);
  BOOST_TEST(EstimatedWaitSeconds(load, rules) == 3.5);
  BOOST_TEST(QueuedEtaSeconds(/*cost_ahead=*/100, /*own_cost=*/100, load, rules) == 2.5);
  Job running;
  running.state = JobState::kRunning;
  running.cost_units = 400;
  running.progress = 0;
  BOOST_TEST(RunningEtaSeconds(running, 10'000, load, rules) == 4.0);  // cost at one worker's rate
  running.progress = 0.25;
  running.started_at = 8'000;
  BOOST_TEST(RunningEtaSeconds(running, 10'000, load, rules) == 6.0);  // 2 s for a quarter
}

BOOST_AUTO_TEST_CASE(AdmissionRefusesWithARetryAfterFromTheDrain) {
  QueueRules rules;
  rules.limits.max_queued = 4;
  rules.limits.max_queued_per_owner = 2;
  rules.limits.max_drain_seconds = 10;
  rules.limits.max_render_seconds = 60;
  struct Row {
    const char* what;
    QueueLoad load;
    OwnerLoad owner;
    double cost;
    Admission::Kind kind;
    double retry_after;
  };
  const Row rows[] = {
      {"room", Load(1, 100, 0, 100, 100), {1, 100}, 100, Admission::Kind::kAdmit, 0},
      {"owner at its limit: until its first job is done",
       Load(3, 300, 50, 100, 100),
       {2, 250},
       100,
       Admission::Kind::kOwnerQueueFull,
       3},
      {"queue full: until the head is done",
       Load(4, 400, 0, 100, 100),
       {0, 0},
       100,
       Admission::Kind::kQueueFull,
       1},
      {"drain bound: until it drops below the bound",
       Load(2, 800, 150, 100, 100),
       {0, 0},
       200,
       Admission::Kind::kQueueFull,
       2},
      {"never under a second", Load(4, 4, 0, 100, 100), {0, 0}, 1, Admission::Kind::kQueueFull, 1},
      {"over the run-time limit on one worker: refused before any other limit, no Retry-After",
       Load(4, 400, 0, 100, 100),
       {2, 250},
       6100,
       Admission::Kind::kTooExpensive,
       0},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.what) {
      const Admission a = Admit(row.load, row.owner, row.cost, rules);
      BOOST_TEST(static_cast<int>(a.kind) == static_cast<int>(row.kind));
      BOOST_TEST(a.retry_after_seconds == row.retry_after);
    }
  }
}

BOOST_AUTO_TEST_CASE(ALostLeaseCountsOnlyAttemptsWithoutProgressTowardWorkerLost) {
  QueueRules rules;  // 3 stalled attempts
  struct Row {
    const char* what;
    LeaseLoss loss;
    JobState next;
    int attempts, stalled;
  };
  const Row rows[] = {
      {"first loss, no checkpoint", {0, 0, false, 0, 0, true}, JobState::kQueued, 1, 1},
      {"third loss without progress", {2, 2, false, 0, 0, true}, JobState::kFailed, 3, 3},
      {"third loss, but it saved a newer checkpoint",
       {2, 2, false, 300, 100, true},
       JobState::kQueued,
       3,
       2},
      {"tenth loss, every one with progress",
       {9, 0, false, 900, 800, true},
       JobState::kQueued,
       10,
       0},
      {"a checkpoint no newer than the attempt's start is no progress",
       {2, 2, false, 100, 100, true},
       JobState::kFailed,
       3,
       3},
      {"handed back on purpose: nothing spent",
       {2, 2, false, 0, 0, false},
       JobState::kQueued,
       2,
       2},
      {"a cancel waiting for the lost worker wins",
       {2, 2, true, 0, 0, true},
       JobState::kCanceled,
       3,
       3},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.what) {
      const LeaseEnd end = LeaseEndFor(row.loss, "gpu0", rules);
      BOOST_TEST(JobStateName(end.next) == JobStateName(row.next));
      BOOST_TEST(end.attempts == row.attempts);
      BOOST_TEST(end.stalled_attempts == row.stalled);
      BOOST_TEST(end.error_code.has_value() == (row.next == JobState::kFailed));
      if (end.error_code) BOOST_TEST(*end.error_code == "worker_lost");
    }
  }
}

BOOST_AUTO_TEST_CASE(SelfFenceLeavesAMarginBeforeTheLeaseCanPass) {
  struct Row {
    TimeMs lease;
    TimeMs fence;
  };
  const Row rows[] = {
      {15000, 12000},  // the default lease: a fifth of it
      {2000, 1500},    // short leases (tests): half a second
      {800, 400},      // under a second: half of it
      {0, 0},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT("lease " << row.lease) {
      BOOST_TEST(SelfFenceAfterMs(row.lease) == row.fence);
      BOOST_TEST(SelfFenceAfterMs(row.lease) <= row.lease);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
