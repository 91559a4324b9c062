// The CUDA sources are part of every build made where nvcc is found, so device
// code cannot rot on machines without a GPU: this suite proves that the binary
// under test really carries the CUDA backend when CMake said it would, and that
// asking for it without a device fails cleanly instead of crashing.
#include <boost/test/unit_test.hpp>

#include "kernels/renderer.h"
#include "tests/kernels/test_scenes.h"

namespace renderq {
namespace {

BOOST_AUTO_TEST_SUITE(KernelsCudaBuild)

BOOST_AUTO_TEST_CASE(backend_is_compiled_exactly_when_nvcc_was_found) {
  BOOST_TEST(CudaBackendCompiled() == static_cast<bool>(RENDERQ_EXPECT_CUDA));
}

BOOST_AUTO_TEST_CASE(a_missing_device_is_an_error_not_a_crash) {
  RendererOptions options;
  options.backend = RenderBackend::kCuda;
  options.cuda_device = static_cast<int>(ProbeCudaDevices().size());  // one past the last
  auto renderer = Renderer::Create(testing::FurnaceScene(/*sky=*/1.0f), options);
  BOOST_TEST_REQUIRE(!renderer.ok());
  BOOST_TEST((renderer.status().code() == StatusCode::kUnavailable ||
              renderer.status().code() == StatusCode::kDeviceFault),
             renderer.status().ToString());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
