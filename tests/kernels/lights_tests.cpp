// Light sampling and the densities MIS weighs: the light table, SampleLight
// against LightPdf, both densities integrating to one, and ScatterPdf
// describing what Scatter really samples.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "kernels/flat_scene.h"
#include "kernels/lights.h"
#include "kernels/materials.h"
#include "tests/kernels/test_scenes.h"

namespace renderq::kernels {
namespace {

// One light of each kind (emissions 2, 6 and 1 per channel), a non-emissive
// sphere and a black emitter, which must stay out of the table.
SceneDescription LightsScene() {
  SceneDescription s = testing::FurnaceScene(0.0f);
  s.materials = {
      {"grey", MaterialType::kLambertian, {0.5f, 0.5f, 0.5f}, 0.0f, 1.5f, {}},
      {"lamp2", MaterialType::kEmissive, {}, 0.0f, 1.5f, {2.0f, 2.0f, 2.0f}},
      {"lamp6", MaterialType::kEmissive, {}, 0.0f, 1.5f, {6.0f, 6.0f, 6.0f}},
      {"lamp1", MaterialType::kEmissive, {}, 0.0f, 1.5f, {1.0f, 1.0f, 1.0f}},
      {"black", MaterialType::kEmissive, {}, 0.0f, 1.5f, {0.0f, 0.0f, 0.0f}},
  };
  s.spheres = {SphereDesc{{0.0f, 0.0f, 0.0f}, 1.0f, 0}, SphereDesc{{0.0f, 3.0f, 0.0f}, 0.5f, 1},
               SphereDesc{{5.0f, 5.0f, 5.0f}, 0.5f, 4}};
  s.quads = {QuadDesc{{-1.0f, 4.0f, -1.0f}, {0.5f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.75f}, 2}};
  MeshDesc m;
  m.vertices = {{2.0f, 1.0f, 0.0f}, {3.0f, 1.0f, 0.0f}, {2.0f, 2.5f, 0.5f}};
  m.triangles = {{0, 1, 2}};
  m.material = 3;
  s.meshes.push_back(m);
  return s;
}

Vec3 UniformDirection(std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float z = 1.0f - 2.0f * u(rng);
  const float r = std::sqrt(std::max(0.0f, 1.0f - z * z));
  const float phi = 2.0f * kPi * u(rng);
  return {r * std::cos(phi), r * std::sin(phi), z};
}

BOOST_AUTO_TEST_SUITE(KernelsLights)

BOOST_AUTO_TEST_CASE(table_holds_emitters_with_power_picked_in_proportion) {
  const FlatScene f = BuildFlatScene(LightsScene());
  const SceneView v = f.View();
  BOOST_REQUIRE_EQUAL(f.lights.size(), 3u);  // the black emitter and the grey sphere are out
  BOOST_TEST(PrimRefKind(f.lights[0].prim) == kPrimSphere);
  BOOST_TEST(PrimRefKind(f.lights[1].prim) == kPrimQuad);
  BOOST_TEST(PrimRefKind(f.lights[2].prim) == kPrimTriangle);
  BOOST_TEST(f.lights.back().cdf == 1.0f);
  // Mean emission times emitting area: the sphere's 4 pi r^2, the quad's two
  // sides, the triangle's two sides (|e1 x e2| with e1 = (1,0,0), e2 = (0,1.5,0.5)).
  const double expected[3] = {2.0 * 4.0 * kPi * 0.25, 6.0 * 2.0 * 0.375,
                              1.0 * std::sqrt(0.5 * 0.5 + 1.5 * 1.5)};
  const double total = expected[0] + expected[1] + expected[2];
  double sum = 0;
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(LightPickProbability(v, f.lights[i].prim) == expected[i] / total,
               boost::test_tools::tolerance(1e-5));
    sum += LightPickProbability(v, f.lights[i].prim);
  }
  BOOST_TEST(sum == 1.0, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(LightPickProbability(v, MakePrimRef(kPrimSphere, 0)) == 0.0f);  // not an emitter
  // Picks follow the cdf.
  int counts[3] = {};
  constexpr int kN = 300000;
  for (int i = 0; i < kN; ++i) {
    ++counts[PickLight(v, (static_cast<float>(i) + 0.5f) / kN)];
  }
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(counts[i] / static_cast<double>(kN) == expected[i] / total,
               boost::test_tools::tolerance(1e-4));
  }
}

BOOST_AUTO_TEST_CASE(a_sample_lies_on_its_light_and_lightpdf_gives_its_density) {
  const FlatScene f = BuildFlatScene(LightsScene());
  const SceneView v = f.View();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f), pos(-3.0f, 6.0f);
  // Points around the scene, and two inside the spherical light.
  std::vector<Vec3> points = {{0.0f, 3.0f, 0.0f}, {0.2f, 3.1f, -0.1f}};
  for (int i = 0; i < 40; ++i) points.push_back({pos(rng), pos(rng), pos(rng)});
  int checked = 0;
  for (const Vec3& p : points) {
    for (int k = 0; k < 200; ++k) {
      const LightSample ls = SampleLight(v, p, u(rng), u(rng), u(rng));
      if (!(ls.pdf > 0.0f)) continue;
      const Ray r{p, ls.wi};
      const float t = IntersectPrim(v, ls.prim, r, 1e-4f, kInfinity);
      BOOST_TEST_CONTEXT("point " << p.x << "," << p.y << "," << p.z) {
        BOOST_TEST(t == ls.dist, boost::test_tools::tolerance(2e-3f));
        BOOST_TEST(LightPdf(v, ls.prim, p, ls.wi, ls.dist) == ls.pdf,
                   boost::test_tools::tolerance(1e-3f));
      }
      ++checked;
    }
  }
  BOOST_TEST(checked > 5000);
}

