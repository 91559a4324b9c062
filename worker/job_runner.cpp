#include "worker/job_runner.h"

#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "core/model/scene_json.h"
#include "core/util/digest.h"
#include "kernels/png_writer.h"
#include "worker/pass_sizer.h"

namespace renderq {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

SteadyClock::time_point After(double seconds) {
  return SteadyClock::now() +
         std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
}

// The store's final writes are retried briefly on kUnavailable (a busy
// database); any other answer, kConflict included, is final.
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

Result<std::vector<std::uint8_t>> EncodeImage(Renderer& renderer) {
  ASSIGN_OR_RETURN(std::vector<std::uint8_t> rgb, renderer.ImageRgb8());
  return EncodePngRgb8(renderer.width(), renderer.height(), rgb);
}

// One attempt at one job: the state Run() threads through its steps.
class JobAttempt {
 public:
  JobAttempt(JobStore& store, Logger& log, const JobRunnerOptions& options,
             const RendererFactory& factory, const std::atomic<bool>* stop, const ClaimedJob& claim,
             const DeviceChoice& device, SteadyClock::time_point claim_sent)
      : store_(store),
        log_(log),
        options_(options),
        factory_(factory),
        stop_(stop),
        claim_(claim),
        device_(device),
        claim_sent_(claim_sent),
        id_(claim.lease.job_id) {}

  JobReport Execute();

 private:
  enum class LoopEnd { kDone, kLeave, kError };

  std::optional<JobReport> Prepare(SceneDescription* scene);
  void Resume(const SceneDescription& scene);
  LoopEnd RenderLoop(Status* error);
  bool ShouldLeave(int remaining);
  void AfterPass();
  JobReport Conclude(LoopEnd end, const Status& error);

  JobReport FinishJob();
  JobReport CancelJob();
  JobReport ReleaseForStop();
  JobReport LeaveExpiredLease();
  JobReport HandleRenderError(const Status& error);
  JobReport FailJob(std::string_view code, const std::string& message);
  JobReport Report(JobOutcome outcome, std::string detail = {});
  // A final write's status turned into the outcome it stands for.
  JobReport Settle(const Status& write, JobOutcome on_success, const std::string& what);

  // A line that ends the attempt; once rendering has stopped it says how long
  // ago (stopped_ms_ago): the final write may come seconds later on a slow or
  // silent database, and whoever reads the log (tests/ha's checker) must know
  // when this host stopped rendering, not when it gave up writing.
  void LogEnd(std::string_view event, const std::string& detail);
  void WritePreview();
  void WriteCheckpoint();
  double Progress() const;

  JobStore& store_;
  Logger& log_;
  const JobRunnerOptions& options_;
  const RendererFactory& factory_;
  const std::atomic<bool>* stop_;
  const ClaimedJob& claim_;
  const DeviceChoice& device_;
  const SteadyClock::time_point claim_sent_;  // when the claim was sent: the lease's start
  const std::string id_;

