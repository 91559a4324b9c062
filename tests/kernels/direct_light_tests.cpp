// A closed-form check of light sampling: a diffuse plane under a small
// emitter of known radiance. The plane's radiance is albedo / pi times the
// irradiance, which has a closed form for each emitter shape; the render must
// match it to 1 %. Nothing else in the scene reflects (black sky, the emitter
// does not scatter), so the value is exact for any depth >= 2.
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "kernels/renderer.h"
#include "tests/kernels/test_scenes.h"

namespace renderq::testing {
namespace {

constexpr double kPiD = 3.14159265358979323846;
constexpr float kAlbedo = 0.5f;
constexpr float kRadiance = 10.0f;
constexpr float kHeight = 1.0f;  // of the emitter's centre above the viewed point

// Irradiance at a point below a corner of a parallel a x b rectangle of
// radiance L at height h: L * pi * F, with F the differential-area-to-rectangle
// form factor.
double CornerIrradiance(double a, double b, double h, double radiance) {
  const double x = a / h, y = b / h;
  const double f = (x / std::sqrt(1 + x * x) * std::atan(y / std::sqrt(1 + x * x)) +
                    y / std::sqrt(1 + y * y) * std::atan(x / std::sqrt(1 + y * y))) /
                   (2 * kPiD);
  return radiance * kPiD * f;
}

// A big grey floor viewed at the origin through a very narrow camera, so every
// pixel sees (nearly) the point right below the emitter.
SceneDescription FloorScene() {
  SceneDescription s;
  s.width = 8;
  s.height = 8;
  s.samples = 256;
  s.max_depth = 4;
  s.seed = 5;
  s.camera.position = {2.0f, 1.5f, 2.0f};
  s.camera.look_at = {0.0f, 0.0f, 0.0f};
  s.camera.vfov_degrees = 0.2f;
  s.camera.focus_distance = 3.2f;
  s.sky.horizon = {0.0f, 0.0f, 0.0f};
  s.sky.zenith = {0.0f, 0.0f, 0.0f};
  s.materials = {
      {"floor", MaterialType::kLambertian, {kAlbedo, kAlbedo, kAlbedo}, 0.0f, 1.5f, {}},
      {"lamp", MaterialType::kEmissive, {}, 0.0f, 1.5f, {kRadiance, kRadiance, kRadiance}},
  };
  s.quads.push_back(
      QuadDesc{{-50.0f, 0.0f, -50.0f}, {100.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 100.0f}, 0});
  return s;
}

double MeanRadiance(const SceneDescription& s, Estimator estimator) {
  RendererOptions o;
  o.estimator = estimator;
  auto r = Renderer::Create(s, o);
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE((*r)->RenderPass(s.samples, nullptr).ok());
  auto sums = (*r)->Accumulation();
  BOOST_REQUIRE(sums.ok());
  double total = 0;
  for (float v : *sums) total += v;
  return total / (static_cast<double>(sums->size()) * s.samples);
}

BOOST_AUTO_TEST_SUITE(KernelsDirectLight)

BOOST_AUTO_TEST_CASE(plane_under_small_emitters_matches_the_irradiance_integral) {
  constexpr float kRadius = 0.1f;  // sphere
  constexpr float kHalf = 0.2f;    // half the side of the square emitters
  struct Case {
    const char* name;
    SceneDescription scene;
    double irradiance;
  };
  std::vector<Case> cases;
  {
    // A sphere above the horizon: E = pi L (r / d)^2 cos(theta), here theta = 0.
    SceneDescription s = FloorScene();
    s.spheres.push_back(SphereDesc{{0.0f, kHeight, 0.0f}, kRadius, 1});
    cases.push_back({"sphere", s, kPiD * kRadiance * (kRadius * kRadius) / (kHeight * kHeight)});
  }
  const double square = 4 * CornerIrradiance(kHalf, kHalf, kHeight, kRadiance);
  {
    SceneDescription s = FloorScene();
    s.quads.push_back(QuadDesc{{-kHalf, kHeight, -kHalf}, {2 * kHalf, 0, 0}, {0, 0, 2 * kHalf}, 1});
    cases.push_back({"quad", s, square});
  }
  {
    // The same square as two mesh triangles.
    SceneDescription s = FloorScene();
    MeshDesc m;
    m.vertices = {{-kHalf, kHeight, -kHalf},
                  {kHalf, kHeight, -kHalf},
                  {kHalf, kHeight, kHalf},
                  {-kHalf, kHeight, kHalf}};
    m.triangles = {{0, 1, 2}, {0, 2, 3}};
    m.material = 1;
    s.meshes.push_back(m);
    cases.push_back({"triangles", s, square});
  }
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const double expected = kAlbedo / kPiD * c.irradiance;
      const double got = MeanRadiance(c.scene, Estimator::kNextEventMis);
      BOOST_TEST_MESSAGE(c.name << ": radiance " << got << ", closed form " << expected);
      BOOST_TEST(got == expected, boost::test_tools::tolerance(0.01));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