// A sphere around each light of LightsScene (centre, radius).
std::pair<Vec3, float> BoundingSphere(const FlatScene& f, uint32_t ref) {
  const uint32_t i = PrimRefIndex(ref);
  switch (PrimRefKind(ref)) {
    case kPrimSphere: return {f.spheres[i].center, f.spheres[i].radius};
    case kPrimQuad: {
      const Quad& q = f.quads[i];
      return {q.corner + (q.u + q.v) * 0.5f,
              0.5f * std::max(Length(q.u + q.v), Length(q.u - q.v)) * 1.01f};
    }
    default: {
      const Triangle& t = f.triangles[i];
      const Vec3 c = t.v0 + (t.e1 + t.e2) * (1.0f / 3.0f);
      const float r =
          std::max({Length(t.v0 - c), Length(t.v0 + t.e1 - c), Length(t.v0 + t.e2 - c)});
      return {c, r * 1.01f};
    }
  }
}

BOOST_AUTO_TEST_CASE(light_densities_integrate_to_their_pick_probability) {
  // Integral over all directions of LightPdf (where the ray reaches the light
  // first) = the light's pick probability: the cone, inside-sphere and area
  // densities are normalised. Directions are drawn uniformly in
  // a cone around the light (all directions from inside it), so many reach it.
  const FlatScene f = BuildFlatScene(LightsScene());
  const SceneView v = f.View();
  struct Case {
    const char* name;
    uint32_t light;
    Vec3 p;
  };
  const Case cases[] = {
      {"sphere from outside", 0, {0.3f, 1.2f, 0.4f}},
      {"sphere from close outside", 0, {0.0f, 3.6f, 0.0f}},
      {"sphere from inside", 0, {0.1f, 2.9f, 0.2f}},
      {"quad", 1, {0.0f, 2.0f, 0.0f}},
      {"quad, grazing", 1, {1.0f, 3.9f, -0.5f}},
      {"quad, far", 1, {30.0f, 0.0f, 20.0f}},
      {"triangle", 2, {2.4f, 0.0f, 1.0f}},
  };
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  // 400,000 directions leave 1 % of noise in the grazing cases (4,000,000 agree
  // within 0.4 % everywhere); the tight check is the sample-density test above.
  constexpr int kN = 400000;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      const uint32_t ref = f.lights[c.light].prim;
      const auto [centre, radius] = BoundingSphere(f, ref);
      const Vec3 to = centre - c.p;
      const float d = Length(to);
      const float cos_max = d > radius ? std::sqrt(1.0f - radius * radius / (d * d)) : -1.0f;
      const double cone = 2.0 * kPi * (1.0 - cos_max);
      Vec3 t, b;
      const Vec3 w = d > 0 ? to / d : Vec3{0, 0, 1};
      OrthonormalBasis(w, &t, &b);
      double integral = 0;
      for (int i = 0; i < kN; ++i) {
        const float cos_t = 1.0f - u(rng) * (1.0f - cos_max);
        const float sin_t = std::sqrt(std::max(0.0f, 1.0f - cos_t * cos_t));
        const float phi = 2.0f * kPi * u(rng);
        const Vec3 dir =
            Normalize(t * (sin_t * std::cos(phi)) + b * (sin_t * std::sin(phi)) + w * cos_t);
        const float hit = IntersectPrim(v, ref, Ray{c.p, dir}, 0.0f, kInfinity);
        if (hit >= 0.0f) integral += LightPdf(v, ref, c.p, dir, hit);
      }
      integral *= cone / kN;
      BOOST_TEST(integral == LightPickProbability(v, ref), boost::test_tools::tolerance(0.025));
    }
  }
}

