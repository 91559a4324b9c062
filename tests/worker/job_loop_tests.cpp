// The worker's job loop against a real SQLite store and the CPU renderer.
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <string>
#include <thread>
#include <vector>

#include "kernels/flat_scene.h"
#include "tests/worker/worker_fixture.h"
#include "core/util/digest.h"

namespace renderq::testing {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// A "GPU" renderer whose device fails on the first pass.
class FaultyRenderer final : public Renderer {
 public:
  explicit FaultyRenderer(const SceneDescription& scene) : Renderer(scene, /*fingerprint=*/1) {}
  Status RenderPass(int /*samples*/, const std::atomic<bool>* /*cancel*/) override {
    return Status::DeviceFault("injected: device lost");
  }
  std::string device_name() const override { return "cuda:0 Injected"; }
  Result<std::vector<float>> Accumulation() override {
    return std::vector<float>(static_cast<std::size_t>(width()) * height() * 3, 0.0f);
  }

 protected:
  Status SetAccumulation(std::span<const float> /*sums*/) override { return Status::Ok(); }
};

// CUDA requests get the faulty renderer, CPU ones the real one.
Result<std::unique_ptr<Renderer>> FaultyGpuFactory(const SceneDescription& scene,
                                                   const RendererOptions& options) {
  if (options.backend == RenderBackend::kCuda) {
    return std::unique_ptr<Renderer>(std::make_unique<FaultyRenderer>(scene));
  }
  return CreateRenderer(scene, options);
}

// The real CPU renderer, which raises the worker's stop flag as soon as its
// first pass is done: the stop then lands mid-render however fast the machine
// is. Only the first attempt uses it, so it never has to import a checkpoint.
class StopAfterFirstPassRenderer final : public Renderer {
 public:
  StopAfterFirstPassRenderer(const SceneDescription& scene, std::unique_ptr<Renderer> inner,
                             std::atomic<bool>* stop)
      : Renderer(scene, kernels::BuildFlatScene(scene).Fingerprint()),
        inner_(std::move(inner)),
        stop_(stop) {}
  Status RenderPass(int samples, const std::atomic<bool>* cancel) override {
    const Status pass = inner_->RenderPass(samples, cancel);
    set_samples_done(inner_->samples_done());
    stop_->store(true);
    return pass;
  }
  std::string device_name() const override { return inner_->device_name(); }
  Result<std::vector<float>> Accumulation() override { return inner_->Accumulation(); }

 protected:
  Status SetAccumulation(std::span<const float> /*sums*/) override {
    return Status::Internal("the stopping renderer never resumes");
  }

 private:
  std::unique_ptr<Renderer> inner_;
  std::atomic<bool>* stop_;
};

// A scene that takes seconds on the CPU (tests stop or cancel it long before).
const std::string kLongScene = SceneJson(160, 120, 20000);

// Runs worker.RunOnce() on a thread; Join() returns its report.
class RunOnceThread {
 public:
  explicit RunOnceThread(Worker& worker)
      : thread_([this, &worker] { report_ = worker.RunOnce(); }) {}
  ~RunOnceThread() {
    if (thread_.joinable()) thread_.join();
  }
  JobReport Join() {
    thread_.join();
    BOOST_REQUIRE_MESSAGE(report_.ok(), report_.status().ToString());
    BOOST_REQUIRE(report_->has_value());
    return **report_;
  }

