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

#include "kernels/png_writer.h"
#include "kernels/renderer.h"
#include "tests/kernels/test_scenes.h"

namespace renderq {
namespace {

std::unique_ptr<Renderer> MakeCpu(const SceneDescription& s, int threads) {
  auto r = Renderer::Create(s, RendererOptions{RenderBackend::kCpu, 0, threads});
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

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

  TempDir dir;
  const std::string path = dir.File("state.bin");
  {
    auto first = MakeCpu(s, 3);
    BOOST_REQUIRE(first->RenderPass(3, nullptr).ok());
    BOOST_REQUIRE(first->SaveState(path).ok());
  }  // the "crash"
  auto resumed = MakeCpu(s, 1);
  const Status loaded = resumed->LoadState(path);
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

// A state whose checksum is right but whose content no render of this scene
// writes (found by tests/fuzz/checkpoint_fuzz.cpp): a sample count beyond the
// scene's made samples_done() negative, and a NaN sum reached the image.
BOOST_AUTO_TEST_CASE(hostile_state_with_a_valid_checksum_is_refused) {
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
    std::memcpy(state.data() + 20, &samples, 4);
    BOOST_TEST(r->ImportState(rechecksummed(state)).code() == StatusCode::kInvalidArgument,
               "samples_done " << samples);
  }
  for (const float sum :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -1.0f}) {
    std::vector<std::uint8_t> state = *bytes;
    std::memcpy(state.data() + 32 + 4 * 5, &sum, 4);
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
