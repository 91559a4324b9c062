// The CUDA backend against the CPU one. Every case needs a GPU and skips
// itself (Boost.Test precondition) on a machine without one.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>

#include "kernels/kernel_info.h"
#include "kernels/renderer.h"
#include "tests/kernels/block_stats.h"
#include "tests/kernels/image_compare.h"
#include "tests/kernels/test_scenes.h"

namespace renderq {
namespace {

boost::test_tools::assertion_result HasCudaDevice(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result has(!ProbeCudaDevices().empty());
  if (!has) has.message() << "no CUDA device (or no CUDA backend in this build)";
  return has;
}

std::unique_ptr<Renderer> Make(const SceneDescription& s, RenderBackend backend,
                               Estimator estimator = Estimator::kNextEventMis, int lanes = 0) {
  RendererOptions o;
  o.backend = backend;
  o.estimator = estimator;
  o.cuda_sample_lanes = lanes;
  auto r = Renderer::Create(s, o);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

std::vector<std::uint8_t> Image(Renderer& r) {
  auto image = r.ImageRgb8();
  BOOST_REQUIRE_MESSAGE(image.ok(), image.status().ToString());
  return *image;
}

BOOST_AUTO_TEST_SUITE(KernelsCuda, *boost::unit_test::precondition(HasCudaDevice))

BOOST_AUTO_TEST_CASE(agrees_with_cpu_within_noise) {
  const SceneDescription s = testing::MixedScene(96, 64);
  for (Estimator e : {Estimator::kNextEventMis, Estimator::kBsdfSampling}) {
    BOOST_TEST_CONTEXT(EstimatorName(e)) {
      auto gpu = Make(s, RenderBackend::kCuda, e);
      auto cpu = Make(s, RenderBackend::kCpu, e);
      BOOST_REQUIRE(gpu->RenderPass(256, nullptr).ok());
      BOOST_REQUIRE(cpu->RenderPass(256, nullptr).ok());
      BOOST_TEST(gpu->device_name().rfind("cuda:0 ", 0) == 0u);
      const double psnr = testing::Psnr(Image(*gpu), Image(*cpu));
      BOOST_TEST_MESSAGE(EstimatorName(e) << ": CPU vs CUDA PSNR " << psnr << " dB");
      BOOST_TEST(psnr >= 30.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(next_event_estimation_on_the_gpu_is_unbiased) {
  // The GPU's image and block means against the BSDF-sampling reference of
  // the Cornell box (tests/kernels/unbiased_tests.cpp has the tolerance).
  auto scene = testing::LoadSceneFile("examples/cornell_box.json");
  BOOST_REQUIRE(scene.has_value());
  scene->width = 64;
  scene->height = 64;
  std::ifstream in(std::string(RENDERQ_SOURCE_DIR) + "/tests/kernels/reference/cornell_box.json");
  std::stringstream text;
  text << in.rdbuf();
  testing::BlockStats ref;
  std::string error;
  BOOST_REQUIRE_MESSAGE(testing::BlockStatsFromJson(text.str(), &ref, &error), error);
  RendererOptions o;
  o.backend = RenderBackend::kCuda;
  const testing::BlockStats gpu = testing::RenderBlockStats(*scene, o, 4096, 32);
  BOOST_REQUIRE_EQUAL(gpu.blocks.size(), ref.blocks.size());
  auto z = [](const testing::MeanAndError& a, const testing::MeanAndError& b, int c) {
    return (a.mean[c] - b.mean[c]) / std::sqrt(a.se[c] * a.se[c] + b.se[c] * b.se[c]);
  };
  for (int c = 0; c < 3; ++c) BOOST_TEST(std::fabs(z(gpu.image, ref.image, c)) <= 5.0);
  for (size_t b = 0; b < ref.blocks.size(); ++b) {
    for (int c = 0; c < 3; ++c) {
      BOOST_TEST(std::fabs(z(gpu.blocks[b], ref.blocks[b], c)) <= 5.0, "block " << b);
    }
  }
}

BOOST_AUTO_TEST_CASE(sample_lanes_and_launch_sizes_do_not_change_a_bit) {
  const SceneDescription s = testing::MixedScene(40, 24);
  auto one = Make(s, RenderBackend::kCuda, Estimator::kNextEventMis, /*lanes=*/1);
  auto four = Make(s, RenderBackend::kCuda, Estimator::kNextEventMis, /*lanes=*/4);
  auto chosen = Make(s, RenderBackend::kCuda);  // a small image: many lanes
  BOOST_REQUIRE(one->RenderPass(37, nullptr).ok());
  BOOST_REQUIRE(four->RenderPass(5, nullptr).ok());
  BOOST_REQUIRE(four->RenderPass(32, nullptr).ok());
  BOOST_REQUIRE(chosen->RenderPass(37, nullptr).ok());
  BOOST_TEST((*one->ExportState() == *four->ExportState()));
  BOOST_TEST((*one->ExportState() == *chosen->ExportState()));
}

BOOST_AUTO_TEST_CASE(a_small_image_takes_many_samples_per_launch) {
  auto gpu = Make(testing::MixedScene(64, 48), RenderBackend::kCuda);
  BOOST_REQUIRE(gpu->RenderPass(512, nullptr).ok());
  const RenderStats& st = gpu->stats();
  BOOST_TEST_MESSAGE("512 samples in " << st.launches << " launches, kernels " << st.device_seconds
                                       << " s of " << st.render_seconds << " s");
  BOOST_TEST(st.launches <= 512u / 8u);
  BOOST_TEST(st.device_seconds > 0.0);
  BOOST_TEST(st.device_seconds <= st.render_seconds * 1.01);
  BOOST_TEST(st.rays >= 64u * 48u * 512u);
}

BOOST_AUTO_TEST_CASE(a_gpu_state_carries_its_origin_and_the_cpu_refuses_it) {
  const SceneDescription s = testing::MixedScene(16, 16);
  auto gpu = Make(s, RenderBackend::kCuda);
  const std::vector<CudaDeviceInfo> devices = ProbeCudaDevices();
  BOOST_TEST((gpu->origin().backend == RenderBackend::kCuda));
  BOOST_TEST(gpu->origin().device_arch ==
             static_cast<std::uint32_t>(devices[0].compute_major * 10 + devices[0].compute_minor));
  BOOST_REQUIRE(gpu->RenderPass(2, nullptr).ok());
  auto state = gpu->ExportState();
  BOOST_REQUIRE(state.ok());
  auto cpu = Make(s, RenderBackend::kCpu);
  const Status st = cpu->ImportState(*state);
  BOOST_TEST(st.code() == StatusCode::kInvalidArgument);
  BOOST_TEST(st.message().find("cuda sm_") != std::string::npos, st.message());
  BOOST_TEST(Make(s, RenderBackend::kCuda)->ImportState(*state).ok());
}

BOOST_AUTO_TEST_CASE(kernel_resources_are_reported) {
  auto info = DescribeCudaKernel(0);
  BOOST_REQUIRE_MESSAGE(info.ok(), info.status().ToString());
  BOOST_TEST_MESSAGE("render kernel: " << info->registers << " registers, " << info->local_bytes
                                       << " B local, " << info->blocks_per_sm << " blocks of "
                                       << info->threads_per_block << " per SM");
  BOOST_TEST(info->registers > 0);
  BOOST_TEST(info->blocks_per_sm >= 1);
  BOOST_TEST(!CudaContextLost());
}

BOOST_AUTO_TEST_CASE(white_furnace) {
  auto gpu = Make(testing::FurnaceScene(0.5f), RenderBackend::kCuda);
  BOOST_REQUIRE(gpu->RenderPass(64, nullptr).ok());
  auto sums = gpu->Accumulation();
  BOOST_REQUIRE(sums.ok());
  double total = 0.0;
  for (float v : *sums) total += v;
  BOOST_TEST(total / (static_cast<double>(sums->size()) * 64) == 0.5,
             boost::test_tools::tolerance(0.01));
}

BOOST_AUTO_TEST_CASE(resume_is_byte_identical_and_passes_do_not_matter) {
  const SceneDescription s = testing::MixedScene(64, 48);
  auto straight = Make(s, RenderBackend::kCuda);
  BOOST_REQUIRE(straight->RenderPass(10, nullptr).ok());
  auto first = Make(s, RenderBackend::kCuda);
  BOOST_REQUIRE(first->RenderPass(4, nullptr).ok());
  auto state = first->ExportState();
  BOOST_REQUIRE(state.ok());
  first.reset();
  auto resumed = Make(s, RenderBackend::kCuda);
  BOOST_REQUIRE(resumed->ImportState(*state).ok());
  BOOST_REQUIRE(resumed->RenderPass(3, nullptr).ok());
  BOOST_REQUIRE(resumed->RenderPass(3, nullptr).ok());
  BOOST_TEST((Image(*straight) == Image(*resumed)));
  BOOST_TEST((*straight->ExportState() == *resumed->ExportState()));
}

BOOST_AUTO_TEST_CASE(cancel_keeps_whole_samples) {
  auto gpu = Make(testing::MixedScene(256, 256), RenderBackend::kCuda);
  std::atomic<bool> cancel{true};
  BOOST_TEST(gpu->RenderPass(1000, &cancel).code() == StatusCode::kCancelled);
  BOOST_TEST(gpu->samples_done() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
