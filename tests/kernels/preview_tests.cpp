// A 16-sample preview of a dim interior (examples/dim_room.json, lit by one
// small bulb): with BSDF sampling alone most pixels find no light at all and
// stay black; with light sampling almost none do where the bulb's light
// reaches. "Reaches" is decided geometrically: the surface seen through the
// pixel's centre sees the bulb's centre.
#include <boost/test/unit_test.hpp>

#include "kernels/flat_scene.h"
#include "kernels/renderer.h"
#include "kernels/trace.h"
#include "tests/kernels/test_scenes.h"

namespace renderq::testing {
namespace {

using kernels::Vec3;

// Per pixel: whether the bulb lights the surface seen through its centre.
std::vector<bool> DirectlyLit(const SceneDescription& scene) {
  const kernels::FlatScene flat = kernels::BuildFlatScene(scene);
  const kernels::SceneView v = flat.View();
  BOOST_REQUIRE_EQUAL(flat.lights.size(), 1u);
  const uint32_t bulb = flat.lights[0].prim;
  const Vec3 centre = flat.spheres[kernels::PrimRefIndex(bulb)].center;
  std::vector<bool> lit(static_cast<size_t>(scene.width) * scene.height, false);
  kernels::Rng unused = kernels::MakeRng(0, 0, 0);  // aperture 0: the camera draws nothing
  for (int y = 0; y < scene.height; ++y) {
    for (int x = 0; x < scene.width; ++x) {
      const kernels::Ray ray = kernels::CameraRay(flat.camera, (x + 0.5f) / scene.width,
                                                  (y + 0.5f) / scene.height, unused);
      kernels::SurfaceHit hit;
      if (!kernels::IntersectScene(v, ray, 0.0f, kernels::kInfinity, &hit)) continue;
      if (v.materials[hit.material].kind != kernels::kMaterialLambertian) continue;
      const Vec3 to_bulb = centre - hit.point;
      const float dist = kernels::Length(to_bulb);
      const Vec3 dir = to_bulb / dist;
      if (kernels::Dot(dir, hit.normal) <= 0.0f) continue;
      const kernels::Ray shadow{kernels::OffsetOrigin(hit.point, hit.normal, dir), dir};
      lit[static_cast<size_t>(y) * scene.width + x] =
          !kernels::Occluded(v, shadow, 0.0f, dist * 0.99f, bulb);
    }
  }
  return lit;
}

struct BlackFractions {
  double lit = 0;  // among directly lit pixels
  double all = 0;
};

BlackFractions Black(const SceneDescription& scene, Estimator estimator,
                     const std::vector<bool>& lit) {
  RendererOptions o;
  o.estimator = estimator;
  auto r = Renderer::Create(scene, o);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r)->RenderPass(scene.samples, nullptr).ok());
  auto sums = (*r)->Accumulation();
  BOOST_REQUIRE(sums.ok());
  int black_lit = 0, n_lit = 0, black = 0;
  for (size_t p = 0; p < lit.size(); ++p) {
    const bool is_black =
        (*sums)[3 * p] == 0.0f && (*sums)[3 * p + 1] == 0.0f && (*sums)[3 * p + 2] == 0.0f;
    black += is_black;
    if (lit[p]) {
      ++n_lit;
      black_lit += is_black;
    }
  }
  BOOST_REQUIRE(n_lit > static_cast<int>(lit.size()) / 4);
  return {static_cast<double>(black_lit) / n_lit, static_cast<double>(black) / lit.size()};
}

BOOST_AUTO_TEST_SUITE(KernelsDimPreview)

BOOST_AUTO_TEST_CASE(sixteen_samples_leave_almost_no_lit_pixel_black) {
  auto scene = LoadSceneFile("examples/dim_room.json");
  BOOST_REQUIRE(scene.has_value());
  BOOST_REQUIRE_EQUAL(scene->samples, 16);
  scene->width = 160;
  scene->height = 120;
  const std::vector<bool> lit = DirectlyLit(*scene);
  const BlackFractions before = Black(*scene, Estimator::kBsdfSampling, lit);
  const BlackFractions after = Black(*scene, Estimator::kNextEventMis, lit);
  BOOST_TEST_MESSAGE("black pixels where the bulb reaches: BSDF sampling "
                     << 100 * before.lit << " %, light sampling " << 100 * after.lit
                     << " %; of all pixels: " << 100 * before.all << " % -> " << 100 * after.all
                     << " %");
  BOOST_TEST(before.lit > 0.5);   // the random walk rarely finds the bulb
  BOOST_TEST(after.lit < 0.005);  // one light sample per hit does
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
