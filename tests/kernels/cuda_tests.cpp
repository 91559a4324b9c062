// The CUDA backend against the CPU one. Every case needs a GPU and skips
// itself (Boost.Test precondition) on a machine without one.
#include <boost/test/unit_test.hpp>

#include <atomic>

#include "kernels/renderer.h"
#include "tests/kernels/image_compare.h"
#include "tests/kernels/test_scenes.h"

namespace renderq {
namespace {

boost::test_tools::assertion_result HasCudaDevice(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result has(!ProbeCudaDevices().empty());
  if (!has) has.message() << "no CUDA device (or no CUDA backend in this build)";
  return has;
}

std::unique_ptr<Renderer> Make(const SceneDescription& s, RenderBackend backend) {
  RendererOptions o;
  o.backend = backend;
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
  auto gpu = Make(s, RenderBackend::kCuda);
  auto cpu = Make(s, RenderBackend::kCpu);
  BOOST_REQUIRE(gpu->RenderPass(256, nullptr).ok());
  BOOST_REQUIRE(cpu->RenderPass(256, nullptr).ok());
  BOOST_TEST(gpu->device_name().rfind("cuda:0 ", 0) == 0u);
  const double psnr = testing::Psnr(Image(*gpu), Image(*cpu));
  BOOST_TEST_MESSAGE("CPU vs CUDA PSNR " << psnr << " dB");
  BOOST_TEST(psnr >= 30.0);
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
