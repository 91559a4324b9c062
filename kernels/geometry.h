// Ray–primitive intersection tests, shared by both backends and the BVH.
//
// Each test returns the ray parameter t of the nearest hit in (t_min, t_max)
// or a negative value for a miss; surface data is computed afterwards for the
// closest hit only (SurfaceAt), which keeps the inner traversal loop short.
#pragma once

#include "kernels/host_device.h"
#include "kernels/scene_data.h"

namespace renderq::kernels {

inline constexpr float kMiss = -1.0f;

// Both roots are tried so a ray starting inside the sphere hits its far side.
RENDERQ_INLINE RENDERQ_HOST_DEVICE float IntersectSphere(const Sphere& s, const Ray& r, float t_min,
                                                         float t_max) {
  const Vec3 oc = r.origin - s.center;
  const float a = Dot(r.dir, r.dir);
  const float half_b = Dot(oc, r.dir);
  // c through the difference of squares keeps precision for large origins.
  const float c = Dot(oc, oc) - s.radius * s.radius;
  const float disc = half_b * half_b - a * c;
  if (disc < 0.0f) return kMiss;
  const float sq = sqrtf(disc);
  float t = (-half_b - sq) / a;
  if (t <= t_min || t >= t_max) {
    t = (-half_b + sq) / a;
    if (t <= t_min || t >= t_max) return kMiss;
  }
  return t;
}

// Plane hit, then the hit point's (alpha, beta) in the quad's own basis; the
// edges count as inside.
RENDERQ_INLINE RENDERQ_HOST_DEVICE float IntersectQuad(const Quad& q, const Ray& r, float t_min,
                                                       float t_max) {
  const float denom = Dot(q.normal, r.dir);
  if (fabsf(denom) < 1e-12f) return kMiss;  // parallel to the plane
  const float t = (q.plane_d - Dot(q.normal, r.origin)) / denom;
  if (!(t > t_min && t < t_max)) return kMiss;
  const Vec3 p = At(r, t) - q.corner;
  const float alpha = Dot(q.w, Cross(p, q.v));
  const float beta = Dot(q.w, Cross(q.u, p));
  if (alpha < 0.0f || alpha > 1.0f || beta < 0.0f || beta > 1.0f) return kMiss;
  return t;
}

// Möller–Trumbore, two-sided. Only an exactly zero determinant counts as
// parallel (a fixed epsilon would drop tiny triangles of fine meshes); the
// barycentric bounds are inclusive so rays through a shared edge hit one of the
// two triangles instead of slipping between them.
RENDERQ_INLINE RENDERQ_HOST_DEVICE float IntersectTriangle(const Triangle& tri, const Ray& r,
                                                           float t_min, float t_max) {
  const Vec3 pvec = Cross(r.dir, tri.e2);
  const float det = Dot(tri.e1, pvec);
  if (det == 0.0f) return kMiss;
  const float inv_det = 1.0f / det;
  const Vec3 tvec = r.origin - tri.v0;
  const float u = Dot(tvec, pvec) * inv_det;
  if (u < 0.0f || u > 1.0f) return kMiss;
  const Vec3 qvec = Cross(tvec, tri.e1);
  const float v = Dot(r.dir, qvec) * inv_det;
  if (v < 0.0f || u + v > 1.0f) return kMiss;
  const float t = Dot(tri.e2, qvec) * inv_det;
  if (!(t > t_min && t < t_max)) return kMiss;
  return t;
}

RENDERQ_INLINE RENDERQ_HOST_DEVICE float IntersectPrim(const SceneView& s, uint32_t ref,
                                                       const Ray& r, float t_min, float t_max) {
  const uint32_t i = PrimRefIndex(ref);
  switch (PrimRefKind(ref)) {
    case kPrimSphere: return IntersectSphere(s.spheres[i], r, t_min, t_max);
    case kPrimQuad: return IntersectQuad(s.quads[i], r, t_min, t_max);
    default: return IntersectTriangle(s.triangles[i], r, t_min, t_max);
  }
}

struct SurfaceHit {
  float t;
  Vec3 point;
  Vec3 normal;      // unit, facing against the ray
  bool front_face;  // the ray arrived from the side the geometric normal points to
  uint32_t material;
  uint32_t prim;  // the tagged reference of the primitive hit (light pdfs need it)
};

inline RENDERQ_HOST_DEVICE SurfaceHit SurfaceAt(const SceneView& s, uint32_t ref, const Ray& r,
                                                float t) {
  SurfaceHit h;
  h.t = t;
  h.point = At(r, t);
  h.prim = ref;
  const uint32_t i = PrimRefIndex(ref);
  Vec3 n;
  switch (PrimRefKind(ref)) {
    case kPrimSphere:
      n = (h.point - s.spheres[i].center) / s.spheres[i].radius;
      h.material = s.spheres[i].material;
      break;
    case kPrimQuad:
      n = s.quads[i].normal;
      h.material = s.quads[i].material;
      break;
    default:
      n = Normalize(Cross(s.triangles[i].e1, s.triangles[i].e2));
      h.material = s.triangles[i].material;
      break;
  }
  h.front_face = Dot(r.dir, n) < 0.0f;
  h.normal = h.front_face ? n : -n;
  return h;
}

// A node as two 16-byte loads through the read-only cache on the GPU (the
// layout is pinned in scene_data.h); on the CPU a reference to it, so the
// traversal reads only the fields it needs. Callers bind the result to a
// const reference, which keeps the GPU's copy alive.
#if defined(__CUDA_ARCH__)
inline __device__ BvhNode LoadNode(const BvhNode* nodes, uint32_t i) {
  const float4* p = reinterpret_cast<const float4*>(nodes + i);
  const float4 a = __ldg(p);
  const float4 b = __ldg(p + 1);
  BvhNode n;
  n.bmin[0] = a.x;
  n.bmin[1] = a.y;
  n.bmin[2] = a.z;
  n.bmax[0] = a.w;
  n.bmax[1] = b.x;
  n.bmax[2] = b.y;
  n.offset = __float_as_uint(b.z);
  const uint32_t packed = __float_as_uint(b.w);  // count | axis << 16 | pad << 24
  n.count = static_cast<uint16_t>(packed & 0xffffu);
  n.axis = static_cast<uint8_t>((packed >> 16) & 0xffu);
  n.pad = static_cast<uint8_t>(packed >> 24);
  return n;
}
#else
inline const BvhNode& LoadNode(const BvhNode* nodes, uint32_t i) { return nodes[i]; }
#endif

// Moves a new ray's origin off the surface on the side it leaves through, by
// an amount that grows with the coordinates' magnitude (float spacing).
inline RENDERQ_HOST_DEVICE Vec3 OffsetOrigin(Vec3 p, Vec3 n, Vec3 dir) {
  const float scale = MaxF(1.0f, MaxF(fabsf(p.x), MaxF(fabsf(p.y), fabsf(p.z))));
  const float eps = 1e-4f * scale;
  return Dot(dir, n) > 0.0f ? p + n * eps : p - n * eps;
}

// Entry distance of a ray into a node's box (slab test), or a negative value
// for a miss. Written as (b - origin) * inv_dir so a ray parallel to a slab
// gets +-inf there, never inf - inf.
RENDERQ_INLINE RENDERQ_HOST_DEVICE float BoxEntry(const BvhNode& n, const Vec3& origin,
                                                  const Vec3& inv_dir, float t_min, float t_max) {
  const float x0 = (n.bmin[0] - origin.x) * inv_dir.x, x1 = (n.bmax[0] - origin.x) * inv_dir.x;
  const float y0 = (n.bmin[1] - origin.y) * inv_dir.y, y1 = (n.bmax[1] - origin.y) * inv_dir.y;
  const float z0 = (n.bmin[2] - origin.z) * inv_dir.z, z1 = (n.bmax[2] - origin.z) * inv_dir.z;
  const float enter = MaxF(MaxF(MinF(x0, x1), MinF(y0, y1)), MaxF(MinF(z0, z1), t_min));
  const float leave = MinF(MinF(MaxF(x0, x1), MaxF(y0, y1)), MinF(MaxF(z0, z1), t_max));
  return enter <= leave ? enter : kMiss;
}

// Closest hit through the flattened BVH: iterative with a fixed stack; both
// children's boxes are tested, the nearer one is visited first and the other
// is kept with its entry distance so it is skipped once a closer hit is known.
// Returns false when nothing is hit in (t_min, t_max).
//
// The stack holds at most one pending subtree per level above the current
// node, so a tree no deeper than kBvhStackSize can never overflow it; the
// builder guarantees that depth (kMaxBvhDepth in bvh.h, asserted there).
inline constexpr int kBvhStackSize = 64;

inline RENDERQ_HOST_DEVICE bool IntersectScene(const SceneView& s, const Ray& r, float t_min,
                                               float t_max, SurfaceHit* hit) {
  if (s.node_count == 0) return false;
  const Vec3 inv_dir = {1.0f / r.dir.x, 1.0f / r.dir.y, 1.0f / r.dir.z};
  if (BoxEntry(s.nodes[0], r.origin, inv_dir, t_min, t_max) < 0.0f) return false;
  struct Pending {
    uint32_t node;
    float t_entry;
  };
  Pending stack[kBvhStackSize];
  int sp = 0;
  uint32_t node_index = 0;
  uint32_t best_ref = 0;
  bool found = false;
  for (;;) {
    const BvhNode& node = LoadNode(s.nodes, node_index);
    if (node.count > 0) {
      for (uint32_t k = 0; k < node.count; ++k) {
        const uint32_t ref = s.prims[node.offset + k];
        const float t = IntersectPrim(s, ref, r, t_min, t_max);
        if (t >= 0.0f) {
          t_max = t;
          best_ref = ref;
          found = true;
        }
      }
    } else {
      const uint32_t a = node_index + 1, b = node.offset;
      const float ta = BoxEntry(LoadNode(s.nodes, a), r.origin, inv_dir, t_min, t_max);
      const float tb = BoxEntry(LoadNode(s.nodes, b), r.origin, inv_dir, t_min, t_max);
      if (ta >= 0.0f && tb >= 0.0f) {
        const bool a_first = ta <= tb;
        // The depth bound makes a full stack impossible; the check keeps a
        // broken invariant from writing past the array.
        if (sp < kBvhStackSize) stack[sp++] = a_first ? Pending{b, tb} : Pending{a, ta};
        node_index = a_first ? a : b;
        continue;
      }
      if (ta >= 0.0f || tb >= 0.0f) {
        node_index = ta >= 0.0f ? a : b;
        continue;
      }
    }
    // Next pending subtree that may still hold a closer hit.
    while (sp > 0 && stack[sp - 1].t_entry > t_max) --sp;
    if (sp == 0) break;
    node_index = stack[--sp].node;
  }
  if (found) *hit = SurfaceAt(s, best_ref, r, t_max);
  return found;
}

// Shadow rays: true when any primitive other than `skip` (the light being
// sampled, tagged reference) is hit in (t_min, t_max). Stops at the first
// hit, in no particular order, so it needs no entry distances.
inline RENDERQ_HOST_DEVICE bool Occluded(const SceneView& s, const Ray& r, float t_min, float t_max,
                                         uint32_t skip) {
  if (s.node_count == 0) return false;
  const Vec3 inv_dir = {1.0f / r.dir.x, 1.0f / r.dir.y, 1.0f / r.dir.z};
  if (BoxEntry(LoadNode(s.nodes, 0), r.origin, inv_dir, t_min, t_max) < 0.0f) return false;
  uint32_t stack[kBvhStackSize];
  int sp = 0;
  uint32_t node_index = 0;
  for (;;) {
    const BvhNode& node = LoadNode(s.nodes, node_index);
    if (node.count > 0) {
      for (uint32_t k = 0; k < node.count; ++k) {
        const uint32_t ref = s.prims[node.offset + k];
        if (ref != skip && IntersectPrim(s, ref, r, t_min, t_max) >= 0.0f) return true;
      }
    } else {
      const uint32_t a = node_index + 1, b = node.offset;
      const bool hit_a = BoxEntry(LoadNode(s.nodes, a), r.origin, inv_dir, t_min, t_max) >= 0.0f;
      const bool hit_b = BoxEntry(LoadNode(s.nodes, b), r.origin, inv_dir, t_min, t_max) >= 0.0f;
      if (hit_a && hit_b) {
        if (sp < kBvhStackSize) stack[sp++] = b;  // see IntersectScene on the bound
        node_index = a;
        continue;
      }
      if (hit_a || hit_b) {
        node_index = hit_a ? a : b;
        continue;
      }
    }
    if (sp == 0) return false;
    node_index = stack[--sp];
  }
}

}  // namespace renderq::kernels
