// The store contract, one thread at a time: the job life cycle, leases,
// cancel, idempotency, limits, tokens, images and administration. Runs on
// every backend the build has (tests/core/store/test_database.h).
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/core/store/store_fixture.h"

namespace renderq::testing {

BOOST_FIXTURE_TEST_SUITE(StoreJobs, StoreFixture)

BOOST_AUTO_TEST_CASE(SubmitReportsPositionAndEta) {
  options.rules.default_units_per_second = 1000.0;
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  Job b = Submit(owner);
  BOOST_TEST(a.position.value() == 1);
  BOOST_TEST(b.position.value() == 2);
  BOOST_TEST(b.seq > a.seq);
  BOOST_TEST(*b.eta_seconds == 2 * b.cost_units / 1000.0);
  Job read = Get(b.id);
  BOOST_TEST(read.position.value() == 2);
  BOOST_TEST(*read.eta_seconds == *b.eta_seconds);
  BOOST_TEST(read.created_at == kStart);
  BOOST_TEST(!read.started_at.has_value());
}

BOOST_AUTO_TEST_CASE(ClaimTakesTheOldestAndFinishRecordsTheRun) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  Job b = Submit(owner);
  ClaimedJob claimed = Claim();
  BOOST_TEST(claimed.job.id == a.id);
  BOOST_TEST(claimed.input_json == "{}");
  BOOST_TEST(Get(b.id).position.value() == 1);
  clock.Advance(1000);
  auto cancel = store->Heartbeat(claimed.lease, 0.5);
  BOOST_REQUIRE(cancel.ok());
  BOOST_TEST(!*cancel);
  Job running = Get(a.id);
  BOOST_TEST(running.eta_seconds.value() == 1.0);  // half done after 1 s
  const std::vector<std::uint8_t> png = Bytes("\x89PNG result of a");
  BOOST_REQUIRE(store->Finish(claimed.lease, Finished(png, "cpu", 2.25, 1234.5, "\"etag\"")).ok());
  Job done = Get(a.id);
  BOOST_TEST(JobStateName(done.state) == "succeeded");
  BOOST_TEST(done.progress == 1.0);
  BOOST_TEST(done.device.value() == "cpu");
  BOOST_TEST(done.render_seconds.value() == 2.25);
  BOOST_TEST(done.samples_per_second.value() == 1234.5);
  BOOST_TEST(done.result_etag.value() == "\"etag\"");
  BOOST_TEST(!done.position.has_value());
  auto ids = store->SucceededJobIds();
  BOOST_REQUIRE(ids.ok());
  BOOST_TEST(ids->size() == 1u);
  // The result is stored with the job, wherever the backend keeps it.
  auto result = store->ReadArtifact(a.id, ArtifactKind::kResult);
  BOOST_REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  BOOST_TEST(ArtifactBytes(*result) == png, boost::test_tools::per_element());
  BOOST_TEST(store->ReadArtifact(b.id, ArtifactKind::kResult).status().code() ==
             StatusCode::kNotFound);
}

BOOST_AUTO_TEST_CASE(LapsedHeartbeatRequeuesAtTheOriginalPlaceThenFails) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  Job b = Submit(owner);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    BOOST_TEST_CONTEXT("attempt " << attempt) {
      ClaimedJob claimed = Claim("w" + std::to_string(attempt));
      BOOST_TEST(claimed.job.id == a.id);  // still first in line
      clock.Advance(options.rules.lease_timeout_ms - 1);
      BOOST_TEST(store->RequeueLapsed().value() == 0);  // not lapsed yet
      clock.Advance(2);
      BOOST_TEST(store->RequeueLapsed().value() == 1);
      Job after = Get(a.id);
      BOOST_TEST(after.attempts == attempt);
      // The old lease is dead: it can no longer finish or heartbeat.
      BOOST_TEST(store->Heartbeat(claimed.lease, 0.5).status().code() == StatusCode::kConflict);
      if (attempt < 3) {
        BOOST_TEST(JobStateName(after.state) == "queued");
        BOOST_TEST(after.seq == a.seq);
        BOOST_TEST(after.position.value() == 1);
        BOOST_TEST(!after.started_at.has_value());
      } else {
        BOOST_TEST(JobStateName(after.state) == "failed");
        BOOST_TEST(after.error_code.value() == "worker_lost");
      }
    }
  }
  BOOST_TEST(Claim().job.id == b.id);
}

