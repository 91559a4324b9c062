#include "kernels/flat_scene.h"

#include <cmath>
#include <span>

#include "kernels/bvh.h"
#include "kernels/lights.h"

namespace renderq::kernels {
namespace {

Vec3 ToVec3(const Float3& f) { return Vec3{f[0], f[1], f[2]}; }

Material ToMaterial(const MaterialDesc& d) {
  Material m{};
  switch (d.type) {
    case MaterialType::kLambertian: m.kind = kMaterialLambertian; break;
    case MaterialType::kMetal: m.kind = kMaterialMetal; break;
    case MaterialType::kDielectric: m.kind = kMaterialDielectric; break;
    case MaterialType::kEmissive: m.kind = kMaterialEmissive; break;
  }
  m.albedo = ToVec3(d.albedo);
  m.roughness = d.roughness;
  m.ior = d.ior;
  m.emission = ToVec3(d.emission);
  return m;
}

Quad ToQuad(const QuadDesc& d) {
  Quad q{};
  q.corner = ToVec3(d.corner);
  q.u = ToVec3(d.u);
  q.v = ToVec3(d.v);
  const Vec3 n = Cross(q.u, q.v);
  q.normal = Normalize(n);
  q.w = n / Dot(n, n);
  q.plane_d = Dot(q.normal, q.corner);
  q.material = d.material;
  return q;
}

Aabb SphereBounds(const Sphere& s) {
  Aabb b;
  b.Grow(s.center - Vec3{s.radius, s.radius, s.radius});
  b.Grow(s.center + Vec3{s.radius, s.radius, s.radius});
  return b;
}

Aabb QuadBounds(const Quad& q) {
  Aabb b;
  b.Grow(q.corner);
  b.Grow(q.corner + q.u);
  b.Grow(q.corner + q.v);
  b.Grow(q.corner + q.u + q.v);
  return b;
}

Aabb TriangleBounds(const Triangle& t) {
  Aabb b;
  b.Grow(t.v0);
  b.Grow(t.v0 + t.e1);
  b.Grow(t.v0 + t.e2);
  return b;
}

void AddMeshTriangles(const MeshDesc& mesh, std::vector<Triangle>* out) {
  for (const auto& tri : mesh.triangles) {
    const Vec3 a = ToVec3(mesh.vertices[tri[0]]);
    const Vec3 b = ToVec3(mesh.vertices[tri[1]]);
    const Vec3 c = ToVec3(mesh.vertices[tri[2]]);
    out->push_back(Triangle{a, b - a, c - a, mesh.material});
  }
}

class Fnv1a {
 public:
  void Add(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ ^= p[i];
      hash_ *= 1099511628211ull;
    }
  }
  template <typename T>
  void AddVector(const std::vector<T>& v) {
    const uint64_t n = v.size();
    Add(&n, sizeof n);
    if (!v.empty()) Add(v.data(), v.size() * sizeof(T));
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 14695981039346656037ull;
};

}  // namespace

Camera MakeCamera(const CameraDesc& desc, int width, int height) {
  const Vec3 from = ToVec3(desc.position);
  const Vec3 at = ToVec3(desc.look_at);
  const Vec3 up = ToVec3(desc.up);
  const float theta = desc.vfov_degrees * kPi / 180.0f;
  const float half_h = std::tan(theta / 2.0f);
  const float aspect = static_cast<float>(width) / static_cast<float>(height);
  const float half_w = aspect * half_h;
  const Vec3 w = Normalize(from - at);
  const Vec3 u = Normalize(Cross(up, w));
  const Vec3 v = Cross(w, u);
  const float focus = desc.focus_distance;
  Camera c{};
  c.origin = from;
  c.horizontal = u * (2.0f * half_w * focus);
  c.vertical = v * (-2.0f * half_h * focus);
  c.upper_left = from - w * focus - u * (half_w * focus) + v * (half_h * focus);
  c.lens_u = u;
  c.lens_v = v;
  c.lens_radius = desc.aperture / 2.0f;
  return c;
}

FlatScene BuildFlatScene(const SceneDescription& scene) {
  FlatScene f;
  for (const auto& m : scene.materials) f.materials.push_back(ToMaterial(m));
  for (const auto& s : scene.spheres)
    f.spheres.push_back(Sphere{ToVec3(s.center), s.radius, s.material});
  for (const auto& q : scene.quads) f.quads.push_back(ToQuad(q));
  f.triangles.reserve(scene.TriangleCount());
  for (const auto& mesh : scene.meshes) AddMeshTriangles(mesh, &f.triangles);

  std::vector<Aabb> bounds;
  std::vector<uint32_t> refs;
  bounds.reserve(f.spheres.size() + f.quads.size() + f.triangles.size());
  refs.reserve(bounds.capacity());
  for (uint32_t i = 0; i < f.spheres.size(); ++i) {
    bounds.push_back(SphereBounds(f.spheres[i]));
    refs.push_back(MakePrimRef(kPrimSphere, i));
  }
  for (uint32_t i = 0; i < f.quads.size(); ++i) {
    bounds.push_back(QuadBounds(f.quads[i]));
    refs.push_back(MakePrimRef(kPrimQuad, i));
  }
  for (uint32_t i = 0; i < f.triangles.size(); ++i) {
    bounds.push_back(TriangleBounds(f.triangles[i]));
    refs.push_back(MakePrimRef(kPrimTriangle, i));
  }
  Bvh bvh = BuildBvh(bounds);
  f.nodes = std::move(bvh.nodes);
  f.prims.reserve(bvh.order.size());
  for (uint32_t i : bvh.order) f.prims.push_back(refs[i]);

  BuildLightTable(&f);
  f.camera = MakeCamera(scene.camera, scene.width, scene.height);
  f.sky_horizon = ToVec3(scene.sky.horizon);
  f.sky_zenith = ToVec3(scene.sky.zenith);
  f.width = scene.width;
  f.height = scene.height;
  f.max_depth = scene.max_depth;
  f.seed = scene.seed;
  return f;
}

void BuildLightTable(FlatScene* f) {
  f->lights.clear();
  f->inv_light_power = 0.0f;
  const SceneView view = f->View();  // LightPower reads materials and primitives only
  std::vector<double> power;
  auto consider = [&](uint32_t kind, size_t count) {
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t ref = MakePrimRef(kind, i);
      const float p = LightPower(view, ref);
      if (!(p > 0.0f) || !std::isfinite(p)) continue;
      f->lights.push_back(Light{ref, 0.0f, 0.0f, LightArea(view, ref)});
      power.push_back(p);
    }
  };
  consider(kPrimSphere, f->spheres.size());
  consider(kPrimQuad, f->quads.size());
  consider(kPrimTriangle, f->triangles.size());
  if (f->lights.empty()) return;
  // The cdf in double so that a million lights do not accumulate float error;
  // pick probabilities at run time are LightPower * inv_light_power, which is
  // these intervals up to float rounding.
  double total = 0.0;
  for (double p : power) total += p;
  double running = 0.0;
  for (size_t k = 0; k < f->lights.size(); ++k) {
    running += power[k];
    f->lights[k].cdf = static_cast<float>(running / total);
  }
  f->lights.back().cdf = 1.0f;
  f->inv_light_power = static_cast<float>(1.0 / total);
  // The same float product LightPickProbability computes at a BSDF hit.
  SceneView with_power = view;
  with_power.inv_light_power = f->inv_light_power;
  for (Light& l : f->lights) l.pick = LightPickProbability(with_power, l.prim);
}

