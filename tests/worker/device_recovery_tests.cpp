// Getting back to the GPU, and checkpoints the renderer refuses: a periodic
// recheck on the CPU fallback, a fresh process after a sticky CUDA error, and
// a job whose checkpoint another backend wrote starting over (logged).
#include <boost/test/unit_test.hpp>

#include <thread>

#include "kernels/flat_scene.h"
#include "tests/worker/worker_fixture.h"

namespace renderq::testing {
namespace {

using std::chrono::milliseconds;

JobReport RunOne(Worker& worker) {
  auto report = worker.RunOnce();
  BOOST_REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  BOOST_REQUIRE(report->has_value());
  return **report;
}

std::string ReadLog(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = ReadBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

// The real CPU renderer under another origin: what a GPU worker's renderer
// writes into a checkpoint, without a GPU.
class OtherOriginRenderer final : public Renderer {
 public:
  OtherOriginRenderer(const SceneDescription& scene, const StateOrigin& origin)
      : Renderer(scene, kernels::BuildFlatScene(scene).Fingerprint(), origin) {
    auto inner = Renderer::Create(scene, RendererOptions{});
    BOOST_REQUIRE(inner.ok());
    inner_ = std::move(inner).value();
  }
  Status RenderPass(int samples, const std::atomic<bool>* cancel) override {
    const Status s = inner_->RenderPass(samples, cancel);
    set_samples_done(inner_->samples_done());
    return s;
  }
  std::string device_name() const override { return "cuda:0 Injected"; }
  Result<std::vector<float>> Accumulation() override { return inner_->Accumulation(); }

 protected:
  Status SetAccumulation(std::span<const float> /*sums*/) override { return Status::Ok(); }

 private:
  std::unique_ptr<Renderer> inner_;
};

// A "GPU" whose renderer fails its passes with a device fault.
class FailingRenderer final : public Renderer {
 public:
  FailingRenderer(const SceneDescription& scene, std::atomic<bool>* lost)
      : Renderer(scene, /*fingerprint=*/1), lost_(lost) {}
  Status RenderPass(int, const std::atomic<bool>*) override {
    lost_->store(true);  // as a sticky error would
    return Status::DeviceFault("injected: an illegal address; the CUDA context is lost");
  }
  std::string device_name() const override { return "cuda:0 Injected"; }
  Result<std::vector<float>> Accumulation() override {
    return std::vector<float>(static_cast<std::size_t>(width()) * height() * 3, 0.0f);
  }

 protected:
  Status SetAccumulation(std::span<const float>) override { return Status::Ok(); }

 private:
  std::atomic<bool>* lost_;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(DeviceRecovery, WorkerFixture)

BOOST_AUTO_TEST_CASE(TheCpuFallbackChecksTheGpuAgainAndReturnsToIt) {
  int probes = 0;
  std::vector<RenderBackend> asked;
  WorkerOptions options = Options("0");
  options.cuda_device = 0;
  options.gpu_recheck_interval = milliseconds(50);
  options.probe = [&](int) -> Result<std::string> {
    if (++probes == 1) return Status::Unavailable("injected: the driver is not loaded yet");
    return std::string("cuda:0 Injected");
  };
  options.factory = [&](const SceneDescription& scene, const RendererOptions& o) {
    asked.push_back(o.backend);
    RendererOptions cpu = o;
    cpu.backend = RenderBackend::kCpu;
    return CreateRenderer(scene, cpu);
  };
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  BOOST_CHECK(worker.device().fallback);

  // Within the interval the fallback stays as it is.
  BOOST_REQUIRE(worker.RunOnce().ok());
  BOOST_CHECK_EQUAL(probes, 1);
  std::this_thread::sleep_for(milliseconds(80));
  Submit(SceneJson(8, 6, 2));
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kSucceeded);
  BOOST_CHECK_EQUAL(probes, 2);
  BOOST_CHECK(!worker.device().fallback);
  BOOST_CHECK_EQUAL(worker.device().label, "cuda:0 Injected");
  BOOST_REQUIRE_EQUAL(asked.size(), 1u);
  BOOST_CHECK(asked[0] == RenderBackend::kCuda);
  auto queue = store->Queue();
  BOOST_REQUIRE(queue.ok());
  BOOST_REQUIRE_EQUAL(queue->workers.size(), 1u);
  BOOST_CHECK(!queue->workers[0].fallback);
  BOOST_CHECK_EQUAL(queue->workers[0].device, "cuda:0 Injected");

  // On the GPU there is nothing to recheck.
  std::this_thread::sleep_for(milliseconds(80));
  BOOST_REQUIRE(worker.RunOnce().ok());
  BOOST_CHECK_EQUAL(probes, 2);
}

BOOST_AUTO_TEST_CASE(AStickyErrorHandsTheJobBackAndAsksForAFreshProcess) {
  const Job job = Submit(SceneJson(8, 6, 2));
  std::atomic<bool> lost{false};
  WorkerOptions options = Options("0");
  options.cuda_device = 0;
  options.cuda_context_lost = [&] { return lost.load(); };
  options.probe = [&](int) -> Result<std::string> {
    if (lost.load()) return Status::DeviceFault("injected: the CUDA context is lost");
    return std::string("cuda:0 Injected");
  };
  options.factory = [&](const SceneDescription& scene,
                        const RendererOptions& o) -> Result<std::unique_ptr<Renderer>> {
    if (o.backend == RenderBackend::kCuda) {
      return std::unique_ptr<Renderer>(std::make_unique<FailingRenderer>(scene, &lost));
    }
    return CreateRenderer(scene, o);
  };
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kDeviceFault);
  BOOST_CHECK(!worker.needs_fresh_process());  // decided at the recheck before the next claim

  // The recheck finds the context lost: claim nothing, ask for a new process.
  auto next = worker.RunOnce();
  BOOST_REQUIRE(next.ok());
  BOOST_CHECK(!next->has_value());
  BOOST_CHECK(worker.needs_fresh_process());
  const Job waiting = Get(job.id);
  BOOST_CHECK_EQUAL(waiting.state, JobState::kQueued);
  BOOST_CHECK_EQUAL(waiting.attempts, 0);
  const Status ran = worker.Run();
  BOOST_CHECK_EQUAL(ran.code(), StatusCode::kDeviceFault);
  BOOST_CHECK_EQUAL(Get(job.id).state, JobState::kQueued);
  BOOST_CHECK(ReadLog(dir / "worker.log").find("gpu_context_lost") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(AContextLostAtTheFirstCheckStaysOnTheCpu) {
  // A fresh process whose smoke render already hits a sticky error: exiting
  // again would only loop, so it renders on the CPU.
  const Job job = Submit(SceneJson(8, 6, 2));
  WorkerOptions options = Options("0");
  options.cuda_device = 0;
  options.gpu_recheck_interval = milliseconds(0);
  options.cuda_context_lost = [] { return true; };
  options.probe = [](int) -> Result<std::string> {
    return Status::DeviceFault("injected: an illegal address in the smoke render");
  };
  Worker worker(*store, log, options, &stop);
  BOOST_REQUIRE(worker.Start().ok());
  BOOST_CHECK(worker.device().fallback);
  BOOST_CHECK(worker.device().context_lost);
  BOOST_CHECK_EQUAL(RunOne(worker).outcome, JobOutcome::kSucceeded);
  BOOST_CHECK(!worker.needs_fresh_process());
  BOOST_CHECK(Get(job.id).device == std::optional<std::string>("cpu"));
}

BOOST_AUTO_TEST_CASE(ACheckpointFromAnotherBackendIsLoggedAndTheJobStartsOver) {
  const std::string scene_json = SceneJson(16, 12, 6);
  const Job job = Submit(scene_json);
  const SceneDescription scene = ParseScene(scene_json).scene();
  {
    // What a GPU worker left behind: 4 samples from cuda sm_90, stored as its
    // checkpoint before it handed the job back.
    OtherOriginRenderer gpu(scene, StateOrigin{RenderBackend::kCuda, 90, Estimator::kNextEventMis});
    BOOST_REQUIRE(gpu.RenderPass(4, nullptr).ok());
    auto state = gpu.ExportState();
    BOOST_REQUIRE(state.ok());
    auto claimed = store->ClaimNext("gpu-host");
    BOOST_REQUIRE(claimed.ok() && claimed->has_value());
    BOOST_REQUIRE(store->SaveCheckpoint((*claimed)->lease, *state, 4).ok());
    BOOST_REQUIRE(store->Release((*claimed)->lease, /*spend_attempt=*/false).ok());
  }
  Worker worker(*store, log, Options(), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const JobReport report = RunOne(worker);
  BOOST_CHECK_EQUAL(report.outcome, JobOutcome::kSucceeded);
  BOOST_CHECK_EQUAL(report.resumed_from, 0);
  const std::string logged = ReadLog(dir / "worker.log");
  const size_t at = logged.find("checkpoint_ignored job=" + job.id);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, logged);
  BOOST_CHECK(logged.find("cuda sm_90, nee-mis", at) != std::string::npos);
  // The image is the CPU's own from sample 0, so its ETag matches its bytes.
  BOOST_CHECK(ReadBytes(results / (job.id + ".png")) == CleanRender(scene_json));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
