// Small renders of the example scenes against committed reference PNGs
// (tests/kernels/golden/, made by this renderer; docs/renderer.md says how).
// Set RENDERQ_UPDATE_GOLDENS=1 to rewrite the references after a deliberate change.
//
// golden/*.png are the renderer's (next-event estimation); golden/bsdf/*.png
// were made before light sampling existed and must still come out of the
// BSDF-sampling estimator: they pin "today's estimator" that the unbiasedness
// tests and the equal-time benchmark compare against.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/model/scene_json.h"
#include "kernels/png_writer.h"
#include "kernels/renderer.h"
#include "tests/kernels/image_compare.h"

namespace renderq {
namespace {

constexpr int kGoldenWidth = 64;
constexpr int kGoldenHeight = 48;
constexpr double kMinPsnr = 40.0;

SceneDescription LoadExample(const std::string& name) {
  std::ifstream in(std::string(RENDERQ_SOURCE_DIR) + "/examples/" + name + ".json");
  BOOST_REQUIRE_MESSAGE(in, "cannot open example " << name);
  std::stringstream body;
  body << in.rdbuf();
  SceneParseResult parsed = ParseScene(body.str());
  BOOST_REQUIRE_MESSAGE(parsed.ok(), name << ": " << (parsed.ok() ? "" : parsed.error().message));
  SceneDescription s = std::move(parsed).scene();
  s.width = kGoldenWidth;
  s.height = kGoldenHeight;
  return s;
}

std::vector<std::uint8_t> RenderSmall(const SceneDescription& s, int samples, Estimator estimator) {
  RendererOptions options;
  options.estimator = estimator;
  auto r = Renderer::Create(s, options);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r)->RenderPass(samples, nullptr).ok());
  auto image = (*r)->ImageRgb8();
  BOOST_REQUIRE(image.ok());
  return *image;
}

void CheckGolden(const std::string& name, int samples,
                 Estimator estimator = Estimator::kNextEventMis) {
  const std::vector<std::uint8_t> image = RenderSmall(LoadExample(name), samples, estimator);
  const std::string golden = std::string(RENDERQ_SOURCE_DIR) + "/tests/kernels/golden/" +
                             (estimator == Estimator::kBsdfSampling ? "bsdf/" : "") + name + ".png";
  const char* update = std::getenv("RENDERQ_UPDATE_GOLDENS");
  // The BSDF-estimator images are a record of the past: never rewritten.
  if (update != nullptr && std::string(update) == "1" && estimator != Estimator::kBsdfSampling) {
    BOOST_REQUIRE(WritePngRgb8(golden, kGoldenWidth, kGoldenHeight, image).ok());
  }
  auto reference = ReadPngRgb8(golden);
  BOOST_REQUIRE_MESSAGE(reference.ok(), reference.status().ToString());
  BOOST_REQUIRE(reference->width == kGoldenWidth);
  BOOST_REQUIRE(reference->height == kGoldenHeight);
  const double psnr = testing::Psnr(image, reference->rgb);
  BOOST_TEST_MESSAGE(name << ": PSNR " << psnr << " dB");
  BOOST_TEST(psnr >= kMinPsnr);
}

BOOST_AUTO_TEST_SUITE(KernelsGolden)

BOOST_AUTO_TEST_CASE(cornell_box) { CheckGolden("cornell_box", /*samples=*/128); }
BOOST_AUTO_TEST_CASE(spheres) { CheckGolden("spheres", /*samples=*/32); }
BOOST_AUTO_TEST_CASE(mesh) { CheckGolden("mesh", /*samples=*/16); }
BOOST_AUTO_TEST_CASE(dim_room) { CheckGolden("dim_room", /*samples=*/16); }

BOOST_AUTO_TEST_CASE(bsdf_estimator_renders_the_images_from_before_light_sampling) {
  CheckGolden("cornell_box", /*samples=*/128, Estimator::kBsdfSampling);
  CheckGolden("spheres", /*samples=*/32, Estimator::kBsdfSampling);
  CheckGolden("mesh", /*samples=*/16, Estimator::kBsdfSampling);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