  std::unique_ptr<Renderer> renderer_;
  int total_samples_ = 0;
  int resumed_from_ = 0;
  int checkpointed_samples_ = 0;
  bool checkpoints_refused_ = false;
  JobControl control_;
  SteadyClock::time_point next_checkpoint_;
  SteadyClock::time_point next_preview_;
  std::optional<SteadyClock::time_point> render_stopped_;
};

JobReport JobAttempt::Execute() {
  SceneDescription scene;
  if (std::optional<JobReport> ended = Prepare(&scene)) return *ended;
  Resume(scene);
  log_.Log("claimed", id_,
           "attempt=" + std::to_string(claim_.job.attempts + 1) +
               " resume_from=" + std::to_string(resumed_from_) +
               " samples=" + std::to_string(total_samples_) + " device=\"" + device_.label + "\"");
  Status error;
  LoopEnd end;
  {
    JobHeartbeat heartbeat(store_, log_, options_.worker_name, claim_.lease, control_, stop_,
                           options_.heartbeat, claim_sent_);
    end = RenderLoop(&error);
    render_stopped_ = SteadyClock::now();  // before the heartbeat thread is joined
  }
  return Conclude(end, error);
}

// Parses the scene and creates the renderer; a report only when the job ended.
std::optional<JobReport> JobAttempt::Prepare(SceneDescription* scene) {
  SceneParseResult parsed = ParseScene(claim_.input_json);
  if (!parsed.ok()) {
    return FailJob(kErrorInvalidScene, "stored scene is invalid: " + parsed.error().message);
  }
  *scene = std::move(parsed).scene();
  total_samples_ = scene->samples;
  Result<std::unique_ptr<Renderer>> renderer = factory_(*scene, device_.options);
  if (!renderer.ok()) return HandleRenderError(renderer.status());
  renderer_ = std::move(renderer).value();
  return std::nullopt;
}

// Loads the checkpoint if the store has one. A state the renderer refuses
// (another scene, another backend, damaged) is logged and the job starts over:
// resuming must give the image an uninterrupted render gives, or nothing.
void JobAttempt::Resume(const SceneDescription& scene) {
  if (claim_.checkpoint_samples <= 0) return;
  Result<std::optional<std::vector<std::uint8_t>>> state = store_.LoadCheckpoint(claim_.lease);
  if (!state.ok()) {
    log_.Log("checkpoint_ignored", id_, state.status().ToString());
    return;
  }
  if (!state->has_value()) return;
  const Status loaded = renderer_->ImportState(**state);
  if (loaded.ok()) {
    resumed_from_ = checkpointed_samples_ = renderer_->samples_done();
    return;
  }
  log_.Log("checkpoint_ignored", id_, loaded.ToString());
  // A failed import may have left the buffer half-replaced: start clean.
  Result<std::unique_ptr<Renderer>> fresh = factory_(scene, device_.options);
  if (fresh.ok()) renderer_ = std::move(fresh).value();
}

JobAttempt::LoopEnd JobAttempt::RenderLoop(Status* error) {
  PassSizer sizer(options_.pass_target_seconds);
  next_checkpoint_ = After(options_.checkpoint_seconds);
  next_preview_ = After(options_.first_preview_seconds);
  control_.progress = Progress();
  while (true) {
    const int remaining = total_samples_ - renderer_->samples_done();
    if (ShouldLeave(remaining)) return LoopEnd::kLeave;
    if (remaining <= 0) return LoopEnd::kDone;
    const int samples = sizer.Next(remaining);
    const auto start = SteadyClock::now();
    const Status pass = renderer_->RenderPass(samples, &control_.interrupt);
    if (pass.ok()) {
      sizer.Observe(samples, SecondsSince(start));
    } else if (pass.code() != StatusCode::kCancelled) {
      *error = pass;
      return LoopEnd::kError;
    }
    control_.progress = Progress();
    control_.remaining_seconds = sizer.EstimateSeconds(total_samples_ - renderer_->samples_done());
    AfterPass();
  }
}

// Decides, between passes, whether this attempt ends now. A cancel wins over
// a finished render; a stop lets a job that is nearly done finish.
bool JobAttempt::ShouldLeave(int remaining) {
  if (control_.lease_lost.load() || control_.lease_expired.load() ||
      control_.cancel_requested.load()) {
    return true;
  }
  if (remaining <= 0) return false;
  if (stop_ != nullptr && stop_->load() && !control_.finishing.load()) {
    if (!FinishBeforeStop(control_.remaining_seconds.load(),
                          options_.heartbeat.stop_finish_seconds)) {
      return true;
    }
    control_.finishing = true;
    log_.Log("finishing_before_stop", id_,
             "remaining_seconds=" + std::to_string(control_.remaining_seconds.load()));
  }
  // An interrupt nobody needs any more (the stop turned into finishing).
  control_.interrupt = false;
  return false;
}

void JobAttempt::AfterPass() {
  if (renderer_->samples_done() >= total_samples_) return;
  const auto now = SteadyClock::now();
  if (now >= next_checkpoint_) {
    WriteCheckpoint();
    next_checkpoint_ = After(options_.checkpoint_seconds);
  }
  if (now >= next_preview_) {
    WritePreview();
    next_preview_ = After(options_.preview_seconds);
  }
}

JobReport JobAttempt::Conclude(LoopEnd end, const Status& error) {
  if (control_.lease_lost.load()) {
    LogEnd("lease_lost", "samples_done=" + std::to_string(renderer_->samples_done()));
    return Report(JobOutcome::kLeaseLost);
  }
  if (control_.lease_expired.load()) return LeaveExpiredLease();
  if (control_.cancel_requested.load()) return CancelJob();
  switch (end) {
    case LoopEnd::kDone: return FinishJob();
    case LoopEnd::kError: return HandleRenderError(error);
    case LoopEnd::kLeave: return ReleaseForStop();
  }
  return Report(JobOutcome::kStoreError);
}

JobReport JobAttempt::FinishJob() {
  Result<std::vector<std::uint8_t>> png = EncodeImage(*renderer_);
  if (!png.ok()) return HandleRenderError(png.status());
  FinishRequest request;
  request.device = renderer_->device_name();
  request.render_seconds = renderer_->render_seconds();
  request.samples_per_second = renderer_->samples_per_second();
  request.result_etag = StrongEtag(*png);
  request.png = *png;
  const Status finished = RetryUnavailable([&] { return store_.Finish(claim_.lease, request); });
  if (finished.code() == StatusCode::kUnavailable) {
    // The result could not be stored (disk full, database gone): not the
    // job's fault; let it run again (the attempt counts, so storage that
    // stays broken does not keep it going forever).
    log_.Log("result_write_failed", id_, finished.ToString());
    return Settle(RetryUnavailable([&] { return store_.Release(claim_.lease, true); }),
                  JobOutcome::kReleased, "release");
  }
  if (!finished.ok()) return Settle(finished, JobOutcome::kSucceeded, "finish");
  if (request.render_seconds >= options_.min_measured_seconds) {
    const double units = request.samples_per_second.value_or(0) * renderer_->max_depth();
    if (Status s = store_.RecordThroughput(options_.worker_name, units); !s.ok()) {
      log_.Log("throughput_not_recorded", id_, s.ToString());
    }
  }
  LogEnd("succeeded", "render_seconds=" + std::to_string(request.render_seconds) +
                          " samples_per_second=" + std::to_string(request.samples_per_second.value_or(0)) +
                          " etag=" + request.result_etag);
  return Report(JobOutcome::kSucceeded);
}

JobReport JobAttempt::CancelJob() {
  const Status s = RetryUnavailable([&] { return store_.MarkCanceled(claim_.lease); });
  if (s.ok()) LogEnd("canceled", "samples_done=" + std::to_string(renderer_->samples_done()));
  return Settle(s, JobOutcome::kCanceled, "mark canceled");
}

JobReport JobAttempt::ReleaseForStop() {
  if (renderer_->samples_done() > checkpointed_samples_) WriteCheckpoint();
  if (control_.lease_lost.load()) return Report(JobOutcome::kLeaseLost);
  const Status s = RetryUnavailable([&] { return store_.Release(claim_.lease, false); });
  if (s.ok()) {
    LogEnd("released", "reason=stop resume_from=" + std::to_string(resumed_from_) +
                           " samples_done=" + std::to_string(renderer_->samples_done()));
  }
  return Settle(s, JobOutcome::kReleased, "release");
}

// The lease was not renewed in time and rendering has stopped (self-fencing,
// logged `lease_expired` by the heartbeat's watchdog as it fired).
// What was rendered since the last checkpoint is kept if the lease still
// holds (the write is fenced), and the job is handed back without spending an
// attempt: the network failed, not the job. Either write may fail for the
// reason the renewals did; the lease then lapses and whoever claims next
// requeues the job. One try each: the job is no longer this worker's to hold.
JobReport JobAttempt::LeaveExpiredLease() {
  const int done = renderer_->samples_done();
  if (done > checkpointed_samples_ && done < total_samples_) WriteCheckpoint();
  const Status released = control_.lease_lost.load() ? Status::Conflict("lease lost")
                                                     : store_.Release(claim_.lease, false);
  const std::string detail = "reason=lease_expired samples_done=" + std::to_string(done) +
                             " checkpointed=" + std::to_string(checkpointed_samples_);
  if (released.ok()) {
    LogEnd("released", detail);
    return Report(JobOutcome::kReleased);
  }
  LogEnd("release_failed", detail + " " + released.ToString());
  return Report(JobOutcome::kLeaseLost);
}

JobReport JobAttempt::HandleRenderError(const Status& error) {
  // kUnavailable from the renderer means the device is missing or the backend
  // is not there: the device's problem, like a fault, not the job's.
  if (error.code() == StatusCode::kDeviceFault || error.code() == StatusCode::kUnavailable) {
    LogEnd("device_fault", error.ToString());
    const Status s = RetryUnavailable([&] { return store_.Release(claim_.lease, false); });
    JobReport r = Settle(s, JobOutcome::kDeviceFault, "release");
    if (r.outcome == JobOutcome::kDeviceFault) r.detail = error.message();
    return r;
  }
  return FailJob(kErrorRenderFailed, error.message());
}

JobReport JobAttempt::FailJob(std::string_view code, const std::string& message) {
  const Status s =
      RetryUnavailable([&] { return store_.Fail(claim_.lease, std::string(code), message); });
  if (s.ok()) LogEnd("failed", "code=" + std::string(code) + " message=\"" + message + "\"");
  JobReport r = Settle(s, JobOutcome::kFailed, "fail");
  if (r.outcome == JobOutcome::kFailed) r.detail = message;
  return r;
}

JobReport JobAttempt::Settle(const Status& write, JobOutcome on_success, const std::string& what) {
  if (write.ok()) return Report(on_success);
  if (write.code() == StatusCode::kConflict) {
    LogEnd("lease_lost", what + ": " + write.message());
    return Report(JobOutcome::kLeaseLost);
  }
  LogEnd("store_error", what + ": " + write.ToString());
  return Report(JobOutcome::kStoreError, write.ToString());
}

JobReport JobAttempt::Report(JobOutcome outcome, std::string detail) {
  JobReport r;
  r.job_id = id_;
  r.outcome = outcome;
  r.resumed_from = resumed_from_;
  r.samples_done = renderer_ ? renderer_->samples_done() : 0;
  r.detail = std::move(detail);
  return r;
}

void JobAttempt::LogEnd(std::string_view event, const std::string& detail) {
  std::string line = detail;
  if (render_stopped_) {
    const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() -
                                                                           *render_stopped_);
    line +=
        (line.empty() ? "" : " ") + std::string("stopped_ms_ago=") + std::to_string(ago.count());
  }
  log_.Log(event, id_, line);
}

