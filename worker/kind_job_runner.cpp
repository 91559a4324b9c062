#include "worker/kind_job_runner.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <span>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/util/atomic_file.h"
#include "core/util/digest.h"
#include "worker/job_heartbeat.h"

namespace renderq {
namespace {

using Clock = std::chrono::steady_clock;

static_assert(kMaxKindCheckpointBytes == static_cast<std::int64_t>(kMaxCheckpointBytes),
              "a kind file may not allow checkpoints the store refuses");

// A write that failed for storage trouble is tried again a few times before
// the job gives up on it (the same patience as the built-in renderer's).
Status RetryUnavailable(const std::function<Status()>& write) {
  constexpr int kTries = 5;
  Status s;
  for (int i = 0; i < kTries; ++i) {
    s = write();
    if (s.code() != StatusCode::kUnavailable) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * (i + 1)));
  }
  return s;
}

std::span<const std::uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Where a running job's previews and checkpoints go: the store, behind the lease.
class StoreSink final : public RunnerJobSink {
 public:
  StoreSink(JobStore& store, Logger& log, const ClaimedJob& claim)
      : store_(store), log_(log), claim_(claim), count_(claim.checkpoint_samples) {}

  void Preview(const std::string& bytes) override {
    if (Status s = store_.SavePreview(claim_.lease, Bytes(bytes)); !s.ok()) {
      log_.Log("preview_failed", claim_.lease.job_id, s.ToString());
    }
  }

  Status Checkpoint(const std::string& bytes) override {
    // A kind's checkpoints count up from the stored one's count: what the
    // store compares to tell an attempt that saved one from one that did not.
    const std::int64_t count = count_ + 1;
    const Status s =
        RetryUnavailable([&] { return store_.SaveCheckpoint(claim_.lease, Bytes(bytes), count); });
    if (s.ok()) {
      count_ = count;
      log_.Log("checkpoint", claim_.lease.job_id,
               "count=" + std::to_string(count) + " bytes=" + std::to_string(bytes.size()));
    }
    return s;
  }

 private:
  JobStore& store_;
  Logger& log_;
  const ClaimedJob& claim_;
  std::int64_t count_;
};

std::string Quoted(std::string text) {
  for (char& c : text) {
    if (c == '"') c = '\'';
  }
  return "\"" + text + "\"";
}

}  // namespace

KindJobRunner::KindJobRunner(JobStore& store, Logger& log, JobRunnerOptions options,
                             RunnerPool& pool, const std::atomic<bool>* stop)
    : store_(store), log_(log), options_(std::move(options)), pool_(pool), stop_(stop) {}

