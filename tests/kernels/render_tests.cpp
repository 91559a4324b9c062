// Renderer behaviour on the CPU backend: energy conservation, determinism,
// resume from an exported state, cancel, state validation.
#include <boost/test/unit_test.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <limits>
#include <thread>

#include "kernels/flat_scene.h"
#include "kernels/png_writer.h"
#include "kernels/renderer.h"
#include "tests/kernels/test_scenes.h"

namespace renderq {
namespace {

std::unique_ptr<Renderer> MakeCpu(const SceneDescription& s, int threads,
                                  Estimator estimator = Estimator::kNextEventMis) {
  RendererOptions o;
  o.cpu_threads = threads;
  o.estimator = estimator;
  auto r = Renderer::Create(s, o);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

// The CPU renderer presenting itself as another backend: what a state written
// by a GPU worker looks like to a CPU one, without a GPU.
class ForeignOriginRenderer final : public Renderer {
 public:
  ForeignOriginRenderer(const SceneDescription& scene, const StateOrigin& origin)
      : Renderer(scene, kernels::BuildFlatScene(scene).Fingerprint(), origin),
        inner_(MakeCpu(scene, 1)) {}
  Status RenderPass(int samples, const std::atomic<bool>* cancel) override {
    const Status s = inner_->RenderPass(samples, cancel);
    set_samples_done(inner_->samples_done());
    return s;
  }
  std::string device_name() const override { return "cuda:0 Pretend"; }
  Result<std::vector<float>> Accumulation() override { return inner_->Accumulation(); }

 protected:
  Status SetAccumulation(std::span<const float> /*sums*/) override { return Status::Ok(); }

 private:
  std::unique_ptr<Renderer> inner_;
};

std::vector<float> Sums(Renderer& r) {
  auto a = r.Accumulation();
  BOOST_REQUIRE(a.ok());
  return *a;
}

// A fresh directory under TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "renderq-kernels-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const char* name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

BOOST_AUTO_TEST_SUITE(KernelsRender)

BOOST_AUTO_TEST_CASE(white_furnace_lambertian_sphere_matches_sky) {
  constexpr float kSky = 0.5f;
  auto r = MakeCpu(testing::FurnaceScene(kSky), 0);
  BOOST_REQUIRE(r->RenderPass(64, nullptr).ok());
  const std::vector<float> sums = Sums(*r);
  double total = 0.0;
  for (float v : sums) total += v;
  const double mean = total / (static_cast<double>(sums.size()) * r->samples_done());
  BOOST_TEST(mean == kSky, boost::test_tools::tolerance(0.01));
}

BOOST_AUTO_TEST_CASE(result_does_not_depend_on_thread_count_or_pass_split) {
  const SceneDescription s = testing::MixedScene(48, 32);
  auto one = MakeCpu(s, 1);
  BOOST_REQUIRE(one->RenderPass(6, nullptr).ok());
  auto many = MakeCpu(s, 5);
  for (int pass : {1, 2, 3}) BOOST_REQUIRE(many->RenderPass(pass, nullptr).ok());
  BOOST_TEST(one->samples_done() == 6);
  BOOST_TEST(many->samples_done() == 6);
  BOOST_TEST((Sums(*one) == Sums(*many)));
}

BOOST_AUTO_TEST_CASE(resume_from_exported_state_is_byte_identical) {
  const SceneDescription s = testing::MixedScene(40, 30);
  auto straight = MakeCpu(s, 2);
  BOOST_REQUIRE(straight->RenderPass(8, nullptr).ok());

  std::vector<std::uint8_t> state;
  {
    auto first = MakeCpu(s, 3);
    BOOST_REQUIRE(first->RenderPass(3, nullptr).ok());
    auto exported = first->ExportState();
    BOOST_REQUIRE(exported.ok());
    state = std::move(*exported);
  }  // the "crash"
  auto resumed = MakeCpu(s, 1);
  const Status loaded = resumed->ImportState(state);
  BOOST_REQUIRE_MESSAGE(loaded.ok(), loaded.ToString());
  BOOST_TEST(resumed->samples_done() == 3);
  BOOST_REQUIRE(resumed->RenderPass(5, nullptr).ok());

  auto a = straight->ImageRgb8();
  auto b = resumed->ImageRgb8();
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(b.ok());
  BOOST_TEST((*a == *b));
  auto sa = straight->ExportState();
  auto sb = resumed->ExportState();
  BOOST_TEST((*sa == *sb));
}

BOOST_AUTO_TEST_CASE(state_of_another_scene_or_corrupted_is_refused) {
  const SceneDescription s = testing::MixedScene(16, 16);
  auto r = MakeCpu(s, 1);
  BOOST_REQUIRE(r->RenderPass(1, nullptr).ok());
  auto bytes = r->ExportState();
  BOOST_REQUIRE(bytes.ok());

  SceneDescription other_seed = s;
  other_seed.seed = 99;
  auto other = MakeCpu(other_seed, 1);
  BOOST_TEST(other->ImportState(*bytes).code() == StatusCode::kInvalidArgument);

  std::vector<std::uint8_t> flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  BOOST_TEST(r->ImportState(flipped).code() == StatusCode::kInvalidArgument);
  std::vector<std::uint8_t> truncated(bytes->begin(), bytes->end() - 1);
  BOOST_TEST(r->ImportState(truncated).code() == StatusCode::kInvalidArgument);
  BOOST_TEST(r->samples_done() == 1);  // refused imports leave the state alone
  BOOST_TEST(r->ImportState(*bytes).ok());
}

BOOST_AUTO_TEST_CASE(state_of_another_backend_or_estimator_is_refused_naming_both) {
  const SceneDescription s = testing::MixedScene(16, 16);
  auto cpu = MakeCpu(s, 1);
  BOOST_REQUIRE(cpu->RenderPass(2, nullptr).ok());
  BOOST_TEST(StateOriginName(cpu->origin()) == "cpu, nee-mis");

  // Written on a GPU: refused by the CPU renderer, which keeps its own state.
  ForeignOriginRenderer gpu(s, StateOrigin{RenderBackend::kCuda, 90, Estimator::kNextEventMis});
  BOOST_REQUIRE(gpu.RenderPass(3, nullptr).ok());
  auto gpu_state = gpu.ExportState();
  BOOST_REQUIRE(gpu_state.ok());
  Status st = cpu->ImportState(*gpu_state);
  BOOST_TEST(st.code() == StatusCode::kInvalidArgument);
  BOOST_TEST(st.message().find("cuda sm_90, nee-mis") != std::string::npos, st.message());
  BOOST_TEST(st.message().find("cpu, nee-mis") != std::string::npos, st.message());
  BOOST_TEST(cpu->samples_done() == 2);

  // And the other way round; another GPU architecture is another origin too.
  auto cpu_state = cpu->ExportState();
  BOOST_REQUIRE(cpu_state.ok());
  BOOST_TEST(gpu.ImportState(*cpu_state).code() == StatusCode::kInvalidArgument);
  ForeignOriginRenderer other_gpu(s,
                                  StateOrigin{RenderBackend::kCuda, 80, Estimator::kNextEventMis});
  BOOST_TEST(other_gpu.ImportState(*gpu_state).code() == StatusCode::kInvalidArgument);
  ForeignOriginRenderer same_gpu(s,
                                 StateOrigin{RenderBackend::kCuda, 90, Estimator::kNextEventMis});
  BOOST_TEST(same_gpu.ImportState(*gpu_state).ok());

  // Another estimator, same backend.
  auto bsdf = MakeCpu(s, 1, Estimator::kBsdfSampling);
  BOOST_REQUIRE(bsdf->RenderPass(1, nullptr).ok());
  st = cpu->ImportState(*bsdf->ExportState());
  BOOST_TEST(st.code() == StatusCode::kInvalidArgument);
  BOOST_TEST(st.message().find("cpu, bsdf") != std::string::npos, st.message());
}

BOOST_AUTO_TEST_CASE(state_from_before_light_sampling_is_refused) {
  // Version 1: "RQSTATE1", u32 1, then width, height, samples, fingerprint...
  const SceneDescription s = testing::MixedScene(4, 4);
  std::vector<std::uint8_t> v1 = {'R', 'Q', 'S', 'T', 'A', 'T', 'E', '1', 1, 0, 0, 0};
  v1.resize(8 + 4 * 4 + 8 + 4 * 4 * 3 * 4 + 8, 0);
  auto r = MakeCpu(s, 1);
  const Status st = r->ImportState(v1);
  BOOST_TEST(st.code() == StatusCode::kInvalidArgument);
  BOOST_TEST(st.message().find("version 1") != std::string::npos, st.message());
}

BOOST_AUTO_TEST_CASE(stats_count_rays_and_passes) {
  auto r = MakeCpu(testing::MixedScene(16, 8), 2);
  BOOST_REQUIRE(r->RenderPass(2, nullptr).ok());
  BOOST_REQUIRE(r->RenderPass(3, nullptr).ok());
  const RenderStats& st = r->stats();
  BOOST_TEST(st.launches == 2u);
  BOOST_TEST(st.pixel_samples == 16.0 * 8 * 5);
  // At least one camera ray per sample, at most a bounce and a shadow ray per depth.
  BOOST_TEST(st.rays >= static_cast<std::uint64_t>(16 * 8 * 5));
  BOOST_TEST(st.rays <= static_cast<std::uint64_t>(16 * 8 * 5 * 2 * 8));
  BOOST_TEST(st.device_seconds == st.render_seconds);
}

BOOST_AUTO_TEST_CASE(estimators_agree_on_a_furnace_and_next_event_is_the_default) {
  BOOST_TEST((RendererOptions{}.estimator == Estimator::kNextEventMis));
  auto nee = MakeCpu(testing::FurnaceScene(0.5f), 0);
  auto bsdf = MakeCpu(testing::FurnaceScene(0.5f), 0, Estimator::kBsdfSampling);
  BOOST_REQUIRE(nee->RenderPass(8, nullptr).ok());
  BOOST_REQUIRE(bsdf->RenderPass(8, nullptr).ok());
  // No emitters: light sampling has nothing to do and draws nothing extra.
  BOOST_TEST((Sums(*nee) == Sums(*bsdf)));
}

// A state whose checksum is right but whose content no render of this scene
// writes (found by tests/fuzz/checkpoint_fuzz.cpp): a sample count beyond the
// scene's made samples_done() negative, and a NaN sum reached the image.
BOOST_AUTO_TEST_CASE(hostile_state_with_a_valid_checksum_is_refused) {
  // The state's layout (kernels/renderer.cpp): magic, version, backend, device
  // architecture, estimator, width, height, samples, fingerprint, then the sums.
  constexpr std::size_t kStateSamplesOffset = 32;
  constexpr std::size_t kStateHeaderBytes = 44;
  const SceneDescription s = testing::MixedScene(8, 8);
  auto r = MakeCpu(s, 1);
  BOOST_REQUIRE(r->RenderPass(1, nullptr).ok());
  auto bytes = r->ExportState();
  BOOST_REQUIRE(bytes.ok());
  auto rechecksummed = [](std::vector<std::uint8_t> state) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a, as the format defines
    for (std::size_t i = 0; i + 8 < state.size(); ++i) h = (h ^ state[i]) * 1099511628211ull;
    std::memcpy(state.data() + state.size() - 8, &h, 8);
    return state;
  };
  BOOST_TEST(r->ImportState(rechecksummed(*bytes)).ok());  // the helper is the format's

  for (const std::uint32_t samples : {std::uint32_t{0xffffffff}, std::uint32_t(s.samples + 1)}) {
    std::vector<std::uint8_t> state = *bytes;
    std::memcpy(state.data() + kStateSamplesOffset, &samples, 4);
    BOOST_TEST(r->ImportState(rechecksummed(state)).code() == StatusCode::kInvalidArgument,
               "samples_done " << samples);
  }
  for (const float sum :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -1.0f}) {
    std::vector<std::uint8_t> state = *bytes;
    std::memcpy(state.data() + kStateHeaderBytes + 4 * 5, &sum, 4);
    BOOST_TEST(r->ImportState(rechecksummed(state)).code() == StatusCode::kInvalidArgument,
               "a sum of " << sum);
  }
  BOOST_TEST(r->samples_done() == 1);
}

BOOST_AUTO_TEST_CASE(cancel_stops_quickly_and_leaves_a_consistent_state) {
  SceneDescription s = testing::MixedScene(160, 120);
  auto r = MakeCpu(s, 2);
  BOOST_REQUIRE(r->RenderPass(1, nullptr).ok());
  const std::vector<float> before = Sums(*r);
  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const Status st = r->RenderPass(100000, &cancel);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stopper.join();
  BOOST_TEST(st.code() == StatusCode::kCancelled);
  BOOST_TEST(seconds < 1.0);
  BOOST_TEST(r->samples_done() == 1);
  BOOST_TEST((Sums(*r) == before));
}

BOOST_AUTO_TEST_CASE(reports_device_and_throughput) {
  auto r = MakeCpu(testing::MixedScene(16, 8), 1);
  BOOST_TEST(r->device_name() == "cpu");
  BOOST_TEST(r->samples_per_second() == 0.0);
  BOOST_REQUIRE(r->RenderPass(2, nullptr).ok());
  BOOST_TEST(r->samples_per_second() > 0.0);
  BOOST_TEST(r->RenderPass(0, nullptr).code() == StatusCode::kInvalidArgument);
}

BOOST_AUTO_TEST_CASE(cuda_backend_absent_or_missing_device_is_unavailable) {
  RendererOptions o;
  o.backend = RenderBackend::kCuda;
  o.cuda_device = 1000;  // no machine has this many GPUs
  auto r = Renderer::Create(testing::MixedScene(8, 8), o);
  BOOST_TEST(r.status().code() == StatusCode::kUnavailable);
  if (!CudaBackendCompiled()) BOOST_TEST(ProbeCudaDevices().empty());
}

BOOST_AUTO_TEST_CASE(png_round_trip) {
  TempDir dir;
  const int w = 5, h = 3;
  std::vector<std::uint8_t> rgb(w * h * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 17);
  BOOST_REQUIRE(WritePngRgb8(dir.File("a.png"), w, h, rgb).ok());
  auto back = ReadPngRgb8(dir.File("a.png"));
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->width == w);
  BOOST_TEST(back->height == h);
  BOOST_TEST((back->rgb == rgb));
  BOOST_TEST(WritePngRgb8(dir.File("b.png"), w + 1, h, rgb).code() == StatusCode::kInvalidArgument);
  BOOST_TEST(WritePngRgb8(dir.File("no/such/dir.png"), w, h, rgb).code() ==
             StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