BOOST_AUTO_TEST_CASE(AnOldLeaseCannotFinishAReclaimedJob) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Submit(owner);
  ClaimedJob first = Claim("old");
  clock.Advance(options.rules.lease_timeout_ms + 1);
  ClaimedJob second = Claim("new");  // requeues the lapsed one, then claims it again
  BOOST_TEST(second.job.id == first.job.id);
  BOOST_TEST(second.lease.lease_id > first.lease.lease_id);
  const std::vector<std::uint8_t> png = Bytes("png");
  const FinishRequest finish = Finished(png, "cpu", 1, 1, "e");
  BOOST_TEST(store->Finish(first.lease, finish).code() == StatusCode::kConflict);
  BOOST_TEST(store->Fail(first.lease, "render_failed", "x").code() == StatusCode::kConflict);
  BOOST_TEST(store->MarkCanceled(first.lease).code() == StatusCode::kConflict);
  BOOST_TEST(store->Release(first.lease, true).code() == StatusCode::kConflict);
  BOOST_TEST(store->SaveCheckpoint(first.lease, Bytes("x"), 1).code() == StatusCode::kConflict);
  BOOST_TEST(store->Finish(second.lease, finish).ok());
  BOOST_TEST(store->Finish(second.lease, finish).code() == StatusCode::kConflict);  // only once
}

BOOST_AUTO_TEST_CASE(ReleaseKeepsThePlaceAndTheCheckpoint) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  Submit(owner);
  ClaimedJob claimed = Claim();
  BOOST_REQUIRE(store->SaveCheckpoint(claimed.lease, Bytes("state after 8"), 8).ok());
  BOOST_REQUIRE(store->Release(claimed.lease, /*spend_attempt=*/false).ok());
  Job after = Get(a.id);
  BOOST_TEST(JobStateName(after.state) == "queued");
  BOOST_TEST(after.attempts == 0);
  BOOST_TEST(after.position.value() == 1);
  BOOST_TEST(after.progress == 0.5);
  ClaimedJob again = Claim();
  BOOST_TEST(again.job.id == a.id);
  BOOST_TEST(again.checkpoint_samples == 8);
  auto state = store->LoadCheckpoint(again.lease);
  BOOST_REQUIRE(state.ok());
  BOOST_REQUIRE(state->has_value());
  BOOST_TEST(**state == Bytes("state after 8"), boost::test_tools::per_element());
  BOOST_REQUIRE(store->Release(again.lease, /*spend_attempt=*/true).ok());
  BOOST_TEST(Get(a.id).attempts == 1);
}

BOOST_AUTO_TEST_CASE(LostAttemptsThatAdvancedTheirCheckpointDoNotCountTowardWorkerLost) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  const Job job = Submit(owner);
  // Five machines lost in a row, each after saving a newer checkpoint.
  for (int attempt = 1; attempt <= 5; ++attempt) {
    BOOST_TEST_CONTEXT("attempt " << attempt) {
      const ClaimedJob claimed = Claim("w" + std::to_string(attempt));
      BOOST_TEST(claimed.checkpoint_samples == 2 * (attempt - 1));
      BOOST_REQUIRE(store->SaveCheckpoint(claimed.lease, Bytes("state"), 2 * attempt).ok());
      clock.Advance(options.rules.lease_timeout_ms + 1);
      BOOST_TEST(store->RequeueLapsed().value() == 1);
      const Job after = Get(job.id);
      BOOST_TEST(JobStateName(after.state) == "queued");
      BOOST_TEST(after.attempts == attempt);  // every attempt is counted
    }
  }
  // Then three without progress: a job that keeps killing its worker ends.
  for (int stalled = 1; stalled <= 3; ++stalled) {
    Claim();
    clock.Advance(options.rules.lease_timeout_ms + 1);
    BOOST_TEST(store->RequeueLapsed().value() == 1);
  }
  const Job failed = Get(job.id);
  BOOST_TEST(JobStateName(failed.state) == "failed");
  BOOST_TEST(failed.attempts == 8);
  BOOST_TEST(failed.error_code.value() == "worker_lost");
}

