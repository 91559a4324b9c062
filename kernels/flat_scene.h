// FlatScene: the host-side owner of a scene's kernel arrays (materials,
// primitives, BVH, camera), built from a validated SceneDescription. The CPU
// backend renders straight from View(); the CUDA backend copies the arrays.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/scene.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

struct FlatScene {
  std::vector<Material> materials;
  std::vector<Sphere> spheres;
  std::vector<Quad> quads;
  std::vector<Triangle> triangles;
  std::vector<uint32_t> prims;  // BVH leaf order
  std::vector<BvhNode> nodes;
  // Emissive primitives with power > 0, in primitive order, with the cdf of
  // choosing them by power (kernels/lights.h); derived from the above.
  std::vector<Light> lights;
  float inv_light_power = 0.0f;
  Camera camera{};
  Vec3 sky_horizon{};
  Vec3 sky_zenith{};
  int width = 0;
  int height = 0;
  int max_depth = 0;
  uint32_t seed = 0;

  // Pointers into this object's vectors: valid while it lives unchanged. The
  // estimator is next-event estimation; a backend sets view.estimator to change it.
  SceneView View() const;
  // FNV-1a over everything that determines the image, for checkpoint matching.
  std::uint64_t Fingerprint() const;
};

FlatScene BuildFlatScene(const SceneDescription& scene);

// Fills scene->lights and inv_light_power from its primitives (called by
// BuildFlatScene; exposed for tests).
void BuildLightTable(FlatScene* scene);

// The thin-lens camera of a scene description (exposed for tests).
Camera MakeCamera(const CameraDesc& desc, int width, int height);

}  // namespace renderq::kernels