 private:
  Result<std::optional<JobReport>> report_ = Status::Internal("not run");
  std::thread thread_;
};

JobReport RunOne(Worker& worker) {
  auto report = worker.RunOnce();
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  BOOST_REQUIRE(report->has_value());
  return **report;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(JobLoop, WorkerFixture)

BOOST_AUTO_TEST_CASE(TinyJobSucceedsWithItsPngAndNothingElse) {
  const std::string scene = SceneJson(8, 6, 3);
  const Job job = Submit(scene);
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const JobReport report = RunOne(worker);
  BOOST_CHECK_EQUAL(report.job_id, job.id);
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kSucceeded);

  const Job done = Get(job.id);
  BOOST_CHECK_EQUAL(done.state, JobState::kSucceeded);
  BOOST_CHECK(done.device == std::optional<std::string>("cpu"));
  BOOST_CHECK(done.render_seconds.has_value() && done.samples_per_second.value_or(0) > 0);
  const std::vector<std::uint8_t> png = ReadBytes(results / (job.id + ".png"));
  BOOST_CHECK(png == CleanRender(scene));
  BOOST_CHECK(done.result_etag == std::optional<std::string>(StrongEtag(png)));
  BOOST_CHECK(ResultFiles() == std::vector<std::string>{job.id + ".png"});

  auto empty = worker.RunOnce();
  BOOST_REQUIRE(empty.ok());
  BOOST_CHECK(!empty->has_value());
}

BOOST_AUTO_TEST_CASE(JobsRunInSubmissionOrder) {
  std::vector<std::string> submitted;
  for (int seed = 0; seed < 4; ++seed) submitted.push_back(Submit(SceneJson(4, 4, 1, seed)).id);
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  std::vector<std::string> ran;
  for (int i = 0; i < 4; ++i) ran.push_back(RunOne(worker).job_id);
  BOOST_CHECK_EQUAL_COLLECTIONS(ran.begin(), ran.end(), submitted.begin(), submitted.end());
}

BOOST_AUTO_TEST_CASE(CancelStopsARunningRenderWithinOneSecond) {
  const Job job = Submit(kLongScene);
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  RunOnceThread run(worker);
  BOOST_REQUIRE(WaitUntil([&] { return Get(job.id).progress > 0; }, milliseconds(20000)));
  const auto asked = SteadyClock::now();
  auto cancel = store->Cancel(owner_id, job.id);
  BOOST_REQUIRE(cancel.ok());
  BOOST_CHECK(cancel->kind == CancelOutcome::Kind::kCancelRequested);
  const JobReport report = run.Join();
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - asked).count();
  BOOST_TEST_MESSAGE("canceled after " << seconds << " s");
  BOOST_CHECK_LT(seconds, 1.0);
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kCanceled);
  BOOST_CHECK_EQUAL(Get(job.id).state, JobState::kCanceled);
  BOOST_CHECK(ResultFiles().empty());  // no preview, checkpoint or temp left
}

BOOST_AUTO_TEST_CASE(BadStoredSceneFailsAsInvalidScene) {
  const Job job = Submit("{\"width\": 0}");  // JSON, but no scene
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kFailed);
  const Job failed = Get(job.id);
  BOOST_CHECK_EQUAL(failed.state, JobState::kFailed);
  BOOST_CHECK(failed.error_code == std::optional<std::string>(std::string(kErrorInvalidScene)));
}

BOOST_AUTO_TEST_CASE(DeviceFaultReleasesWithoutAnAttemptThenFallsBackToTheCpu) {
  const std::string scene = SceneJson(8, 6, 2);
  const Job job = Submit(scene);
  int probes = 0;
  WorkerOptions options = Options("0");
  options.cuda_device = 0;
  options.factory = FaultyGpuFactory;
  options.probe = [&](int) -> Result<std::string> {
    if (++probes == 1) return std::string("cuda:0 Injected");
    return Status::DeviceFault("injected: the device stays broken");
  };
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  BOOST_CHECK_EQUAL(worker.device().label, "cuda:0 Injected");

  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kDeviceFault);
  const Job released = Get(job.id);
  BOOST_CHECK_EQUAL(released.state, JobState::kQueued);
  BOOST_CHECK_EQUAL(released.attempts, 0);
  BOOST_CHECK(released.position == std::optional<std::int64_t>(1));

  // The device is checked again before the next claim: it fails, so the CPU.
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kSucceeded);
  BOOST_CHECK_EQUAL(probes, 2);
  BOOST_CHECK(worker.device().fallback);
  const Job done = Get(job.id);
  BOOST_CHECK(done.device == std::optional<std::string>("cpu"));
  BOOST_CHECK_EQUAL(done.attempts, 0);
  auto queue = store->Queue();
  BOOST_REQUIRE(queue.ok());
  BOOST_REQUIRE_EQUAL(queue->workers.size(), 1u);
  BOOST_CHECK(queue->workers[0].fallback);
  BOOST_CHECK_EQUAL(queue->workers[0].device, "cpu");
}

BOOST_AUTO_TEST_CASE(AJobThatFaultsAHealthyDeviceRepeatedlyFails) {
  const Job job = Submit(SceneJson(8, 6, 2));
  WorkerOptions options = Options("0");
  options.cuda_device = 0;
  options.factory = FaultyGpuFactory;
  options.probe = [](int) -> Result<std::string> { return std::string("cuda:0 Injected"); };
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kDeviceFault);
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kDeviceFault);
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kFailed);
  const Job failed = Get(job.id);
  BOOST_CHECK(failed.error_code == std::optional<std::string>(std::string(kErrorRenderFailed)));
  BOOST_CHECK_EQUAL(failed.attempts, 0);
}