BOOST_AUTO_TEST_CASE(PreviewsAndCheckpointsGoWhenTheJobEnds) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  const Job job = Submit(owner);
  const ClaimedJob claimed = Claim();
  BOOST_TEST(store->ReadArtifact(job.id, ArtifactKind::kPreview).status().code() ==
             StatusCode::kNotFound);
  BOOST_REQUIRE(store->SavePreview(claimed.lease, Bytes("preview 1")).ok());
  BOOST_REQUIRE(store->SavePreview(claimed.lease, Bytes("preview 2")).ok());
  auto preview = store->ReadArtifact(job.id, ArtifactKind::kPreview);
  BOOST_REQUIRE(preview.ok());
  BOOST_TEST(ArtifactBytes(*preview) == Bytes("preview 2"), boost::test_tools::per_element());
  BOOST_REQUIRE(store->SaveCheckpoint(claimed.lease, Bytes("state"), 4).ok());
  const std::vector<std::uint8_t> png = Bytes("png");
  BOOST_REQUIRE(store->Finish(claimed.lease, Finished(png, "cpu", 1, 1, "e")).ok());
  BOOST_TEST(store->ReadArtifact(job.id, ArtifactKind::kPreview).status().code() ==
             StatusCode::kNotFound);
  BOOST_TEST(!store->LoadCheckpoint(claimed.lease).value().has_value());
}

BOOST_AUTO_TEST_CASE(ACheckpointOverTheBoundIsRefusedAndTheJobGoesOn) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Submit(owner);
  const ClaimedJob claimed = Claim();
  const std::vector<std::uint8_t> huge(kMaxCheckpointBytes + 1, 7);
  BOOST_TEST(store->SaveCheckpoint(claimed.lease, huge, 8).code() ==
             StatusCode::kResourceExhausted);
  BOOST_TEST(store->Heartbeat(claimed.lease, 0.5).ok());
  BOOST_TEST(!store->LoadCheckpoint(claimed.lease).value().has_value());
}

BOOST_AUTO_TEST_CASE(OneProcessPerWorkerNameWhereverItRuns) {
  Open();
  auto first = store->LockWorkerName("gpu0");
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  auto other = OpenJobStore(db(), options);
  BOOST_REQUIRE(other.ok());
  BOOST_TEST((*other)->LockWorkerName("gpu0").status().code() == StatusCode::kConflict);
  BOOST_TEST((*other)->LockWorkerName("gpu1").ok());
  first->reset();  // the process "ends"
  BOOST_TEST((*other)->LockWorkerName("gpu0").ok());
}