void JobAttempt::WritePreview() {
  Result<std::vector<std::uint8_t>> png = EncodeImage(*renderer_);
  const Status s = png.ok() ? store_.SavePreview(claim_.lease, *png) : png.status();
  if (!s.ok()) log_.Log("preview_failed", id_, s.ToString());
}

void JobAttempt::WriteCheckpoint() {
  if (checkpoints_refused_) return;
  const int samples = renderer_->samples_done();
  Result<std::vector<std::uint8_t>> state = renderer_->ExportState();
  const Status s =
      state.ok() ? store_.SaveCheckpoint(claim_.lease, *state, samples) : state.status();
  if (s.code() == StatusCode::kConflict) {
    control_.lease_lost = true;
    return;
  }
  if (s.code() == StatusCode::kResourceExhausted) {
    // Over the store's bound: this job restarts from scratch if it is lost.
    checkpoints_refused_ = true;
    log_.Log("checkpoint_too_large", id_, s.ToString());
    return;
  }
  if (!s.ok()) {
    log_.Log("checkpoint_failed", id_, s.ToString());
    return;
  }
  checkpointed_samples_ = samples;
  log_.Log("checkpoint", id_, "samples=" + std::to_string(samples));
}

double JobAttempt::Progress() const {
  return total_samples_ > 0 ? static_cast<double>(renderer_->samples_done()) / total_samples_ : 0.0;
}

}  // namespace

