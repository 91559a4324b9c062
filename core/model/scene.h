// SceneDescription: a validated scene, as the SPEC's scene format describes it.
//
// Plain data with every default applied and every reference resolved to an
// index. It is produced by ParseScene() (core/scene_json.h) and consumed by the
// renderer (kernels/), which turns it into its own device-friendly arrays.
// A SceneDescription that came out of ParseScene() satisfies every rule of the
// SPEC (ranges, finite numbers, indices in range), so consumers need not check.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace renderq {

using Float3 = std::array<float, 3>;

enum class MaterialType : std::uint8_t { kLambertian, kMetal, kDielectric, kEmissive };

struct MaterialDesc {
  std::string name;
  MaterialType type = MaterialType::kLambertian;
  Float3 albedo = {0.0f, 0.0f, 0.0f};    // lambertian, metal
  float roughness = 0.0f;                // metal
  float ior = 1.5f;                      // dielectric
  Float3 emission = {0.0f, 0.0f, 0.0f};  // emissive
};

struct SphereDesc {
  Float3 center = {0.0f, 0.0f, 0.0f};
  float radius = 1.0f;
  std::uint32_t material = 0;  // index into SceneDescription::materials
};

// A parallelogram: corner, corner+u, corner+u+v, corner+v.
struct QuadDesc {
  Float3 corner = {0.0f, 0.0f, 0.0f};
  Float3 u = {1.0f, 0.0f, 0.0f};
  Float3 v = {0.0f, 1.0f, 0.0f};
  std::uint32_t material = 0;
};

struct MeshDesc {
  std::vector<Float3> vertices;
  std::vector<std::array<std::uint32_t, 3>> triangles;  // indices into vertices
  std::uint32_t material = 0;
};

struct CameraDesc {
  Float3 position = {0.0f, 0.0f, 0.0f};
  Float3 look_at = {0.0f, 0.0f, -1.0f};
  Float3 up = {0.0f, 1.0f, 0.0f};
  float vfov_degrees = 40.0f;
  float aperture = 0.0f;
  float focus_distance = 1.0f;  // defaults to |look_at - position|
};

struct SkyDesc {
  Float3 horizon = {1.0f, 1.0f, 1.0f};
  Float3 zenith = {0.5f, 0.7f, 1.0f};
};

struct SceneDescription {
  int width = 0;
  int height = 0;
  int samples = 0;    // per pixel
  int max_depth = 8;  // bounces per path
  std::uint32_t seed = 0;
  CameraDesc camera;
  SkyDesc sky;
  std::vector<MaterialDesc> materials;
  // Objects keep their kinds apart; the order within each kind is the JSON order.
  std::vector<SphereDesc> spheres;
  std::vector<QuadDesc> quads;
  std::vector<MeshDesc> meshes;

  std::uint64_t TriangleCount() const {
    std::uint64_t n = 0;
    for (const auto& m : meshes) n += m.triangles.size();
    return n;
  }
};

}  // namespace renderq