// A held lock verifies; only a file lock (SQLite's flock, which dies with its
// process) proves the name's previous process dead. A database session lock
// that lost its session is taken again, or reported taken by another process.
BOOST_AUTO_TEST_CASE(ANameLockVerifiesAndSaysWhatItProves) {
  Open();
  auto lock = store->LockWorkerName("gpu0");
  BOOST_REQUIRE_MESSAGE(lock.ok(), lock.status().ToString());
  const Result<bool> verified = (*lock)->Verify();
  BOOST_REQUIRE_MESSAGE(verified.ok(), verified.status().ToString());
  BOOST_TEST(!*verified);  // still held: nothing taken again
  BOOST_TEST((*lock)->ProvesPredecessorDead() == (TestBackendName() == "sqlite"));
  if (TestBackendName() != "postgres") return;
  // The lock's session ends (a failover, a partition) while the process lives.
  auto other = OpenJobStore(db(), options);
  BOOST_REQUIRE(other.ok());
  BOOST_REQUIRE(database
                    ->Execute("SELECT pg_terminate_backend(pid) FROM pg_locks"
                              " WHERE locktype = 'advisory' AND classid = 7263851 AND pid <> 0")
                    .ok());
  auto taken = (*other)->LockWorkerName("gpu0");  // a second process takes the free name
  BOOST_REQUIRE_MESSAGE(taken.ok(), taken.status().ToString());
  BOOST_TEST((*lock)->Verify().status().code() == StatusCode::kConflict);
  taken->reset();
  const Result<bool> retaken = (*lock)->Verify();
  BOOST_REQUIRE_MESSAGE(retaken.ok(), retaken.status().ToString());
  BOOST_TEST(*retaken);
}

BOOST_AUTO_TEST_CASE(CancelQueuedRunningAndTerminal) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  const std::int64_t other = NewOwner("bob");
  Job running = Submit(owner);
  Job queued = Submit(owner);
  ClaimedJob claimed = Claim();

  BOOST_TEST(store->Cancel(other, queued.id).status().code() ==
             StatusCode::kNotFound);  // not bob's

  auto q = store->Cancel(owner, queued.id);
  BOOST_REQUIRE(q.ok());
  BOOST_TEST(static_cast<int>(q->kind) == static_cast<int>(CancelOutcome::Kind::kCanceled));
  BOOST_TEST(JobStateName(q->job.state) == "canceled");
  BOOST_TEST(q->job.finished_at.has_value());

  auto r = store->Cancel(owner, running.id);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(static_cast<int>(r->kind) == static_cast<int>(CancelOutcome::Kind::kCancelRequested));
  BOOST_TEST(JobStateName(r->job.state) == "running");
  BOOST_TEST(r->job.cancel_requested);
  BOOST_TEST(store->Heartbeat(claimed.lease, 0.3).value() == true);  // the worker learns it
  BOOST_REQUIRE(store->MarkCanceled(claimed.lease).ok());

  auto t = store->Cancel(owner, running.id);
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(static_cast<int>(t->kind) == static_cast<int>(CancelOutcome::Kind::kAlreadyTerminal));
  BOOST_TEST(store->Cancel(owner, "00000000-0000-4000-8000-000000000000").status().code() ==
             StatusCode::kNotFound);
}

BOOST_AUTO_TEST_CASE(RequeueWorkerJobsTakesBackOnlyThatWorkersLeasesAtOnce) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job mine = Submit(owner);
  Job theirs = Submit(owner);
  const ClaimedJob dead = Claim("gpu0");
  Claim("gpu1");
  // Fresh heartbeats: RequeueLapsed would touch nothing yet.
  BOOST_TEST(store->RequeueWorkerJobs("gpu0", /*predecessor_dead=*/true).value() == 1);
  const Job back = Get(mine.id);
  BOOST_TEST(JobStateName(back.state) == "queued");
  BOOST_TEST(back.attempts == 1);
  BOOST_TEST(back.seq == mine.seq);  // its place in line
  BOOST_TEST(JobStateName(Get(theirs.id).state) == "running");
  BOOST_TEST(store->Heartbeat(dead.lease, 0.5).status().code() == StatusCode::kConflict);
  BOOST_TEST(store->RequeueWorkerJobs("gpu0", true).value() == 0);
  BOOST_TEST(Claim("gpu0").job.id == mine.id);
}