BOOST_AUTO_TEST_CASE(StopCheckpointsAndTheNextAttemptResumesByteIdentical) {
  const std::string scene = SceneJson(64, 48, 3000);
  const Job job = Submit(scene);
  WorkerOptions options = Options();
  options.job.heartbeat.stop_finish_seconds = 0;  // always hand back on stop
  options.factory = [this](const SceneDescription& description,
                           const RendererOptions& renderer) -> Result<std::unique_ptr<Renderer>> {
    ASSIGN_OR_RETURN(std::unique_ptr<Renderer> inner, CreateRenderer(description, renderer));
    return std::unique_ptr<Renderer>(
        std::make_unique<StopAfterFirstPassRenderer>(description, std::move(inner), &stop));
  };
  Worker stopping_worker(*store, log, options, &stop);
  BOOST_REQUIRE(stopping_worker.Start().ok());
  const JobReport first = RunOne(stopping_worker);
  BOOST_CHECK_EQUAL(first.outcome, JobOutcome::kReleased);
  BOOST_CHECK_GT(first.samples_done, 0);
  BOOST_CHECK_LT(first.samples_done, 3000);
  const Job released = Get(job.id);
  BOOST_CHECK_EQUAL(released.state, JobState::kQueued);
  BOOST_CHECK_EQUAL(released.attempts, 0);
  BOOST_CHECK(std::filesystem::exists(results / (job.id + ".ckpt")));

  stop = false;
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const JobReport second = RunOne(worker);
  BOOST_CHECK_EQUAL(second.outcome, JobOutcome::kSucceeded);
  BOOST_CHECK_EQUAL(second.resumed_from, first.samples_done);  // nothing rendered twice
  BOOST_CHECK(ReadBytes(results / (job.id + ".png")) == CleanRender(scene));
  BOOST_CHECK(ResultFiles() == std::vector<std::string>{job.id + ".png"});
}

BOOST_AUTO_TEST_CASE(ARestartedWorkerTakesBackWhatItsDeadPredecessorHeld) {
  const std::string scene = SceneJson(8, 6, 3);
  const Job left = Submit(scene);
  const Job other = Submit(scene);
  // A process named "cpu" claimed the first job and died; "gpu0" is alive.
  BOOST_REQUIRE(store->ClaimNext("cpu")->has_value());
  BOOST_REQUIRE(store->ClaimNext("gpu0")->has_value());
  WorkerOptions options = Options("cpu");
  auto lock = store->LockWorkerName("cpu");  // an flock: it proves "cpu" dead
  BOOST_REQUIRE_MESSAGE(lock.ok(), lock.status().ToString());
  options.name_lock = lock->get();
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job back = Get(left.id);
  BOOST_CHECK_EQUAL(back.state, JobState::kQueued);  // without waiting for the lease
  BOOST_CHECK_EQUAL(back.attempts, 1);
  BOOST_CHECK_EQUAL(Get(other.id).state, JobState::kRunning);
  const JobReport report = RunOne(worker);
  BOOST_CHECK_EQUAL(report.job_id, left.id);
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kSucceeded);
}

BOOST_AUTO_TEST_CASE(ALostLeaseEndsTheAttemptQuietly) {
  const Job job = Submit(kLongScene);
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  RunOnceThread run(worker);
  BOOST_REQUIRE(
      WaitUntil([&] { return Get(job.id).state == JobState::kRunning; }, milliseconds(5000)));
  // Another process with a very short lease timeout sees the heartbeat as lapsed.
  StoreOptions impatient;
  impatient.results_dir = results.string();
  impatient.rules.lease_timeout_ms = 1;
  auto other = OpenJobStore((dir / "queue.db").string(), impatient);
  BOOST_REQUIRE(other.ok());
  BOOST_REQUIRE(WaitUntil(
      [&] {
        const Result<int> touched = (*other)->RequeueLapsed();
        return touched.ok() && *touched > 0;
      },
      milliseconds(5000)));
  const JobReport report = run.Join();
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kLeaseLost);
  const Job requeued = Get(job.id);
  BOOST_CHECK_EQUAL(requeued.state, JobState::kQueued);
  BOOST_CHECK_EQUAL(requeued.attempts, 1);
  BOOST_CHECK(!std::filesystem::exists(results / (job.id + ".png")));
}

