// Next-event estimation with MIS converges to the same image as BSDF sampling
// alone (the random walk the renderer used before light sampling, unbiased
// but slow): image means and 16x16-block means agree within their noise on
// the Cornell box and two scenes with small lights.
//
// The BSDF-sampling side is 16,384 samples per pixel, too slow to render on
// every run (about a minute per scene on two cores): its block means and
// standard errors are stored in tests/kernels/reference/<scene>.json, made by
//   RENDERQ_UPDATE_REFERENCES=1 build/bin/renderq_kernels_tests --run_test=KernelsUnbiased
// (they depend only on the scene, so they need remaking only when a scene
// changes). The next-event side is rendered every time, 512 samples per pixel
// (128 under sanitizers, with wider errors to match).
//
// Tolerance: for every block, channel and the image mean,
// |mean_nee - mean_bsdf| <= 5 * sqrt(se_nee^2 + se_bsdf^2). Each mean is over
// 16 or 32 independent batches of at least 4,096 samples per block, so the
// difference is close to normal and its standard error is estimated with
// some 30 degrees of freedom: a correct renderer exceeds 5 standard errors in
// one of the ~150 comparisons with probability well under 1 %, and the seeds
// are fixed, so a passing build keeps passing. A bias larger than about 3 %
// of a block, or 1 % of the image, fails.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/kernels/block_stats.h"
#include "tests/kernels/test_data.h"
#include "tests/kernels/test_scenes.h"

namespace renderq::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kNeeSamples = 128;
#else
constexpr int kNeeSamples = 512;
#endif
constexpr int kNeeBatches = 32;
constexpr int kReferenceSamples = 16384;
constexpr int kReferenceBatches = 16;
constexpr double kMaxZ = 5.0;

struct UnbiasedCase {
  const char* name;
  const char* scene_path;
  int width, height;
};

double Z(double a, double b, double se_a, double se_b) {
  const double se = std::sqrt(se_a * se_a + se_b * se_b);
  return se > 0 ? (a - b) / se : (a == b ? 0.0 : 1e9);
}

void CheckAgainstReference(const UnbiasedCase& c) {
  auto scene = LoadSceneFile(c.scene_path);
  BOOST_REQUIRE_MESSAGE(scene.has_value(), "cannot load " << c.scene_path);
  scene->width = c.width;
  scene->height = c.height;
  const std::string path = TestDataPath("tests/kernels/reference/" + std::string(c.name) + ".json");
  const char* update = std::getenv("RENDERQ_UPDATE_REFERENCES");
  if (update != nullptr && std::string(update) == "1") {
    const BlockStats made =
        RenderBlockStats(*scene, Estimator::kBsdfSampling, kReferenceSamples, kReferenceBatches);
    std::ofstream(path) << BlockStatsToJson(made);
  }
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "missing reference " << path << " (see the file comment)");
  std::stringstream text;
  text << in.rdbuf();
  BlockStats ref;
  std::string error;
  BOOST_REQUIRE_MESSAGE(BlockStatsFromJson(text.str(), &ref, &error), path << ": " << error);
  BOOST_REQUIRE_MESSAGE(ref.width == c.width && ref.height == c.height && ref.block == 16 &&
                            ref.estimator == "bsdf" && ref.samples >= 16384,
                        path << " is not a 16k-spp BSDF reference of this size");

  const BlockStats nee =
      RenderBlockStats(*scene, Estimator::kNextEventMis, kNeeSamples, kNeeBatches);
  BOOST_REQUIRE_EQUAL(nee.blocks.size(), ref.blocks.size());

  double worst = 0;
  for (int ch = 0; ch < 3; ++ch) {
    const double z = Z(nee.image.mean[ch], ref.image.mean[ch], nee.image.se[ch], ref.image.se[ch]);
    BOOST_TEST_MESSAGE(c.name << " image mean ch" << ch << ": nee " << nee.image.mean[ch] << " ± "
                              << nee.image.se[ch] << ", bsdf " << ref.image.mean[ch] << " ± "
                              << ref.image.se[ch] << ", z " << z);
    BOOST_TEST(std::fabs(z) <= kMaxZ, c.name << " image mean, channel " << ch << ": z = " << z);
    BOOST_TEST(ref.image.mean[ch] > 0.0);  // the scene is lit
  }
  for (size_t b = 0; b < ref.blocks.size(); ++b) {
    for (int ch = 0; ch < 3; ++ch) {
      const double z = Z(nee.blocks[b].mean[ch], ref.blocks[b].mean[ch], nee.blocks[b].se[ch],
                         ref.blocks[b].se[ch]);
      worst = std::max(worst, std::fabs(z));
      BOOST_TEST(std::fabs(z) <= kMaxZ, c.name << " block " << b << ", channel " << ch << ": nee "
                                               << nee.blocks[b].mean[ch] << ", bsdf "
                                               << ref.blocks[b].mean[ch] << ", z = " << z);
    }
  }
  BOOST_TEST_MESSAGE(c.name << ": " << ref.blocks.size() << " blocks, largest |z| " << worst);
}

BOOST_AUTO_TEST_SUITE(KernelsUnbiased)

BOOST_AUTO_TEST_CASE(cornell_box) {
  CheckAgainstReference({"cornell_box", "examples/cornell_box.json", 64, 64});
}
BOOST_AUTO_TEST_CASE(dim_room) {
  CheckAgainstReference({"dim_room", "examples/dim_room.json", 64, 48});
}
BOOST_AUTO_TEST_CASE(two_lights) {
  CheckAgainstReference({"two_lights", "tests/kernels/scenes/two_lights.json", 64, 64});
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