// A database session lock proves only that the predecessor's session ended:
// its leases come back once their holder has stopped by its own fence, still
// before they lapse, never while it may be rendering.
BOOST_AUTO_TEST_CASE(RequeueWorkerJobsWaitsForTheHoldersFenceUnlessItIsDead) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job job = Submit(owner);
  const ClaimedJob held = Claim("gpu0");
  const TimeMs fence = SelfFenceAfterMs(options.rules.lease_timeout_ms);
  BOOST_REQUIRE(fence < options.rules.lease_timeout_ms);
  BOOST_TEST(store->RequeueWorkerJobs("gpu0", /*predecessor_dead=*/false).value() == 0);
  clock.Advance(fence - 1);
  BOOST_TEST(store->RequeueWorkerJobs("gpu0", false).value() == 0);
  BOOST_TEST(JobStateName(Get(job.id).state) == "running");
  clock.Advance(2);
  BOOST_TEST(store->RequeueWorkerJobs("gpu0", false).value() == 1);
  BOOST_TEST(JobStateName(Get(job.id).state) == "queued");
  BOOST_TEST(store->Heartbeat(held.lease, 0.5).status().code() == StatusCode::kConflict);
}

BOOST_AUTO_TEST_CASE(ALostWorkerWithACancelPendingEndsCanceled) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job job = Submit(owner);
  Claim();
  BOOST_REQUIRE(store->Cancel(owner, job.id).ok());
  clock.Advance(options.rules.lease_timeout_ms + 1);
  BOOST_TEST(store->RequeueLapsed().value() == 1);
  BOOST_TEST(JobStateName(Get(job.id).state) == "canceled");
}

BOOST_AUTO_TEST_CASE(IdempotencyKeyReplaysConflictsAndExpires) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  const std::int64_t other = NewOwner("bob");
  Job original = Submit(owner, "key-1");

  struct Row {
    const char* what;
    std::int64_t owner;
    std::string scene;
    SubmitOutcome::Kind expected;
  };
  const Row rows[] = {
      {"same owner, key and body: replay", owner, "{}", SubmitOutcome::Kind::kReplayed},
      {"same key, another body: conflict", owner, "{\"x\":1}", SubmitOutcome::Kind::kKeyConflict},
      {"another owner's key is theirs", other, "{}", SubmitOutcome::Kind::kCreated},
  };
  for (const Row& row : rows) {
    BOOST_TEST_CONTEXT(row.what) {
      auto outcome = store->Submit(Request(row.owner, "key-1", row.scene));
      BOOST_REQUIRE(outcome.ok());
      BOOST_TEST(static_cast<int>(outcome->kind) == static_cast<int>(row.expected));
      if (row.expected == SubmitOutcome::Kind::kReplayed)
        BOOST_TEST(outcome->job.id == original.id);
    }
  }
  clock.Advance(options.rules.idempotency_window_ms + 1);
  auto fresh = store->Submit(Request(owner, "key-1", "{\"x\":1}"));
  BOOST_REQUIRE(fresh.ok());
  BOOST_TEST(static_cast<int>(fresh->kind) == static_cast<int>(SubmitOutcome::Kind::kCreated));
  BOOST_TEST(fresh->job.id != original.id);
}

BOOST_AUTO_TEST_CASE(PerOwnerTotalAndDrainLimits) {
  options.rules.limits.max_queued_per_owner = 3;
  options.rules.limits.max_queued = 5;
  options.rules.default_units_per_second = 64.0 * 32 * 16 * 8;  // one test job per second
  options.rules.limits.max_drain_seconds = 1e9;
  Open();
  const std::int64_t a = NewOwner("a");
  const std::int64_t b = NewOwner("b");
  for (int i = 0; i < 3; ++i) Submit(a);
  auto owner_full = store->Submit(Request(a));
  BOOST_REQUIRE(owner_full.ok());
  BOOST_TEST(static_cast<int>(owner_full->kind) ==
             static_cast<int>(SubmitOutcome::Kind::kOwnerQueueFull));
  BOOST_TEST(owner_full->retry_after_seconds == 1.0);  // a's first job is next and takes 1 s
  Submit(b);
  Submit(b);
  auto full = store->Submit(Request(b));
  BOOST_REQUIRE(full.ok());
  BOOST_TEST(static_cast<int>(full->kind) == static_cast<int>(SubmitOutcome::Kind::kQueueFull));
  BOOST_TEST(full->retry_after_seconds >= 1.0);
  store.reset();

  // Drain bound: 5 queued seconds, a bound of 5.5 s, so a sixth is refused for ~1 s.
  options.rules.limits.max_queued = 1000;
  options.rules.limits.max_queued_per_owner = 1000;
  options.rules.limits.max_drain_seconds = 5.5;
  Open();
  auto slow = store->Submit(Request(b));
  BOOST_REQUIRE(slow.ok());
  BOOST_TEST(static_cast<int>(slow->kind) == static_cast<int>(SubmitOutcome::Kind::kQueueFull));
  BOOST_TEST(slow->retry_after_seconds == 1.0);
  // Nothing was stored by any refusal.
  BOOST_TEST(store->Queue()->queued == 5);
}