BOOST_AUTO_TEST_CASE(scatter_pdf_is_the_density_scatter_samples) {
  // For a test function g, E[g(dir)] over Scatter's surviving samples times
  // the survival rate equals the integral of g * ScatterPdf over directions.
  struct Case {
    const char* name;
    Material m;
    Vec3 in;
  };
  auto metal = [](float roughness) {
    Material m{};
    m.kind = kMaterialMetal;
    m.albedo = {0.9f, 0.9f, 0.9f};
    m.roughness = roughness;
    return m;
  };
  Material lambert{};
  lambert.kind = kMaterialLambertian;
  lambert.albedo = {0.5f, 0.5f, 0.5f};
  const Case cases[] = {
      {"lambertian", lambert, Normalize({0.3f, -1.0f, 0.2f})},
      {"metal 0.05 head-on", metal(0.05f), Normalize({0.0f, -1.0f, 0.1f})},
      {"metal 0.3 oblique", metal(0.3f), Normalize({1.0f, -0.6f, 0.0f})},
      {"metal 1.0 grazing", metal(1.0f), Normalize({1.0f, -0.1f, 0.3f})},
  };
  SurfaceHit hit{};
  hit.point = {0.0f, 0.0f, 0.0f};
  hit.normal = {0.0f, 1.0f, 0.0f};
  hit.front_face = true;
  auto g = [](Vec3 d) { return 1.0 + d.x * d.x + 2.0 * d.x + d.y; };
  constexpr int kN = 400000;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      BOOST_TEST(UsesLightSampling(c.m));
      Rng rng = MakeRng(1, 2, 3);
      double sampled = 0;
      for (int i = 0; i < kN; ++i) {
        Ray out;
        Vec3 att;
        if (Scatter(c.m, Ray{{0.0f, 1.0f, 0.0f}, c.in}, hit, rng, &out, &att))
          sampled += g(out.dir);
      }
      sampled /= kN;
      std::mt19937 dirs(17);
      double integral = 0;
      for (int i = 0; i < 4 * kN; ++i) {
        const Vec3 d = UniformDirection(dirs);
        integral += g(d) * ScatterPdf(c.m, c.in, hit.normal, d);
      }
      integral *= 4.0 * kPi / (4 * kN);
      BOOST_TEST(integral == sampled, boost::test_tools::tolerance(0.02));
    }
  }
  // Mirrors and glass stay on BSDF sampling alone.
  BOOST_TEST(!UsesLightSampling(metal(0.0f)));
  Material glass{};
  glass.kind = kMaterialDielectric;
  BOOST_TEST(!UsesLightSampling(glass));
}

BOOST_AUTO_TEST_CASE(power_heuristic_is_finite_for_extreme_densities) {
  BOOST_TEST(PowerHeuristic(0.0f, 1.0f) == 0.0f);
  BOOST_TEST(PowerHeuristic(1.0f, 0.0f) == 1.0f);
  BOOST_TEST(PowerHeuristic(1e30f, 1e30f) == 0.5f);
  BOOST_TEST(PowerHeuristic(1e-30f, 1e30f) == 0.0f);
  BOOST_TEST(PowerHeuristic(2.0f, 1.0f) + PowerHeuristic(1.0f, 2.0f) == 1.0f,
             boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::kernels