// Self-fencing: while the database refuses every write (another connection
// holds SQLite's write lock), the heartbeats block and the worker stops
// rendering on its own clock, long before the job would be done; once the
// database is back it keeps what it rendered (a checkpoint) and hands the job
// back without spending an attempt.
BOOST_AUTO_TEST_CASE(AWorkerThatCannotRenewItsLeaseStopsRenderingOnItsOwn) {
  const Job job = Submit(kLongScene);
  WorkerOptions options = Options();
  options.job.checkpoint_seconds = 60;  // no periodic checkpoint: the last one is the fence's
  options.job.heartbeat.self_fence_after = milliseconds(400);
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  RunOnceThread run(worker);
  BOOST_REQUIRE(WaitUntil([&] { return Get(job.id).progress > 0; }, milliseconds(10000)));
  sqlite3* blocker = nullptr;
  BOOST_REQUIRE(sqlite3_open((dir / "queue.db").c_str(), &blocker) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(blocker, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  // Held for longer than the fence, shorter than the store's busy timeout.
  std::this_thread::sleep_for(milliseconds(2000));
  sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(blocker);
  const JobReport report = run.Join();
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kReleased);
  BOOST_CHECK_LT(report.samples_done, 20000);
  const Job back = Get(job.id);
  BOOST_CHECK_EQUAL(back.state, JobState::kQueued);
  BOOST_CHECK_EQUAL(back.attempts, 0);  // the network's fault, not the job's
  BOOST_CHECK(back.progress > 0);       // resumes from what the fence saved
  const std::vector<std::uint8_t> bytes = ReadBytes(dir / "worker.log");
  const std::string text(bytes.begin(), bytes.end());
  BOOST_CHECK(text.find("lease_expired job=" + job.id) != std::string::npos);
  BOOST_CHECK(text.find("released job=" + job.id + " reason=lease_expired") != std::string::npos);
}

// A claim whose answer came after the fence (held up by a partition or a slow
// link: bench/ha saw it) renders nothing, not even a one-sample job the watchdog
// thread could be too late for: the lease may be another host's by then.
BOOST_AUTO_TEST_CASE(AClaimAnsweredAfterTheFenceRendersNothing) {
  const Job job = Submit(SceneJson(1, 1, 1));
  WorkerOptions options = Options();
  options.job.worker_name = "cpu";
  options.job.heartbeat.self_fence_after = milliseconds(400);
  JobRunner runner(*store, log, options.job, options.factory, &stop);
  auto claimed = store->ClaimNext("cpu");
  BOOST_REQUIRE(claimed.ok() && claimed->has_value());
  DeviceChoice cpu;
  cpu.label = "cpu";
  const JobReport report = runner.Run(**claimed, cpu, SteadyClock::now() - milliseconds(1000));
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kReleased);
  BOOST_CHECK_EQUAL(report.samples_done, 0);
  const Job back = Get(job.id);
  BOOST_CHECK_EQUAL(back.state, JobState::kQueued);
  BOOST_CHECK_EQUAL(back.attempts, 0);
  const std::vector<std::uint8_t> bytes = ReadBytes(dir / "worker.log");
  const std::string text(bytes.begin(), bytes.end());
  BOOST_CHECK(text.find("lease_expired job=" + job.id) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(AnIdleWorkerWakesOnACommitAndStopsWhenTold) {
  // With an idle wait far longer than the test, only the commit's
  // notification can make the worker claim (bench/pickup measures how fast).
  WorkerOptions options = Options();
  options.idle_wait = std::chrono::minutes(10);
  Worker worker(*store, log, options, &stop);
  Status ran;
  std::thread loop([&] { ran = worker.Run(); });
  BOOST_REQUIRE(WaitUntil([&] { return store->Queue().ok() && !store->Queue()->workers.empty(); },
                          milliseconds(5000)));
  std::this_thread::sleep_for(milliseconds(300));  // properly idle
  const auto submitted = SteadyClock::now();
  const Job job = Submit(SceneJson(1, 1, 1));
  BOOST_REQUIRE(
      WaitUntil([&] { return Get(job.id).state != JobState::kQueued; }, milliseconds(5000)));
  const double latency = std::chrono::duration<double>(SteadyClock::now() - submitted).count();
  BOOST_TEST_MESSAGE("picked up after " << latency * 1000 << " ms");
  BOOST_REQUIRE(
      WaitUntil([&] { return Get(job.id).state == JobState::kSucceeded; }, milliseconds(5000)));
  // The stop flag alone does not interrupt the wait (renderq-worker's signal
  // thread also interrupts the poll): any commit ends it, and then the worker
  // stops instead of claiming.
  stop = true;
  BOOST_REQUIRE(store->RegisterWorker(WorkerInfo{"bystander", "cpu", false, 1, 0, {}, 0}).ok());
  const Job left = Submit(SceneJson(1, 1, 1));
  loop.join();
  BOOST_CHECK(ran.ok());
  BOOST_CHECK_EQUAL(Get(left.id).state, JobState::kQueued);  // stopped before claiming it
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
