// Host-side BVH construction: binned SAH over primitive boxes, emitted directly
// as the flattened depth-first node array that both backends traverse
// (kernels/geometry.h, IntersectScene).
//
// Build cost is O(n log n); a million triangles build in about a second on one
// core. Depth is bounded (see kMaxBvhDepth) so traversal's fixed stack suffices.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/scene_data.h"

namespace renderq::kernels {

struct Aabb {
  float bmin[3] = {kInfinity, kInfinity, kInfinity};
  float bmax[3] = {-kInfinity, -kInfinity, -kInfinity};

  void Grow(Vec3 p);
  void Grow(const Aabb& b);
  float SurfaceArea() const;  // 0 for an empty box
};

struct Bvh {
  std::vector<BvhNode> nodes;   // empty when there are no primitives
  std::vector<uint32_t> order;  // leaf order: order[k] is an index into the input boxes
};

// The most levels (the root is level 1) a built tree has, whatever the input:
// the builder switches from SAH to median splits early enough to stay within
// it, and it is no more than the traversal stack (kBvhStackSize), which holds
// at most one pending subtree per level.
inline constexpr int kMaxBvhDepth = 56;

Bvh BuildBvh(std::span<const Aabb> prim_bounds);

}  // namespace renderq::kernels