SceneView FlatScene::View() const {
  SceneView v{};
  v.materials = materials.data();
  v.spheres = spheres.data();
  v.quads = quads.data();
  v.triangles = triangles.data();
  v.prims = prims.data();
  v.nodes = nodes.data();
  v.node_count = static_cast<uint32_t>(nodes.size());
  v.lights = lights.data();
  v.light_count = static_cast<uint32_t>(lights.size());
  v.inv_light_power = inv_light_power;
  v.estimator = kEstimatorNextEventMis;
  v.camera = camera;
  v.sky_horizon = sky_horizon;
  v.sky_zenith = sky_zenith;
  v.width = width;
  v.height = height;
  v.max_depth = max_depth;
  v.seed = seed;
  return v;
}

std::uint64_t FlatScene::Fingerprint() const {
  Fnv1a h;
  h.AddVector(materials);
  h.AddVector(spheres);
  h.AddVector(quads);
  h.AddVector(triangles);
  h.Add(&camera, sizeof camera);
  h.Add(&sky_horizon, sizeof sky_horizon);
  h.Add(&sky_zenith, sizeof sky_zenith);
  const int32_t ints[3] = {width, height, max_depth};
  h.Add(ints, sizeof ints);
  h.Add(&seed, sizeof seed);
  return h.value();
}

}  // namespace renderq::kernels