BOOST_AUTO_TEST_CASE(ListIsNewestFirstWithACursor) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Submit(owner).id);
  NewOwner("bob");
  ListRequest request;
  request.owner_id = owner;
  request.limit = 2;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto result = store->List(request);
    BOOST_REQUIRE(result.ok());
    for (const Job& job : result->jobs) seen.push_back(job.id);
    if (!result->next_before_seq) break;
    request.before_seq = result->next_before_seq;
  }
  BOOST_TEST(seen == std::vector<std::string>(ids.rbegin(), ids.rend()),
             boost::test_tools::per_element());
  request = ListRequest{};
  request.owner_id = owner;
  request.state = JobState::kRunning;
  BOOST_TEST(store->List(request)->jobs.empty());
}

BOOST_AUTO_TEST_CASE(RetryPutsAFailedJobAtTheEndOfTheLine) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job a = Submit(owner);
  ClaimedJob claimed = Claim();
  BOOST_REQUIRE(store->Fail(claimed.lease, "render_failed", "boom").ok());
  Job b = Submit(owner);
  BOOST_TEST(store->Retry(b.id).status().code() == StatusCode::kConflict);  // queued
  auto retried = store->Retry(a.id);
  BOOST_REQUIRE(retried.ok());
  BOOST_TEST(JobStateName(retried->state) == "queued");
  BOOST_TEST(retried->seq > b.seq);
  BOOST_TEST(retried->position.value() == 2);
  BOOST_TEST(!retried->error_code.has_value());
  Job c = Submit(owner);
  BOOST_TEST(c.seq > retried->seq);  // the sequence never hands the number out again
}

BOOST_AUTO_TEST_CASE(TokensAreStoredHashedAndRevocable) {
  Open();
  auto token = store->CreateToken("alice");
  BOOST_REQUIRE(token.ok());
  BOOST_TEST(token->rfind("rq_", 0) == 0u);
  BOOST_TEST(token->size() == 3u + 43u);
  BOOST_TEST(store->CreateToken("alice").status().code() == StatusCode::kConflict);
  BOOST_TEST(store->CreateToken("").status().code() == StatusCode::kInvalidArgument);
  auto owner = store->Authenticate(*token);
  BOOST_REQUIRE(owner.ok());
  BOOST_TEST(owner->name == "alice");
  BOOST_TEST(store->Authenticate("rq_wrong").status().code() == StatusCode::kNotFound);
  BOOST_REQUIRE(store->RevokeToken("alice").ok());
  BOOST_TEST(store->Authenticate(*token).status().code() == StatusCode::kNotFound);
  BOOST_TEST(store->RevokeToken("alice").code() == StatusCode::kNotFound);
  auto again = store->CreateToken("alice");  // a new token for the same owner and jobs
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(store->Authenticate(*again)->id == owner->id);
  auto tokens = store->ListTokens();
  BOOST_REQUIRE(tokens.ok());
  BOOST_TEST(tokens->size() == 2u);
  store.reset();
  auto stored =
      database->QueryInt("SELECT count(*) FROM tokens WHERE token_hash = ?", {Sha256Hex(*again)});
  BOOST_REQUIRE(stored.ok());
  BOOST_TEST(*stored == 1);
  auto raw = database->QueryInt("SELECT count(*) FROM tokens WHERE token_hash = ?", {*again});
  BOOST_TEST(raw.value() == 0);  // the secret itself is nowhere
}

