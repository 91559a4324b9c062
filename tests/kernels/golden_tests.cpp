// Small renders of the example scenes against committed reference PNGs
// (tests/kernels/golden/, made by this renderer; docs/renderer.md says how).
// Set RENDERQ_UPDATE_GOLDENS=1 to rewrite the references after a deliberate change.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "core/scene_json.h"
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

std::vector<std::uint8_t> RenderSmall(const SceneDescription& s, int samples) {
  auto r = Renderer::Create(s, RendererOptions{});
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r)->RenderPass(samples, nullptr).ok());
  auto image = (*r)->ImageRgb8();
  BOOST_REQUIRE(image.ok());
  return *image;
}

void CheckGolden(const std::string& name, int samples) {
  const std::vector<std::uint8_t> image = RenderSmall(LoadExample(name), samples);
  const std::string golden =
      std::string(RENDERQ_SOURCE_DIR) + "/tests/kernels/golden/" + name + ".png";
  const char* update = std::getenv("RENDERQ_UPDATE_GOLDENS");
  if (update != nullptr && std::string(update) == "1") {
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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