const char* JobOutcomeName(JobOutcome outcome) {
  switch (outcome) {
    case JobOutcome::kSucceeded: return "succeeded";
    case JobOutcome::kFailed: return "failed";
    case JobOutcome::kCanceled: return "canceled";
    case JobOutcome::kReleased: return "released";
    case JobOutcome::kDeviceFault: return "device_fault";
    case JobOutcome::kLeaseLost: return "lease_lost";
    case JobOutcome::kStoreError: return "store_error";
  }
  return "unknown";
}

JobRunner::JobRunner(JobStore& store, Logger& log, JobRunnerOptions options,
                     RendererFactory factory, const std::atomic<bool>* stop)
    : store_(store),
      log_(log),
      options_(std::move(options)),
      factory_(std::move(factory)),
      stop_(stop) {}

JobReport JobRunner::Run(const ClaimedJob& claim, const DeviceChoice& device,
                         std::chrono::steady_clock::time_point claim_sent) {
  JobAttempt attempt(store_, log_, options_, factory_, stop_, claim, device, claim_sent);
  try {
    return attempt.Execute();
  } catch (const std::exception& e) {
    // The job boundary: nothing may escape into the worker loop. The job
    // goes back with the attempt counted, so one that always throws ends failed.
    log_.Log("internal_error", claim.lease.job_id, e.what());
    JobReport r;
    r.job_id = claim.lease.job_id;
    r.outcome = store_.Release(claim.lease, /*spend_attempt=*/true).ok() ? JobOutcome::kReleased
                                                                         : JobOutcome::kStoreError;
    r.detail = e.what();
    return r;
  }
}

}  // namespace renderq