BOOST_AUTO_TEST_CASE(WorkersThroughputAndQueueSnapshot) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Submit(owner);
  Submit(owner);
  WorkerInfo worker{"0", "cuda:0 Test GPU", false, 1234, 0, std::nullopt, 0};
  BOOST_REQUIRE(store->RegisterWorker(worker).ok());
  BOOST_TEST(store->UnitsPerSecond().value() == options.rules.default_units_per_second);
  BOOST_REQUIRE(store->RecordThroughput("0", 1e6).ok());
  BOOST_REQUIRE(store->RecordThroughput("0", 1.5e6).ok());
  BOOST_TEST(store->UnitsPerSecond().value() == 1.5e6);
  BOOST_REQUIRE(store->RecordThroughput("0", 1e6).ok());
  BOOST_TEST(store->RecordThroughput("nobody", 1e6).code() == StatusCode::kNotFound);
  BOOST_TEST(store->UnitsPerSecond().value() == 1e6);
  ClaimedJob claimed = Claim("0");
  auto queue = store->Queue();
  BOOST_REQUIRE(queue.ok());
  BOOST_TEST(queue->queued == 1);
  BOOST_REQUIRE(queue->running.size() == 1u);
  BOOST_TEST(queue->running[0].id == claimed.job.id);
  BOOST_REQUIRE(queue->workers.size() == 1u);
  BOOST_TEST(queue->workers[0].current_job.value() == claimed.job.id);
  BOOST_TEST(queue->estimated_wait_seconds == 2 * claimed.job.cost_units / 1e6);
  const std::vector<std::uint8_t> png = Bytes("png");
  BOOST_REQUIRE(store->Finish(claimed.lease, Finished(png, "cuda:0", 1, 1, "e")).ok());
  BOOST_TEST(!store->Queue()->workers[0].current_job.has_value());
}

BOOST_AUTO_TEST_CASE(PurgeDeletesOldTerminalJobs) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Job old_job = Submit(owner, "k");
  BOOST_REQUIRE(store->Cancel(owner, old_job.id).ok());
  clock.Advance(1000);
  Job kept = Submit(owner);
  auto purged = store->Purge(kStart + 500);
  BOOST_REQUIRE(purged.ok());
  BOOST_TEST(purged->job_ids == std::vector<std::string>{old_job.id},
             boost::test_tools::per_element());
  BOOST_TEST(store->Get(0, old_job.id).status().code() == StatusCode::kNotFound);
  BOOST_TEST(Get(kept.id).position.value() == 1);
  BOOST_TEST(database->IntegrityProblems()->empty());
}

BOOST_AUTO_TEST_CASE(WaitForChangeWakesOnACommitFromAnotherConnection) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  BOOST_REQUIRE(!store->ClaimNext("w")->has_value());                      // arms the watch
  BOOST_REQUIRE(store->WaitForChange(std::chrono::milliseconds(0)).ok());  // drops our own events
  auto other = OpenJobStore(db(), options);
  BOOST_REQUIRE(other.ok());
  std::atomic<bool> submitting{false};
  std::thread submitter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    submitting = true;
    (void)(*other)->Submit(Request(owner));
  });
  // Only the commit can end the wait: the timeout is far beyond anything the
  // test waits for, and nothing else commits.
  constexpr auto kNever = std::chrono::seconds(120);
  const auto begin = std::chrono::steady_clock::now();
  BOOST_REQUIRE(store->WaitForChange(kNever).ok());
  const auto waited = std::chrono::steady_clock::now() - begin;
  const bool after_the_submit_began = submitting.load();
  submitter.join();
  BOOST_TEST(after_the_submit_began);  // woken by the submit, not before
  BOOST_TEST(waited < kNever);         // and by it, not by the timeout
  BOOST_TEST(store->ClaimNext("w")->has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
