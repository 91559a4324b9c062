// The scene as both backends read it: plain structs and arrays (no pointers to
// owned memory, no virtual functions) that are copied to the GPU as they are.
// The host-side owner of these arrays is FlatScene (kernels/flat_scene.h);
// SceneView is the non-owning bundle of pointers a kernel receives by value.
#pragma once

#include "kernels/host_device.h"

namespace renderq::kernels {

enum MaterialKind : uint32_t {
  kMaterialLambertian = 0,
  kMaterialMetal = 1,
  kMaterialDielectric = 2,
  kMaterialEmissive = 3,
};

struct Material {
  uint32_t kind;
  Vec3 albedo;
  float roughness;
  float ior;
  Vec3 emission;
};

struct Sphere {
  Vec3 center;
  float radius;
  uint32_t material;
};

// A parallelogram with the plane data precomputed for the intersection test.
struct Quad {
  Vec3 corner, u, v;
  Vec3 normal;  // unit, along cross(u, v)
  Vec3 w;       // cross(u, v) / |cross(u, v)|^2: turns a plane point into (alpha, beta)
  float plane_d;
  uint32_t material;
};

// A triangle stored as v0 and two edges (what Möller–Trumbore wants).
struct Triangle {
  Vec3 v0, e1, e2;
  uint32_t material;
};

// A tagged primitive reference: the kind in the top 2 bits, the index below.
enum PrimKind : uint32_t { kPrimSphere = 0, kPrimQuad = 1, kPrimTriangle = 2 };
inline constexpr uint32_t kPrimIndexBits = 30;
inline constexpr uint32_t kPrimIndexMask = (1u << kPrimIndexBits) - 1u;
inline RENDERQ_HOST_DEVICE uint32_t MakePrimRef(uint32_t kind, uint32_t index) {
  return (kind << kPrimIndexBits) | index;
}
inline RENDERQ_HOST_DEVICE uint32_t PrimRefKind(uint32_t ref) { return ref >> kPrimIndexBits; }
inline RENDERQ_HOST_DEVICE uint32_t PrimRefIndex(uint32_t ref) { return ref & kPrimIndexMask; }

// A node of the flattened BVH in depth-first order: an interior node's first
// child follows it directly, `offset` is the second child; a leaf (count > 0)
// holds prims[offset .. offset + count). 32 bytes, 16-byte aligned, so the GPU
// reads a node as two 16-byte vector loads (LoadNode in geometry.h); the
// layout is pinned by the static_asserts below.
struct alignas(16) BvhNode {
  float bmin[3];
  float bmax[3];
  uint32_t offset;
  uint16_t count;
  uint8_t axis;
  uint8_t pad;
};
static_assert(sizeof(BvhNode) == 32, "two 16-byte loads per node");
static_assert(alignof(BvhNode) == 16, "vector loads need 16-byte alignment");

// One emissive primitive in the light table (built on the host with the flat
// scene, kernels/lights.h). Lights are chosen in proportion to their power:
// light i is taken when a uniform u falls below cdf and not below the cdf of
// light i - 1; the last cdf is exactly 1. `pick` and `area` repeat what
// LightPickProbability and the primitive's geometry give, so that a light
// sample need not recompute them.
struct Light {
  uint32_t prim;  // tagged primitive reference
  float cdf;
  float pick;  // probability of choosing this light
  float area;  // one side's area (spheres: the whole surface)
};

// Which estimator TracePixelSample runs. Not part of the scene format: the
// service always renders with next-event estimation; the BSDF-sampling
// random walk (the renderer before light sampling) is kept as the slow but
// simple unbiased reference for tests and benchmarks.
enum EstimatorKind : uint32_t {
  kEstimatorNextEventMis = 0,  // light sampling + BSDF sampling, power heuristic
  kEstimatorBsdf = 1,          // BSDF sampling only: lights are found by chance
};

struct Camera {
  Vec3 origin;
  Vec3 upper_left;  // of the image plane at the focus distance
  Vec3 horizontal;  // across the image, left to right
  Vec3 vertical;    // down the image, top to bottom
  Vec3 lens_u, lens_v;
  float lens_radius;
};

struct SceneView {
  const Material* materials;
  const Sphere* spheres;
  const Quad* quads;
  const Triangle* triangles;
  const uint32_t* prims;  // primitive refs in BVH leaf order
  const BvhNode* nodes;
  uint32_t node_count;  // 0: empty scene
  const Light* lights;
  uint32_t light_count;   // 0: no emissive primitive with power
  float inv_light_power;  // 1 / the sum of LightPower over the table
  uint32_t estimator;     // EstimatorKind
  Camera camera;
  Vec3 sky_horizon;
  Vec3 sky_zenith;
  int width;
  int height;
  int max_depth;
  uint32_t seed;
};

}  // namespace renderq::kernels