JobReport KindJobRunner::Run(const ClaimedJob& claim, const DeviceChoice& device,
                             std::chrono::steady_clock::time_point claim_sent) {
  const std::string& id = claim.lease.job_id;
  const std::string& kind = claim.job.kind;
  JobReport report;
  report.job_id = id;
  // Ends the report with the store's answer to the write that ends the job.
  auto settle = [&](const Status& write, JobOutcome on_success, const std::string& what) {
    if (write.ok()) {
      report.outcome = on_success;
    } else if (write.code() == StatusCode::kConflict) {
      log_.Log("lease_lost", id, what + ": " + write.message());
      report.outcome = JobOutcome::kLeaseLost;
    } else {
      log_.Log("store_error", id, what + ": " + write.ToString());
      report.outcome = JobOutcome::kStoreError;
      report.detail = write.ToString();
    }
    return report;
  };
  auto fail = [&](const std::string& code, const std::string& message) {
    const Status s = RetryUnavailable([&] { return store_.Fail(claim.lease, code, message); });
    if (s.ok())
      log_.Log("failed", id, "kind=" + kind + " code=" + code + " message=" + Quoted(message));
    report.detail = message;
    return settle(s, JobOutcome::kFailed, "fail");
  };
  auto release = [&](bool spend_attempt, const std::string& reason) {
    const Status s = RetryUnavailable([&] { return store_.Release(claim.lease, spend_attempt); });
    if (s.ok()) log_.Log("released", id, "kind=" + kind + " reason=" + reason);
    return settle(s, JobOutcome::kReleased, "release");
  };
  auto lost = [&](const std::string& code, const std::string& message) {
    const Status s =
        RetryUnavailable([&] { return store_.ReleaseLost(claim.lease, code, message); });
    if (s.ok())
      log_.Log("runner_lost", id, "kind=" + kind + " code=" + code + " message=" + Quoted(message));
    report.detail = message;
    return settle(s, JobOutcome::kReleased, "release");
  };

  // The runner was stopped because the lease was lost, or not renewed in time
  // (self-fencing). Only in the second case may the lease still hold: hand
  // the job back once, without spending an attempt (the network failed, not
  // the job); if that fails too, the lease lapses and the next claim requeues.
  auto leave_lease = [&](const JobControl& control) {
    if (!control.lease_lost.load() && control.lease_expired.load()) {
      const Status released = store_.Release(claim.lease, false);
      log_.Log(released.ok() ? "released" : "release_failed", id,
               "kind=" + kind + " reason=lease_expired" +
                   (released.ok() ? "" : " " + released.ToString()));
      report.outcome = released.ok() ? JobOutcome::kReleased : JobOutcome::kLeaseLost;
      return report;
    }
    log_.Log("lease_lost", id, "kind=" + kind);
    report.outcome = JobOutcome::kLeaseLost;
    return report;
  };

  nlohmann::json input =
      nlohmann::json::parse(claim.input_json, nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return fail("invalid_input", "the stored input is not JSON");

  // The lease is kept from here on: a warm runner may still be starting.
  JobControl control;
  std::optional<JobHeartbeat> heartbeat;
  heartbeat.emplace(store_, log_, options_.worker_name, claim.lease, control, stop_,
                    options_.heartbeat, claim_sent);
  Result<RunnerSession*> session = pool_.Acquire(kind, [&] {
    return control.cancel_requested.load() || control.lease_lost.load() ||
           control.lease_expired.load() || (stop_ != nullptr && stop_->load());
  });
  if (!session.ok()) {
    heartbeat.reset();
    if (control.lease_lost.load() || control.lease_expired.load()) return leave_lease(control);
    if (control.cancel_requested.load()) {
      const Status s = RetryUnavailable([&] { return store_.MarkCanceled(claim.lease); });
      if (s.ok()) log_.Log("canceled", id, "kind=" + kind + " before its runner started");
      return settle(s, JobOutcome::kCanceled, "mark canceled");
    }
    if (session.status().code() == StatusCode::kInvalidArgument) {
      // A cold runner that would not start: the attempt is lost, as if the
      // worker had died (QueueRules decides when that fails the job).
      return lost(std::string(kErrorRunnerStart), session.status().message());
    }
    // A warm runner that failed to start, or the worker stops: the job did
    // nothing wrong and waits for a runner that works (here or elsewhere).
    return release(false, "runner_unavailable");
  }

  Result<std::string> dir = pool_.MakeJobDir(kind, id);
  if (!dir.ok()) {
    heartbeat.reset();
    log_.Log("scratch_failed", id, dir.status().ToString());
    pool_.Release(kind, false);
    return release(false, "scratch_unavailable");
  }
  RunnerJob job{id, std::move(input), *dir, std::nullopt};
  std::string checkpoint_file;
  if (claim.checkpoint_samples > 0) {
    Result<std::optional<std::vector<std::uint8_t>>> stored = store_.LoadCheckpoint(claim.lease);
    for (int i = 1; i < 5 && stored.status().code() == StatusCode::kUnavailable; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * i));
      stored = store_.LoadCheckpoint(claim.lease);
    }
    if (stored.ok() && stored.value()) {
      checkpoint_file = pool_.CheckpointPath(kind, id);
      const Status written =
          WriteFileAtomically(checkpoint_file, **stored, Durability::kVisibleOnly);
      if (written.ok()) {
        job.checkpoint = checkpoint_file;
      } else {
        log_.Log("checkpoint_ignored", id, "cannot hand it to the runner: " + written.ToString());
      }
    } else if (!stored.ok()) {
      // Starting over gives the same output (a kind's resume must be
      // deterministic), only later.
      log_.Log("checkpoint_ignored", id, stored.status().ToString());
    }
  }
  log_.Log("claimed", id,
           "attempt=" + std::to_string(claim.job.attempts + 1) + " kind=" + kind + " checkpoint=" +
               (job.checkpoint ? "yes" : "no") + " device=" + Quoted(device.label));

  StoreSink sink(store_, log_, claim);
  const Clock::time_point started = Clock::now();
  RunnerJobOutcome outcome =
      (*session)->RunJob(job, sink, control, stop_, options_.heartbeat.stop_finish_seconds);
  heartbeat.reset();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  pool_.Release(kind, outcome.kind == RunnerJobOutcome::Kind::kDone);
  pool_.RemoveJobDir(*dir);
  if (!checkpoint_file.empty()) std::filesystem::remove(checkpoint_file);

  using K = RunnerJobOutcome::Kind;
  switch (outcome.kind) {
    case K::kDone: {
      if (outcome.output.empty()) {
        return fail(std::string(kErrorRunnerFile), "the runner's output is empty");
      }
      FinishRequest request;
      request.device = device.label;
      request.render_seconds = seconds;
      request.result_etag = StrongEtag(Bytes(outcome.output));
      request.png = Bytes(outcome.output);
      const Status finished = RetryUnavailable([&] { return store_.Finish(claim.lease, request); });
      if (finished.code() == StatusCode::kUnavailable) {
        log_.Log("result_write_failed", id, finished.ToString());
        return release(true, "result_write_failed");
      }
      if (finished.ok()) {
        log_.Log("succeeded", id,
                 "kind=" + kind + " render_seconds=" + std::to_string(seconds) + " bytes=" +
                     std::to_string(outcome.output.size()) + " etag=" + request.result_etag);
      }
      return settle(finished, JobOutcome::kSucceeded, "finish");
    }
    case K::kFailed:
      if (outcome.retry) return release(true, "runner_retry code=" + outcome.code);
      return fail(outcome.code, outcome.message);
    case K::kCanceled: {
      const Status s = RetryUnavailable([&] { return store_.MarkCanceled(claim.lease); });
      if (s.ok()) log_.Log("canceled", id, "kind=" + kind);
      return settle(s, JobOutcome::kCanceled, "mark canceled");
    }
    case K::kDeviceLost: {
      log_.Log("device_fault", id, "kind=" + kind + " runner: " + outcome.message);
      const Status s = RetryUnavailable([&] { return store_.Release(claim.lease, false); });
      report.detail = outcome.message;
      return settle(s, JobOutcome::kDeviceFault, "release");
    }
    case K::kRunnerFile:
    case K::kTimeout: return fail(outcome.code, outcome.message);
    case K::kRunnerLost: return lost(outcome.code, outcome.message);
    case K::kLeaseLost: return leave_lease(control);
    case K::kStopped: return release(false, "stop");
    case K::kStoreError:
      log_.Log("store_error", id, outcome.message);
      return release(true, "store_error");
  }
  report.outcome = JobOutcome::kStoreError;
  return report;
}

}  // namespace renderq
